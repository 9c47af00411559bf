package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Webhook delivers lines to an HTTP endpoint in batches: a POST whose body is a JSON
// array of records (the lines, verbatim, so the receiver can verify the chain), with
// Content-Type application/json. A 2xx answer delivers the batch; 408, 429, 5xx and
// transport errors are retried with backoff; any other answer rejects it (counted as
// dropped).
type Webhook struct {
	url     string
	headers http.Header
	client  *http.Client
	batch   int
}

// WebhookOptions tunes NewWebhook; the zero value is usable.
type WebhookOptions struct {
	// Headers are sent with every request (an Authorization for the receiver, say).
	Headers http.Header
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration
	// Batch is the most records per request. Default 100.
	Batch int
	// Transport, when set, carries the requests (a private CA's TLS config, tests).
	Transport http.RoundTripper
}

// NewWebhook returns a webhook sink for an http or https URL.
func NewWebhook(target string, o WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook %q: want an http:// or https:// URL", target)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	return &Webhook{url: target, headers: o.Headers, batch: o.Batch,
		client: &http.Client{Timeout: o.Timeout, Transport: o.Transport}}, nil
}

// Name implements Remote.
func (w *Webhook) Name() string { return "webhook" }

// MaxBatch implements Remote.
func (w *Webhook) MaxBatch() int { return w.batch }

// Deliver implements Remote.
func (w *Webhook) Deliver(ctx context.Context, lines [][]byte) error {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, l := range lines {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(trimNewline(l))
	}
	body.WriteString("]\n")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, &body)
	if err != nil {
		return &Rejected{Err: err}
	}
	for k, v := range w.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return &Rejected{Err: errors.New("webhook answered " + resp.Status)}
	}
}

// Close implements Remote.
func (w *Webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

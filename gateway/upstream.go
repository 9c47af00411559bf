package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portcullis/portcullis/errcode"
)

// UpstreamOptions tunes NewUpstream. The zero value is usable.
type UpstreamOptions struct {
	// Transport carries requests to the upstream. Default: a transport with the timeouts
	// below, up to 64 idle keep-alive connections to the upstream, no proxy from the
	// environment and no transparent decompression.
	Transport http.RoundTripper
	// TLSClientConfig is used by the default transport for an https upstream (a private
	// CA, say). Ignored when Transport is set.
	TLSClientConfig *tls.Config
	// Logger receives upstream failures. Default: discard.
	Logger *slog.Logger
	// DialTimeout bounds connecting to the upstream. Default 10s.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the upstream's response headers once the
	// request body is sent; after it the client gets 504. Default 2m. There is no timeout
	// on whole requests: blobs take as long as they take.
	ResponseHeaderTimeout time.Duration
	// FlushInterval is httputil.ReverseProxy's: 0 (default) copies the body through the
	// server's buffer as it arrives. Never -1 for blobs: that flushes every write.
	FlushInterval time.Duration
}

// upstream forwards judged requests to a registry at a URL.
type upstream struct {
	target *url.URL
	proxy  *httputil.ReverseProxy
	log    *slog.Logger
}

var _ http.Handler = (*upstream)(nil)

// NewUpstream returns a Backend that forwards to the registry at u (http or https, with an
// optional path prefix) through httputil.ReverseProxy. The outbound path is the path the
// gateway judged (prefixed with u's path); the client's credentials and forwarding
// headers are dropped and X-Forwarded-For/-Proto/-Host set from what the gateway
// established about the client; the
// upstream's own address never reaches the client (Location is rewritten). Failures are
// OCI envelopes: 502 UNAVAILABLE when the upstream cannot be reached, 504 when it does not
// answer in time; a client that went away is logged as 499.
func NewUpstream(u *url.URL, opts UpstreamOptions) (http.Handler, error) {
	if err := checkUpstreamURL(u); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	target := *u
	target.Path = strings.TrimSuffix(target.Path, "/")
	target.RawPath = ""
	up := &upstream{target: &target, log: opts.Logger}
	rt := opts.Transport
	if rt == nil {
		rt = newTransport(opts)
	}
	up.proxy = &httputil.ReverseProxy{
		Rewrite:        up.rewrite,
		Transport:      rt,
		BufferPool:     copyBuffers{},
		FlushInterval:  opts.FlushInterval,
		ModifyResponse: up.modifyResponse,
		ErrorHandler:   up.errorHandler,
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return up, nil
}

func checkUpstreamURL(u *url.URL) error {
	var errs []error
	if u == nil {
		return errors.New("gateway: upstream URL is required")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		errs = append(errs, fmt.Errorf("gateway: upstream %q: scheme must be http or https", u.Redacted()))
	}
	if u.Host == "" {
		errs = append(errs, fmt.Errorf("gateway: upstream %q: host is missing", u.Redacted()))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		errs = append(errs, fmt.Errorf("gateway: upstream %q: give only scheme://host[:port][/path]", u.Redacted()))
	}
	return errors.Join(errs...)
}

func newTransport(o UpstreamOptions) *http.Transport {
	dial := o.DialTimeout
	if dial <= 0 {
		dial = 10 * time.Second
	}
	rht := o.ResponseHeaderTimeout
	if rht <= 0 {
		rht = 2 * time.Minute
	}
	d := &net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       o.TLSClientConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: rht,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // a proxy passes bodies as they are
		// A client's TLS body arrives one 16 KiB record per read; gathering writes to the
		// upstream into 128 KiB means eight times fewer syscalls for us and for the
		// upstream's reads (dear on sandboxed kernels), and likewise for responses.
		WriteBufferSize: 128 << 10,
		ReadBufferSize:  128 << 10,
	}
}

// copyBuffers hands httputil.ReverseProxy 256 KiB buffers for response bodies (its default
// is 32 KiB): fewer reads from the upstream per blob, the same bounded memory per stream.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (copyBuffers) Get() []byte  { return *copyBufferPool.Get().(*[]byte) }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put(&b) }

func (up *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up.proxy.ServeHTTP(w, r)
}

// rewrite builds the outbound request: the upstream's scheme and host (Host header
// included), the judged path under the upstream's prefix, the query as it stands (the
// gateway may have stripped mount and from), and headers from prepareOutbound.
func (up *upstream) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(up.target) // scheme, host, Host header; query kept (the target has none)
	// SetURL joins paths its own way; the outbound path is exactly the judged one.
	pr.Out.URL.Path = up.target.Path + pr.In.URL.Path
	pr.Out.URL.RawPath = ""
	prepareOutbound(pr.Out.Header, clientOf(pr.In))
}

// modifyResponse drops headers the gateway sets itself (so they are not doubled) and
// rewrites Location.
func (up *upstream) modifyResponse(resp *http.Response) error {
	resp.Header.Del(headerAPIVersion)
	resp.Header.Del(headerRequestID)
	resp.Header.Del(headerNoSniff)
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", clientLocation(loc, up.target, clientOf(resp.Request)))
	}
	return nil
}

// errorHandler answers a failed round trip as caddy's statusError does: a timeout is 504,
// anything else (refused, reset, DNS) 502, the cause in the log only; a client that went
// away gets nothing (answerError).
func (up *upstream) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	e := errcode.New(errcode.Unavailable, "upstream registry unavailable").WithStatus(http.StatusBadGateway)
	if isTimeout(err) {
		e = errcode.New(errcode.Unavailable, "upstream registry timed out").WithStatus(http.StatusGatewayTimeout)
	}
	answerError(w, r, up.log, "upstream failed", e, err)
}

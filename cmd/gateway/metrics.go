package main

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/gateway"
)

// metrics owns the gateway's Prometheus registry (not the global one). It reads each
// request's gateway.Record as an Observer, so metrics, the access log and the audit trail
// count the same things.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	inflight prometheus.Gauge
	// loginFailed and loginThrottled count the login throttle (auth.LoginMetrics).
	loginFailed    prometheus.Counter
	loginThrottled *prometheus.CounterVec
}

var (
	_ gateway.Observer  = (*metrics)(nil)
	_ auth.LoginMetrics = (*metrics)(nil)
)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_requests_total",
			Help: "Requests served, by endpoint kind (manifest, blob, upload, ...), method, status code and outcome (forwarded, served, refused, unauthenticated, denied, failed).",
		}, []string{"kind", "method", "code", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_request_duration_seconds",
			Help:    "Time to serve a request, by endpoint kind.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"kind"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_bytes_total",
			Help: "Body bytes received from clients (in) and sent to them (out).",
		}, []string{"direction"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portcullis_requests_in_flight", Help: "Requests being served.",
		}),
		loginFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_login_failures_total",
			Help: "Password verifications that failed (wrong password or unknown user).",
		}),
		loginThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_login_throttled_total",
			Help: "Logins refused with 429 without verifying the password, by the limit that refused: ip, account, or busy (every verification slot taken).",
		}, []string{"reason"}),
	}
	m.bytesIn, m.bytesOut = m.bytes.WithLabelValues("in"), m.bytes.WithLabelValues("out")
	for _, reason := range []string{"ip", "account", "busy"} {
		m.loginThrottled.WithLabelValues(reason) // exported at 0 from the start
	}
	m.reg.MustRegister(m.requests, m.duration, m.bytes, m.inflight, m.loginFailed, m.loginThrottled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe implements gateway.Observer: it is called once per request with its Record.
func (m *metrics) Observe(_ context.Context, rec gateway.Record) {
	kind := string(rec.Route.Kind)
	if kind == "" {
		kind = "unknown"
	}
	m.requests.WithLabelValues(kind, methodLabel(rec.Method), strconv.Itoa(rec.Status), string(rec.Outcome)).Inc()
	m.duration.WithLabelValues(kind).Observe(rec.Duration.Seconds())
	m.bytesIn.Add(float64(rec.BytesIn))
	m.bytesOut.Add(float64(rec.BytesOut))
}

// LoginFailed implements auth.LoginMetrics.
func (m *metrics) LoginFailed() { m.loginFailed.Inc() }

// LoginThrottled implements auth.LoginMetrics.
func (m *metrics) LoginThrottled(reason string) { m.loginThrottled.WithLabelValues(reason).Inc() }

// methodLabel keeps the method label to the registry API's methods: net/http accepts any
// token as a method, and a label per made-up method would grow the registry without bound
// for anyone who can reach the port.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// inFlight counts requests being served.
func (m *metrics) inFlight(next http.Handler) http.Handler {
	return promhttp.InstrumentHandlerInFlight(m.inflight, next)
}

// certExpiry exports the serving certificate's expiry as a Unix time.
func (m *metrics) certExpiry(notAfter func() time.Time) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portcullis_tls_certificate_not_after_seconds",
		Help: "Expiry of the certificate the gateway serves, as a Unix time.",
	}, func() float64 { return float64(notAfter().Unix()) }))
}

// handler serves the registry in the Prometheus text format (at /metrics on the
// operations listener).
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

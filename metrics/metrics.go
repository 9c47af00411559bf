package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/notify"
	"github.com/portcullis/portcullis/server"
)

// Registry is the gateway's Prometheus registry (not the global one) and the series on it.
// It reads each request's gateway.Record as an Observer, so metrics, the access log and
// the audit trail count the same things.
type Registry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	inflight prometheus.Gauge
	limits   *prometheus.CounterVec
	// loginFailed counts credentials that did not verify, by method: basic from the
	// authenticator (auth.LoginMetrics: every failed password verification), the others
	// from the Records. loginThrottled counts the login throttle's refusals.
	loginFailed    *prometheus.CounterVec
	loginThrottled *prometheus.CounterVec
}

var (
	_ gateway.Observer     = (*Registry)(nil)
	_ auth.LoginMetrics    = (*Registry)(nil)
	_ server.LimitObserver = (*Registry)(nil)
)

// New returns a registry with the request, login and limit series, and Go and process
// collectors.
func New() *Registry {
	m := &Registry{
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
		loginFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_login_failures_total",
			Help: "Credentials that did not verify, by method: basic (wrong password or unknown user), bearer (a token that did not verify), other.",
		}, []string{"method"}),
		loginThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_login_throttled_total",
			Help: "Logins refused with 429 without verifying the password, by the limit that refused: ip, account, or busy (every verification slot taken).",
		}, []string{"reason"}),
	}
	m.limits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_limit_hits_total",
		Help: "Times a limit acted: conns_per_ip (a connection refused), body_idle (a request ended by the body idle timeout), uploads (an upload answered 429).",
	}, []string{"limit"})
	for _, l := range []string{server.LimitConnsPerIP, server.LimitBodyIdle, limitUploads} {
		m.limits.WithLabelValues(l) // present from the start, at 0
	}
	m.bytesIn, m.bytesOut = m.bytes.WithLabelValues("in"), m.bytes.WithLabelValues("out")
	for _, reason := range []string{"ip", "account", "busy"} {
		m.loginThrottled.WithLabelValues(reason) // exported at 0 from the start
	}
	for _, method := range []string{"basic", "bearer"} {
		m.loginFailed.WithLabelValues(method)
	}
	m.reg.MustRegister(m.requests, m.duration, m.bytes, m.inflight, m.limits, m.loginFailed, m.loginThrottled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe implements gateway.Observer: it is called once per request with its Record.
func (m *Registry) Observe(_ context.Context, rec gateway.Record) {
	kind := string(rec.Route.Kind)
	if kind == "" {
		kind = "unknown"
	}
	m.requests.WithLabelValues(kind, methodLabel(rec.Method), strconv.Itoa(rec.Status), string(rec.Outcome)).Inc()
	m.duration.WithLabelValues(kind).Observe(rec.Duration.Seconds())
	m.bytesIn.Add(float64(rec.BytesIn))
	m.bytesOut.Add(float64(rec.BytesOut))
	// Failed Basic logins are counted by the authenticator (LoginFailed), which also sees
	// the token endpoint's; the others here.
	if rec.Outcome == gateway.OutcomeUnauthenticated && rec.Account != "" && rec.Credentials != "basic" {
		method := rec.Credentials
		if method != "bearer" {
			method = "other"
		}
		m.loginFailed.WithLabelValues(method).Inc()
	}
	if rec.Outcome == gateway.OutcomeLimited {
		m.limits.WithLabelValues(limitUploads).Inc()
	}
}

// limitUploads labels the uploads refused by gateway.UploadLimit.
const limitUploads = "uploads"

// LimitReached implements server.LimitObserver.
func (m *Registry) LimitReached(limit string) { m.limits.WithLabelValues(limit).Inc() }

// UploadsInFlight exports the uploads the upload limit counts.
func (m *Registry) UploadsInFlight(l *gateway.UploadLimit) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portcullis_uploads_in_flight",
		Help: "Uploads (blob and manifest writes) in flight, as max_uploads counts them.",
	}, func() float64 { return float64(l.InFlight()) }))
}

// LoginFailed implements auth.LoginMetrics: a password that did not verify.
func (m *Registry) LoginFailed() { m.loginFailed.WithLabelValues("basic").Inc() }

// LoginThrottled implements auth.LoginMetrics.
func (m *Registry) LoginThrottled(reason string) { m.loginThrottled.WithLabelValues(reason).Inc() }

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

// InFlight counts requests being served.
func (m *Registry) InFlight(next http.Handler) http.Handler {
	return promhttp.InstrumentHandlerInFlight(m.inflight, next)
}

// CertExpiry exports the serving certificate's expiry as a Unix time.
func (m *Registry) CertExpiry(notAfter func() time.Time) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portcullis_tls_certificate_not_after_seconds",
		Help: "Expiry of the certificate the gateway serves, as a Unix time.",
	}, func() float64 { return float64(notAfter().Unix()) }))
}

// AuditSinks exports the audit trail's counters per sink (file, syslog, webhook), read at
// each scrape.
func (m *Registry) AuditSinks(stats func() []audit.SinkStats) {
	registerSinks(m, "portcullis_audit", "sink", "Audit records", stats, func(s audit.SinkStats) sinkCounts {
		return sinkCounts{s.Sink, s.Written, s.Dropped, s.Failures, s.Queued}
	})
}

// NotificationEndpoints exports each notification endpoint's counters.
func (m *Registry) NotificationEndpoints(stats func() []notify.Stats) {
	registerSinks(m, "portcullis_notifications", "endpoint", "Notification events", stats, func(s notify.Stats) sinkCounts {
		return sinkCounts{s.Endpoint, s.Sent, s.Dropped, s.Failures, s.Queued}
	})
}

// registerSinks registers a collector that reads stats at each scrape and exports each
// entry's counters, as counts maps it, under prefix with label naming the sink.
func registerSinks[S any](m *Registry, prefix, label, what string, stats func() []S, counts func(S) sinkCounts) {
	m.reg.MustRegister(&statsCollector{
		label: label,
		descs: sinkDescs(prefix, label, what),
		read: func() []sinkCounts {
			var out []sinkCounts
			for _, s := range stats() {
				out = append(out, counts(s))
			}
			return out
		},
	})
}

// sinkCounts is one sink's counters, whatever kind of sink.
type sinkCounts struct {
	name                       string
	written, dropped, failures uint64
	queued                     int
}

// sinkDescs describes written, dropped, failed and queued for a kind of sink.
func sinkDescs(prefix, label, what string) [4]*prometheus.Desc {
	return [4]*prometheus.Desc{
		prometheus.NewDesc(prefix+"_written_total", what+" delivered (written, for the file), by "+label+".", []string{label}, nil),
		prometheus.NewDesc(prefix+"_dropped_total", what+" lost to a full queue or a rejection, by "+label+".", []string{label}, nil),
		prometheus.NewDesc(prefix+"_failures_total", "Failed attempts to deliver "+strings.ToLower(what)+" (each retried), by "+label+".", []string{label}, nil),
		prometheus.NewDesc(prefix+"_queued", what+" waiting to be delivered, by "+label+".", []string{label}, nil),
	}
}

// statsCollector turns counters kept elsewhere into metrics at scrape time.
type statsCollector struct {
	label string
	descs [4]*prometheus.Desc
	read  func() []sinkCounts
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.read() {
		ch <- prometheus.MustNewConstMetric(c.descs[0], prometheus.CounterValue, float64(s.written), s.name)
		ch <- prometheus.MustNewConstMetric(c.descs[1], prometheus.CounterValue, float64(s.dropped), s.name)
		ch <- prometheus.MustNewConstMetric(c.descs[2], prometheus.CounterValue, float64(s.failures), s.name)
		ch <- prometheus.MustNewConstMetric(c.descs[3], prometheus.GaugeValue, float64(s.queued), s.name)
	}
}

// Handler serves the registry in the Prometheus text format (at /metrics on the
// operations listener).
func (m *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

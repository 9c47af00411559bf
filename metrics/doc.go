// Package metrics owns the gateway's Prometheus registry: the series the request pipeline
// feeds through its Records (requests by kind, method, code and outcome; durations; body
// bytes; failed logins by method; uploads refused by a cap), the login throttle's and the
// server's limits' counters, the certificate's expiry, the audit sinks' and notification
// endpoints' delivery counters (read at each scrape), and the Go and process collectors.
// It serves them in the Prometheus text format for the operations listener.
//
// It leaves to others what is counted and when: the pipeline (gateway), the throttle
// (auth), the listeners (server), the audit trail (audit) and notifications (notify) only
// call it or are read by it. Nothing is registered globally.
package metrics

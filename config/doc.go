// Package config owns the gateway's configuration: the typed Config with its documented
// defaults, how it is read (defaults, then the YAML file, then GATEWAY_* environment
// variables, then command-line flags, each overriding the one before), and Validate, which
// reports every problem at once in words that say how to fix it. It builds nothing: the
// command wires TLS, authentication, policy and the backend from a validated Config.
package config

// Package migrate converts an existing registry front end's configuration into a
// Portcullis configuration: today nginx (the nginx + auth_basic + registry:2 stack of the
// registry docs' recipe and seed 002), read with package nginxconf.
//
// It owns the meaning of each nginx directive for a registry: what becomes a configuration
// key, what Portcullis does on its own (not needed any more), what has no equivalent, and
// which behaviour changes for users (the summary). It writes YAML text for package config
// to read and never builds a gateway; cmd/gateway's migrate subcommand writes the files.
package migrate

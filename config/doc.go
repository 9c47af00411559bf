// Package config owns the gateway's configuration: the typed Config with its documented
// defaults, how it is read (defaults, then the YAML file, then GATEWAY_* environment
// variables, then command-line flags, each overriding the one before), and Validate. One
// table (fields.go) ties each setting to its flag, YAML key and variable.
//
// Nothing wrong is ignored and everything wrong is reported at once: Loader.Load returns
// every problem (unknown keys and variables with the nearest known name, values of the
// wrong type, bad durations, bad values) as *Problem values saying where each was set,
// file:line, variable or flag. The YAML is walked as a yaml.Node for that, rather than
// decoded into the struct, which stops at the first type error. The environment is handed
// in (a KEY=VALUE list, as os.Environ), so tests never touch the process's.
//
// It builds nothing: the command wires TLS, authentication, policy and the backend from a
// validated Config.
package config

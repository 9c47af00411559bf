package portcullis.authz_test

import data.portcullis.authz

alice := {"name": "alice", "groups": [], "method": "basic"}

from(ip, actions) := {
	"principal": alice,
	"request": {"method": "PUT", "path": "/v2/alice/app/manifests/v1", "client_ip": ip},
	"access": [{"type": "repository", "name": "alice/app", "actions": actions}],
}

test_push_from_allowed_network if {
	count(authz.denied) == 0 with input as from("10.20.3.4", ["push"])
	count(authz.denied) == 0 with input as from("2001:db8::1", ["push"])
}

test_push_from_elsewhere_denied if {
	{"type": "repository", "name": "alice/app", "actions": ["push", "delete"]} in authz.denied with input as from("203.0.113.9", ["push"])
	authz.reason == "pushes are not allowed from 203.0.113.9" with input as from("203.0.113.9", ["push"])
}

test_garbage_ip_denied if {
	count(authz.denied) == 1 with input as from("not-an-ip", ["push"])
}

test_pull_from_anywhere_granted if {
	{"type": "repository", "name": "alice/app", "actions": ["pull"]} in authz.granted with input as from("203.0.113.9", ["pull"])
}

package portcullis.authz_test

import data.portcullis.authz

root := {"name": "root", "groups": ["admins"], "method": "basic"}

push(name, ref) := {
	"principal": root,
	"request": {"method": "PUT", "path": concat("", ["/v2/", name, "/manifests/", ref])},
	"access": [{"type": "repository", "name": name, "actions": ["pull", "push"]}],
}

test_latest_to_prod_denied if {
	{"type": "repository", "name": "prod/api", "actions": ["push"]} in authz.denied with input as push("prod/api", "latest")
}

test_version_to_prod_allowed if {
	count(authz.denied) == 0 with input as push("prod/api", "v1.2.3")
}

test_latest_elsewhere_allowed if {
	count(authz.denied) == 0 with input as push("staging/api", "latest")
}

test_pull_latest_from_prod_allowed if {
	count(authz.denied) == 0 with input as {
		"principal": root,
		"request": {"method": "GET", "path": "/v2/prod/api/manifests/latest"},
		"access": [{"type": "repository", "name": "prod/api", "actions": ["pull"]}],
	}
}

test_name_containing_manifests if {
	{"type": "repository", "name": "prod/manifests/x", "actions": ["push"]} in authz.denied with input as push("prod/manifests/x", "latest")
}

package portcullis.authz_test

import data.portcullis.authz

dev := {"name": "dana", "groups": ["team-payments", "team-web", "staff"], "method": "basic"}

ask(name, actions) := [{"type": "repository", "name": name, "actions": actions}]

test_member_pushes_team_namespace if {
	{"type": "repository", "name": "payments/api", "actions": ["push", "delete"]} in authz.granted with input as {"principal": dev, "access": ask("payments/api", ["push"])}
}

test_second_team_too if {
	{"type": "repository", "name": "web/site", "actions": ["push", "delete"]} in authz.granted with input as {"principal": dev, "access": ask("web/site", ["push"])}
}

test_other_team_pull_only if {
	every g in authz.granted {
		g.actions == ["pull"]
	} with input as {"principal": dev, "access": ask("billing/api", ["pull", "push"])}
}

test_prefix_is_not_namespace if {
	every g in authz.granted {
		g.actions == ["pull"]
	} with input as {"principal": dev, "access": ask("paymentsx/api", ["pull", "push"])}
}

test_reason_lists_namespaces if {
	authz.reason == `team namespaces: ["payments", "web"]` with input as {"principal": dev, "access": []}
}

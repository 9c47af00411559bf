package portcullis.authz_test

import data.portcullis.authz

anon := {"name": "", "groups": [], "method": "anonymous"}

ask(name, actions) := [{"type": "repository", "name": name, "actions": actions}]

test_anonymous_pulls_listed_repo if {
	{"type": "repository", "name": "library/alpine", "actions": ["pull"]} in authz.granted with input as {"principal": anon, "access": ask("library/alpine", ["pull"])}
}

test_anonymous_pulls_public_prefix if {
	{"type": "repository", "name": "public/tools", "actions": ["pull"]} in authz.granted with input as {"principal": anon, "access": ask("public/tools", ["pull"])}
}

test_anonymous_cannot_push_public if {
	every g in authz.granted {
		not "push" in g.actions
	} with input as {"principal": anon, "access": ask("public/tools", ["pull", "push"])}
}

test_anonymous_cannot_pull_private if {
	count(authz.granted) == 0 with input as {"principal": anon, "access": ask("team/secret", ["pull"])}
}

test_user_pushes_own if {
	{"type": "repository", "name": "alice/app", "actions": ["push", "delete"]} in authz.granted with input as {
		"principal": {"name": "alice", "groups": [], "method": "basic"},
		"access": ask("alice/app", ["push"]),
	}
}

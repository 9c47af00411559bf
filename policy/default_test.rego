package portcullis.authz_test

import data.portcullis.authz

alice := {"name": "alice", "groups": ["dev"], "method": "basic"}

root := {"name": "root", "groups": ["admins"], "method": "basic"}

anon := {"name": "", "groups": [], "method": "anonymous"}

repo(name, actions) := {"type": "repository", "name": name, "actions": actions}

test_anonymous_gets_nothing if {
	count(authz.granted) == 0 with input as {"principal": anon, "access": [repo("alice/app", ["pull"])]}
}

test_user_pulls_anything if {
	{"type": "repository", "name": "bob/app", "actions": ["pull"]} in authz.granted with input as {"principal": alice, "access": [repo("bob/app", ["pull", "push"])]}
}

test_user_cannot_push_elsewhere if {
	every g in authz.granted {
		not "push" in g.actions
	} with input as {"principal": alice, "access": [repo("bob/app", ["pull", "push"])]}
}

test_user_pushes_own_namespace if {
	{"type": "repository", "name": "alice/app", "actions": ["push", "delete"]} in authz.granted with input as {"principal": alice, "access": [repo("alice/app", ["push"])]}
}

test_prefix_is_not_namespace if {
	every g in authz.granted {
		not "push" in g.actions
	} with input as {"principal": alice, "access": [repo("alice2/app", ["push"])]}
}

test_admin_everything if {
	{"type": "repository", "name": "x/y", "actions": ["*"]} in authz.granted with input as {"principal": root, "access": [repo("x/y", ["delete"])]}
}

test_reason_names_user if {
	contains(authz.reason, "alice") with input as {"principal": alice, "access": []}
}

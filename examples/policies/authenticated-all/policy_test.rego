package portcullis.authz_test

import data.portcullis.authz

bob := {"name": "bob", "groups": [], "method": "basic"}

anon := {"name": "", "groups": [], "method": "anonymous"}

ask(name, actions) := [{"type": "repository", "name": name, "actions": actions}]

test_user_pushes_anywhere if {
	{"type": "repository", "name": "alice/app", "actions": ["*"]} in authz.granted with input as {"principal": bob, "access": ask("alice/app", ["pull", "push"])}
}

test_user_deletes_anywhere if {
	{"type": "repository", "name": "prod/api", "actions": ["*"]} in authz.granted with input as {"principal": bob, "access": ask("prod/api", ["delete"])}
}

test_user_lists_catalog if {
	{"type": "registry", "name": "catalog", "actions": ["*"]} in authz.granted with input as {"principal": bob, "access": [{"type": "registry", "name": "catalog", "actions": ["*"]}]}
}

test_anonymous_gets_nothing if {
	count(authz.granted) == 0 with input as {"principal": anon, "access": ask("library/alpine", ["pull"])}
	authz.reason == "authenticated-all: anonymous access is not allowed" with input as {"principal": anon, "access": ask("library/alpine", ["pull"])}
}

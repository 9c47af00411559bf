package portcullis.authz_test

import data.portcullis.authz

alice := {"name": "alice", "groups": ["dev"], "method": "basic"}

root := {"name": "root", "groups": ["admins"], "method": "basic"}

ask(name, actions) := [{"type": "repository", "name": name, "actions": actions}]

test_user_pushes_anywhere if {
	{"type": "repository", "name": "x/y", "actions": ["*"]} in authz.granted with input as {"principal": alice, "access": ask("x/y", ["push"])}
}

test_user_delete_denied if {
	{"type": "repository", "name": "alice/y", "actions": ["delete"]} in authz.denied with input as {"principal": alice, "access": ask("alice/y", ["delete"])}
	authz.reason == "only admins may delete" with input as {"principal": alice, "access": ask("alice/y", ["delete"])}
}

test_admin_delete_allowed if {
	count(authz.denied) == 0 with input as {"principal": root, "access": ask("x/y", ["delete"])}
}

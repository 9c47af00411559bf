package portcullis.authz_test

import data.portcullis.authz

ask(name, actions) := [{"type": "repository", "name": name, "actions": actions}]

no_push_or_delete if {
	every g in authz.granted {
		not "push" in g.actions
		not "delete" in g.actions
		not "*" in g.actions
	}
}

test_ci_group_pulls if {
	{"type": "repository", "name": "team/app", "actions": ["pull"]} in authz.granted with input as {
		"principal": {"name": "builder", "groups": ["ci"], "method": "basic"},
		"access": ask("team/app", ["pull"]),
	}
}

test_ci_group_cannot_push_own_namespace if {
	no_push_or_delete with input as {
		"principal": {"name": "builder", "groups": ["ci"], "method": "basic"},
		"access": ask("builder/app", ["pull", "push", "delete"]),
	}
}

test_ci_admin_still_read_only if {
	no_push_or_delete with input as {
		"principal": {"name": "builder", "groups": ["ci", "admins"], "method": "basic"},
		"access": ask("x/app", ["push"]),
	}
}

test_ci_user_from_data if {
	no_push_or_delete with input as {
		"principal": {"name": "jenkins", "groups": [], "method": "basic"},
		"access": ask("jenkins/app", ["push"]),
	}
}

test_other_user_pushes_own if {
	{"type": "repository", "name": "alice/app", "actions": ["push", "delete"]} in authz.granted with input as {
		"principal": {"name": "alice", "groups": [], "method": "basic"},
		"access": ask("alice/app", ["push"]),
	}
}

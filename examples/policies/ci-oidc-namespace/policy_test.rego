package portcullis.authz_test

import data.portcullis.authz

ask(name, actions) := [{"type": "repository", "name": name, "actions": actions}]

job := {
	"name": "repo:acme/app:ref:refs/heads/main", "groups": [], "method": "bearer",
	"claims": {"repository": "acme/app", "sub": "repo:acme/app:ref:refs/heads/main"},
}

test_job_pushes_its_namespace if {
	{"type": "repository", "name": "acme/app/web", "actions": ["pull", "push"]} in authz.granted with input as {
		"principal": job, "access": ask("acme/app/web", ["pull", "push"]),
	}
}

test_job_pushes_the_repository_itself if {
	{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]} in authz.granted with input as {
		"principal": job, "access": ask("acme/app", ["pull", "push"]),
	}
}

test_job_refused_elsewhere if {
	count(authz.granted) == 0 with input as {"principal": job, "access": ask("acme/other", ["pull", "push"])}
}

test_prefix_is_not_a_namespace if {
	count(authz.granted) == 0 with input as {"principal": job, "access": ask("acme/application", ["push"])}
}

test_job_cannot_delete if {
	every g in authz.granted {
		not "delete" in g.actions
	} with input as {"principal": job, "access": ask("acme/app", ["delete"])}
}

test_password_user_cannot_claim_a_repository if {
	every g in authz.granted {
		not "push" in g.actions
	} with input as {
		"principal": {"name": "mallory", "groups": [], "method": "basic", "claims": {"repository": "acme/app"}},
		"access": ask("acme/app", ["push"]),
	}
}

test_person_pulls_and_pushes_own if {
	{"type": "repository", "name": "acme/app", "actions": ["pull"]} in authz.granted with input as {
		"principal": {"name": "alice", "groups": [], "method": "bearer"}, "access": ask("acme/app", ["pull"]),
	}
	{"type": "repository", "name": "alice/x", "actions": ["push", "delete"]} in authz.granted with input as {
		"principal": {"name": "alice", "groups": [], "method": "basic"}, "access": ask("alice/x", ["push"]),
	}
}

test_anonymous_gets_nothing if {
	count(authz.granted) == 0 with input as {"principal": {"name": "", "groups": [], "method": "anonymous"}, "access": ask("acme/app", ["pull"])}
}

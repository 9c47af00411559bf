# CI identities from an OIDC provider (trusted_issuers): a job whose verified token carries
# a "repository" claim, as GitHub Actions and GitLab CI tokens do ("acme/app"), may pull
# and push in the namespace of the same name (acme/app and acme/app/...) and nowhere else;
# it may pull nothing outside it either. People who log in with a password pull
# everything, push under <user>/, and admins do everything.
package portcullis.authz

# ci is a principal authenticated by a trusted issuer's token that names a repository.
# Claims come only from verified tokens, so no password user can claim one.
ci if {
	input.principal.method == "bearer"
	is_string(input.principal.claims.repository)
	input.principal.claims.repository != ""
}

in_own_namespace(name) if name == input.principal.claims.repository

in_own_namespace(name) if startswith(name, concat("", [input.principal.claims.repository, "/"]))

granted contains {"type": "repository", "name": r.name, "actions": ["pull", "push"]} if {
	ci
	some r in input.access
	r.type == "repository"
	in_own_namespace(r.name)
}

reason := sprintf("ci job of %s", [input.principal.claims.repository]) if ci

# Everyone else who logged in.
person if {
	not ci
	not input.principal.method in {"", "anonymous"}
}

granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if {
	person
	some r in input.access
	r.type == "repository"
}

granted contains {"type": "repository", "name": r.name, "actions": ["push", "delete"]} if {
	person
	some r in input.access
	r.type == "repository"
	startswith(r.name, concat("", [input.principal.name, "/"]))
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	person
	"admins" in input.principal.groups
	some r in input.access
}

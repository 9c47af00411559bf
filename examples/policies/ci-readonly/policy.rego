# A read-only CI account: principals in the "ci" group (or named in data.ci_users) may
# pull anything and nothing else, whatever other rule would give them. Others follow the
# default rules.
package portcullis.authz

ci if "ci" in input.principal.groups

ci if input.principal.name in data.ci_users

anonymous if input.principal.method in {"", "anonymous"}

authenticated if not anonymous

granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
}

granted contains {"type": "repository", "name": r.name, "actions": ["push", "delete"]} if {
	authenticated
	not ci
	some r in input.access
	r.type == "repository"
	startswith(r.name, concat("", [input.principal.name, "/"]))
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	authenticated
	not ci
	"admins" in input.principal.groups
	some r in input.access
}

reason := "ci accounts are read-only" if ci

# Listing the catalog (and docker search) is open to every user: the gateway
# filters the list down to the repositories the caller may pull, so it reveals nothing.
granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

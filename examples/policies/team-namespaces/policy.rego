# Team namespaces from groups: a member of group "team-payments" may push and delete
# under "payments/". Groups come from the groups file or token claims. Everyone
# authenticated may pull; admins do everything.
package portcullis.authz

anonymous if input.principal.method in {"", "anonymous"}

authenticated if not anonymous

# team_namespaces is the set of namespaces the principal's groups own.
team_namespaces contains ns if {
	some g in input.principal.groups
	startswith(g, "team-")
	ns := substring(g, 5, -1)
	ns != ""
}

in_team_namespace(name) if {
	some ns in team_namespaces
	startswith(name, concat("", [ns, "/"]))
}

granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
}

granted contains {"type": "repository", "name": r.name, "actions": ["push", "delete"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
	in_team_namespace(r.name)
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	authenticated
	"admins" in input.principal.groups
	some r in input.access
}

reason := sprintf("team namespaces: %v", [sort(team_namespaces)]) if authenticated

# Listing the catalog (and docker search) is open to every user: the gateway
# filters the list down to the repositories the caller may pull, so it reveals nothing.
granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

# Public repositories are readable by anyone, including anonymous clients; everything
# else follows the default rules (authenticated users pull everything and push and
# delete under "<user>/"; admins do everything).
package portcullis.authz

# Repositories listed in data.json, or anything under "public/", are public.
public(name) if name in data.public_repos

public(name) if startswith(name, "public/")

anonymous if input.principal.method in {"", "anonymous"}

authenticated if not anonymous

granted contains {"type": "repository", "name": r.name, "actions": ["pull"]} if {
	some r in input.access
	r.type == "repository"
	public(r.name)
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
	startswith(r.name, concat("", [input.principal.name, "/"]))
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	authenticated
	"admins" in input.principal.groups
	some r in input.access
}

reason := "public repository" if {
	anonymous
	some r in input.access
	public(r.name)
}

# Listing the catalog (and docker search) is open to anyone, anonymous included: the gateway
# filters the list down to the repositories the caller may pull, so it reveals nothing.
granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

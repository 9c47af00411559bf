# Everyone authenticated may pull and push anywhere, but only members of "admins" may
# delete. The "denied" rule takes delete away whatever "granted" gave.
package portcullis.authz

anonymous if input.principal.method in {"", "anonymous"}

authenticated if not anonymous

admin if {
	authenticated
	"admins" in input.principal.groups
}

granted contains {"type": "repository", "name": r.name, "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	admin
	some r in input.access
}

denied contains {"type": r.type, "name": r.name, "actions": ["delete"]} if {
	not admin
	some r in input.access
	"delete" in r.actions
}

reason := "only admins may delete" if {
	not admin
	some r in input.access
	"delete" in r.actions
}

# Listing the catalog (and docker search) is open to every user: the gateway
# filters the list down to the repositories the caller may pull, so it reveals nothing.
granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

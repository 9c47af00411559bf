# Portcullis built-in default policy, served when no --policy is given.
#
#   - anonymous principals get nothing;
#   - authenticated principals may pull every repository and list the catalog;
#   - they may push and delete under their own namespace, "<user>/...";
#   - members of the "admins" group may do everything.
package portcullis.authz

anonymous if input.principal.method == "anonymous"

anonymous if input.principal.method == ""

anonymous if input.principal.name == ""

authenticated if not anonymous

admin if {
	authenticated
	"admins" in input.principal.groups
}

# namespace is the principal's own repository prefix, computed once per decision.
namespace := concat("", [input.principal.name, "/"])

own_namespace(name) if startswith(name, namespace)

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	admin
	some r in input.access
}

granted contains {"type": r.type, "name": r.name, "actions": ["pull"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
}

granted contains {"type": r.type, "name": r.name, "actions": ["push", "delete"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
	own_namespace(r.name)
}

granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

reason := "default policy: anonymous access is not allowed" if anonymous

else := "default policy: member of admins" if admin

else := sprintf("default policy: %s may pull anything, push and delete under %s/", [input.principal.name, input.principal.name])

# Nobody may push the tag "latest" to a repository under "prod/": releases there are
# pinned. The access list has no tag, so the rule reads the manifest reference from the
# request path, /v2/<name>/manifests/<reference>. Otherwise the default rules apply.
package portcullis.authz

anonymous if input.principal.method in {"", "anonymous"}

authenticated if not anonymous

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

# pushing_prod_latest holds for a manifest PUT of the tag "latest" into prod/. The path is
# compared whole, so a repository named "prod/manifests/x" cannot confuse it.
pushing_prod_latest(r) if {
	input.request.method == "PUT"
	startswith(r.name, "prod/")
	input.request.path == concat("", ["/v2/", r.name, "/manifests/latest"])
}

denied contains {"type": "repository", "name": r.name, "actions": ["push"]} if {
	some r in input.access
	pushing_prod_latest(r)
}

reason := "pushing latest to prod/ is not allowed; push a version tag" if {
	some r in input.access
	pushing_prod_latest(r)
}

# Listing the catalog (and docker search) is open to every user: the gateway
# filters the list down to the repositories the caller may pull, so it reveals nothing.
granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

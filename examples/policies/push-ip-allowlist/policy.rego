# Pushes and deletes are only allowed from the networks in data.yaml (for example the CI
# runners' subnet); pulls follow the default rules from anywhere. input.request.client_ip
# is the address the gateway saw (or the trusted proxy's forwarded one).
package portcullis.authz

anonymous if input.principal.method in {"", "anonymous"}

authenticated if not anonymous

from_allowed_network if {
	some cidr in data.push_networks
	net.cidr_contains(cidr, input.request.client_ip)
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

denied contains {"type": r.type, "name": r.name, "actions": ["push", "delete"]} if {
	not from_allowed_network
	some r in input.access
}

reason := sprintf("pushes are not allowed from %s", [input.request.client_ip]) if {
	not from_allowed_network
	some r in input.access
	some a in r.actions
	a in {"push", "delete", "*"}
}

# Listing the catalog (and docker search) is open to every user: the gateway
# filters the list down to the repositories the caller may pull, so it reveals nothing.
granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

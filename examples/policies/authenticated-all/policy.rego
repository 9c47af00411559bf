# What nginx with auth_basic allowed: every user who logs in may pull, push and delete
# every repository and list the catalog; anonymous clients get nothing. `gateway migrate
# nginx` names this policy for keeping the old behaviour; the default policy is stricter.
package portcullis.authz

anonymous if input.principal.method in {"", "anonymous"}

anonymous if input.principal.name == ""

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	not anonymous
	some r in input.access
}

reason := "authenticated-all: any logged-in user may do anything, as with nginx auth_basic" if not anonymous

else := "authenticated-all: anonymous access is not allowed"

#!/usr/bin/env bash
# Brings a scale-out topology up and waits until every replica answers through the load
# balancer:  deploy/scaleout/up.sh sidecar|bundled
# It builds the images that are missing (build-images.sh), writes $SCALEOUT_STATE (TLS
# certificate of the load balancer and its CA, the users, groups and policy every gateway
# mounts, one settings file per gateway), runs `docker-compose up -d` and waits. Then
# $SCALEOUT_STATE/scaleout.env holds what a client needs (URL, CA file, admin password).
# Stop with down.sh, which removes the containers, networks, volumes and the state.
#
# Knobs (environment):
#   SCALEOUT_PROJECT   compose project name (portcullis-scaleout-TOPOLOGY); several can run side by side
#   SCALEOUT_STATE     state directory (/tmp/portcullis-scaleout/PROJECT)
#   SCALEOUT_TAG       image tag (dev); SCALEOUT_BUILD=missing|always|never (missing)
#   SCALEOUT_BIND      address the load balancer publishes on (127.0.0.1)
#   SCALEOUT_PORT      its port (empty: any free one; scaleout.env says which)
#   SCALEOUT_HOSTNAME  name in the load balancer's certificate besides localhost/127.0.0.1
#   SCALEOUT_ADMIN_PASSWORD  password of "admin" (member of admins; random by default)
#   SCALEOUT_LOG_LEVEL gateway log level (info)
#   SCALEOUT_TOKENS=1  token mode with one signing key shared by every gateway (needs the
#                      token service: `gateway --help` lists --token-key)
#   SCALEOUT_AUDIT=1   an audit trail per gateway in the volume "audit" (needs --audit-log)
#   SCALEOUT_COMPOSE   the compose command (docker-compose, else "docker compose")
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
topo=${1:?usage: up.sh sidecar|bundled}
case $topo in sidecar|bundled) ;; *) echo "up.sh: topology is sidecar or bundled" >&2; exit 2 ;; esac
export SCALEOUT_PROJECT=${SCALEOUT_PROJECT:-portcullis-scaleout-$topo}
export SCALEOUT_STATE=${SCALEOUT_STATE:-/tmp/portcullis-scaleout/$SCALEOUT_PROJECT}
export SCALEOUT_TAG=${SCALEOUT_TAG:-dev}
export SCALEOUT_BIND=${SCALEOUT_BIND:-127.0.0.1}
export SCALEOUT_PORT=${SCALEOUT_PORT:-}
. "$here/lib.sh"
t0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - t0) / 1000000 )); printf '[up %d.%03ds] %s\n' $((ms/1000)) $((ms%1000)) "$*"; }

# ---- images -----------------------------------------------------------------------------
want="gateway haproxy"; [ "$topo" = sidecar ] && want="gateway haproxy registry versitygw"
missing=()
for img in $want; do
  if [ "${SCALEOUT_BUILD:-missing}" = always ] || ! docker image inspect "portcullis-scaleout-$img:$SCALEOUT_TAG" >/dev/null 2>&1; then
    missing+=("$img")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "${SCALEOUT_BUILD:-missing}" = never ] && { echo "up.sh: missing images: ${missing[*]}" >&2; exit 1; }
  log "building ${missing[*]}"
  SCALEOUT_IMAGES="${missing[*]}" "$here/build-images.sh" "$SCALEOUT_TAG"
fi
gw_image=portcullis-scaleout-gateway:$SCALEOUT_TAG

# ---- state: TLS, identity, per-gateway settings -----------------------------------------------
if [ -e "$SCALEOUT_STATE/scaleout.env" ]; then
  echo "up.sh: $SCALEOUT_STATE is in use (run down.sh $topo first)" >&2; exit 1
fi
mkdir -p "$SCALEOUT_STATE"/{tls,identity/policy}
chmod 700 "$SCALEOUT_STATE"
tls=$SCALEOUT_STATE/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=scaleout test CA" \
  -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
san="DNS:localhost,IP:127.0.0.1,IP:::1"; [ -n "${SCALEOUT_HOSTNAME:-}" ] && san="$san,DNS:$SCALEOUT_HOSTNAME"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${SCALEOUT_HOSTNAME:-localhost}" \
  -keyout "$tls/lb.key" -out "$tls/lb.csr" 2>/dev/null
openssl x509 -req -in "$tls/lb.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 30 \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") -out "$tls/lb.crt" 2>/dev/null
cat "$tls/lb.crt" "$tls/lb.key" >"$tls/lb.pem"
rm -f "$tls/lb.csr" "$tls/lb.crt" "$tls/lb.key" "$tls/ca.key" "$tls/ca.srl"
chown 65532:65532 "$tls/lb.pem"; chmod 600 "$tls/lb.pem"   # ca.crt alone is what clients need (a --cert-dir)

id=$SCALEOUT_STATE/identity
admin_pass=${SCALEOUT_ADMIN_PASSWORD:-$(openssl rand -hex 12)}
# bcrypt through the gateway's own `passwd`, run in its image (nothing else needed on the host).
printf '%s\n' "$admin_pass" | docker run --rm -i --user 0 --network none -v "$id:/id" "$gw_image" passwd /id/htpasswd admin >/dev/null
printf 'admins: [admin]\n' >"$id/groups.yaml"
cp "$root/policy/default.rego" "$id/policy/policy.rego"
# Every replica runs as 65532 and must read these; the state directory (0700) keeps others out.
chown -R 65532:65532 "$id"; chmod 644 "$id/htpasswd" "$id/groups.yaml" "$id/policy/policy.rego"

for gw in gw1 gw2; do
  {
    echo "# settings of $gw (GATEWAY_* = the flags); written by up.sh"
    echo "GATEWAY_LOG_LEVEL=${SCALEOUT_LOG_LEVEL:-info}"
  } >"$SCALEOUT_STATE/$gw.env"
done
if [ "${SCALEOUT_TOKENS:-0}" = 1 ]; then
  has_flag token-key || { echo "up.sh: SCALEOUT_TOKENS=1 but this gateway has no --token-key (the token service, issue 10)" >&2; exit 1; }
  # One signing key for every replica: a token issued by one verifies on all (README.md).
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$id/token.key" 2>/dev/null
  chown 65532:65532 "$id/token.key"; chmod 600 "$id/token.key"
  for gw in gw1 gw2; do
    printf 'GATEWAY_AUTH=token\nGATEWAY_TOKEN_KEY=/etc/portcullis/token.key\nGATEWAY_TOKEN_SERVICE=%s\nGATEWAY_TOKEN_ISSUER=portcullis-scaleout\n' \
      "${SCALEOUT_HOSTNAME:-localhost}" >>"$SCALEOUT_STATE/$gw.env"
  done
fi
if [ "${SCALEOUT_AUDIT:-0}" = 1 ]; then
  has_flag audit-log || { echo "up.sh: SCALEOUT_AUDIT=1 but this gateway has no --audit-log (the audit trail, issue 11)" >&2; exit 1; }
  # One file (one hash chain) per replica, never shared: merge them by time to read.
  for gw in gw1 gw2; do echo "GATEWAY_AUDIT_LOG=/data/audit/$gw.log" >>"$SCALEOUT_STATE/$gw.env"; done
fi
export SCALEOUT_HTTP_SECRET=${SCALEOUT_HTTP_SECRET:-$(openssl rand -hex 24)}
printf 'SCALEOUT_HTTP_SECRET=%s\n' "$SCALEOUT_HTTP_SECRET" >"$SCALEOUT_STATE/compose.env"
log "state in $SCALEOUT_STATE"

# ---- up and wait -------------------------------------------------------------------------
# From here a failure tears down what was started (SCALEOUT_KEEP=1 keeps it to look at).
up_ok=0
trap '[ $up_ok = 1 ] || [ "${SCALEOUT_KEEP:-0}" = 1 ] || { echo "up.sh: failed; tearing down" >&2; "$here/down.sh" "$topo" >&2; }' EXIT
compose "$topo" up -d >"$SCALEOUT_STATE/up.log" 2>&1 || { cat "$SCALEOUT_STATE/up.log" >&2; exit 1; }
addr=$(compose "$topo" port lb 8443 | tail -1)
[ -n "$addr" ] || { echo "up.sh: lb publishes no port" >&2; exit 1; }
url=https://$addr
log "containers started; load balancer at $url"
probe() { # probe WANT_CODE HEADER... : one request through the lb; prints code and replica headers
  curl -s -o /dev/null -D - --cacert "$tls/ca.crt" --max-time 5 "$@" "$url/v2/" 2>/dev/null |
    tr -d '\r' | awk 'NR==1{c=$2} tolower($1)=="x-scaleout-gateway:"{g=$2} tolower($1)=="x-scaleout-registry:"{r=$2} END{print c, g, r}'
}
deadline=$(( $(date +%s) + ${SCALEOUT_WAIT:-120} ))
for gw in gw1 gw2; do
  regs=-; [ "$topo" = sidecar ] && regs="r1 r2"
  for r in $regs; do
    want="200 $gw"; [ "$r" != - ] && want="200 $gw $r"
    until [ "$(probe -u "admin:$admin_pass" -H "X-Scaleout-Pin-Gateway: $gw" -H "X-Scaleout-Pin-Registry: $r" | sed 's/ *$//')" = "$want" ]; do
      if [ "$(date +%s)" -gt "$deadline" ]; then
        echo "up.sh: $gw${r/-/} not answering through $url; compose logs follow" >&2
        compose "$topo" logs --no-color --tail 30 >&2 || true
        exit 1
      fi
      sleep 0.5
    done
  done
done
cat >"$SCALEOUT_STATE/scaleout.env" <<ENV
SCALEOUT_TOPOLOGY=$topo
SCALEOUT_PROJECT=$SCALEOUT_PROJECT
SCALEOUT_URL=$url
SCALEOUT_ADDR=$addr
SCALEOUT_CA=$tls/ca.crt
SCALEOUT_ADMIN_USER=admin
SCALEOUT_ADMIN_PASSWORD=$admin_pass
SCALEOUT_IDENTITY=$id
ENV
log "up: every gateway$([ "$topo" = sidecar ] && echo " through every registry") answers through $url (admin password in $SCALEOUT_STATE/scaleout.env)"
up_ok=1

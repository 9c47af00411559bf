#!/usr/bin/env bash
# A newcomer's first hour, as the README tells it, run for real on this checkout:
#   README command 1 (go run ./cmd/gateway) in the background, trust its CA where skopeo
#   looks for it (/etc/containers/certs.d/HOST:PORT/ca.crt), log in with the printed admin
#   password, push an image, pull it back, delete it, stop the gateway, `gateway gc
#   --delete`, and the disk space comes back.
# Run it from anywhere; it works in a temporary directory and leaves nothing behind.
#   deploy/walkthrough.sh
# Environment: WALK_PORT (default: a free port), WALK_CERTS_D (default
# /etc/containers/certs.d; when not writable, skopeo's --cert-dir is used instead),
# WALK_MKOCI (default ../shared/bench/ref/lib/mkoci.sh beside the checkout).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { echo "walkthrough: $*"; }
die() { echo "walkthrough: FAILED: $*" >&2; [ -f "${work:-}/gateway.log" ] && tail -20 "$work/gateway.log" >&2; exit 1; }
for t in go skopeo curl du setsid; do command -v $t >/dev/null || die "$t is not installed"; done
mkoci=${WALK_MKOCI:-$root/../shared/bench/ref/lib/mkoci.sh}
[ -f "$mkoci" ] || die "no $mkoci (../shared must sit beside the checkout)"

work=$(mktemp -d)
pgid=
certs=
cleanup() {
  [ -n "$pgid" ] && kill -TERM -- "-$pgid" 2>/dev/null || true
  [ -n "$certs" ] && rm -rf "$certs"
  rm -rf "$work"
}
trap cleanup EXIT
port=${WALK_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 8443)}
data=$work/data

# 1. README command 1, with its data directory and port made explicit.
say "go run ./cmd/gateway --data $data --listen 127.0.0.1:$port"
setsid go run ./cmd/gateway --data "$data" --listen "127.0.0.1:$port" > "$work/gateway.log" 2>&1 &
pgid=$!
for _ in $(seq 1 600); do
  grep -q "portcullis gateway ready" "$work/gateway.log" && break
  kill -0 "$pgid" 2>/dev/null || die "the gateway exited"
  sleep 0.2
done
grep -q "portcullis gateway ready" "$work/gateway.log" || die "the gateway did not say ready within 2 minutes"
pass=$(sed -n 's/.*user=admin password=\([^ ]*\).*/\1/p' "$work/gateway.log" | head -1)
[ -n "$pass" ] || die "no admin password in the startup log"
# The name clients use, as the startup log's trust hint spells it (localhost:PORT).
host=$(sed -n 's|.*/etc/containers/certs.d/\([^/]*\)/ca.crt.*|\1|p' "$work/gateway.log" | head -1)
[ -n "$host" ] || die "the startup log does not say where podman and skopeo find the CA"
say "the log says: trust the CA as /etc/containers/certs.d/$host/ca.crt, log in as admin"

# 2. Trust the CA as the startup log says (skopeo, podman and containerd read certs.d).
certs_d=${WALK_CERTS_D:-/etc/containers/certs.d}
certdir= # empty: skopeo finds the CA in certs.d on its own
if mkdir -p "$certs_d/$host" 2>/dev/null && cp "$data/certs/ca.crt" "$certs_d/$host/ca.crt" 2>/dev/null; then
  certs=$certs_d/$host
  say "trusted the CA in $certs/ca.crt"
else
  certdir=$data/certs
  say "$certs_d is not writable; using skopeo --cert-dir $data/certs"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$data/certs/ca.crt" "https://$host/v2/")
[ "$code" = 401 ] || die "GET /v2/ without a login answered $code, want 401"

# 3. Log in, push, pull.
auth=$work/auth.json
sk() { # skopeo with the login file, and --cert-dir only when certs.d was not writable
  local cmd=$1; shift
  local flags=(--authfile "$auth")
  if [ -n "$certdir" ]; then
    case $cmd in
      copy) flags+=(--src-cert-dir "$certdir" --dest-cert-dir "$certdir") ;;
      *) flags+=(--cert-dir "$certdir") ;;
    esac
  fi
  skopeo "$cmd" "${flags[@]}" "$@"
}
sk login -u admin --password-stdin "$host" <<< "$pass" >/dev/null || die "skopeo login"
say "logged in as admin"
du_empty=$(du -sb "$data/registry" | cut -f1)
bash "$mkoci" "$work/oci" 1 8 > "$work/mkoci.out"
want=$(sed -n 's/^manifest_digest=//p' "$work/mkoci.out")
sk copy -q "oci:$work/oci:1" "docker://$host/admin/hello:1" || die "push"
du_pushed=$(du -sb "$data/registry" | cut -f1)
say "pushed admin/hello:1 (an 8 MiB layer); registry storage $du_empty -> $du_pushed bytes"
sk copy -q "docker://$host/admin/hello:1" "oci:$work/pulled:1" || die "pull"
got=$(sk inspect --format '{{.Digest}}' "docker://$host/admin/hello:1")
pulled=$(sed -n 's/.*"digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' "$work/pulled/index.json" | head -1)
[ "$got" = "$want" ] && [ "$pulled" = "$want" ] || die "pushed manifest $want, registry says $got, pulled $pulled"
say "pulled it back: $got"

# 4. Delete, stop, collect the garbage, and the space is back.
sk delete "docker://$host/admin/hello:1" || die "delete"
if sk inspect "docker://$host/admin/hello:1" >/dev/null 2>&1; then
  die "admin/hello:1 is still there after skopeo delete"
fi
du_deleted=$(du -sb "$data/registry" | cut -f1)
say "deleted it; storage still $du_deleted bytes (blobs stay until gc)"
kill -TERM -- "-$pgid"
for _ in $(seq 1 100); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
kill -0 -- "-$pgid" 2>/dev/null && die "the gateway did not stop on SIGTERM"
pgid=
grep -q "shutting down" "$work/gateway.log" || die "the gateway did not shut down cleanly"
say "stopped the gateway"
go run ./cmd/gateway gc --data "$data" | sed 's/^/walkthrough: gc: /'
go run ./cmd/gateway gc --delete --data "$data" | sed 's/^/walkthrough: gc: /'
du_gc=$(du -sb "$data/registry" | cut -f1)
say "registry storage: empty $du_empty, pushed $du_pushed, deleted $du_deleted, after gc --delete $du_gc bytes"
[ $((du_pushed - du_gc)) -ge $((8 * 1024 * 1024)) ] || die "gc --delete gave back $((du_pushed - du_gc)) bytes, want at least the 8 MiB layer"
say "OK"

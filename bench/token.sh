#!/usr/bin/env bash
# bench/token.sh: token mode against Basic mode, in one run on the same machine.
#
#   HEAD manifest   an authenticated manifest HEAD (bundled registry, TLS, --log-level warn):
#                   a gateway in Basic mode with a cost-10 bcrypt user's Basic header, and a
#                   gateway in token mode (--auth token) with a bearer token for the same
#                   user. hload (HTTP/1.1) and h2load (HTTP/2), 16 connections; the two modes
#                   alternate, PCB_TOKEN_ROUNDS times each (the order rotating from round to
#                   round), so drift on a shared machine hits both; the table
#                   gives the medians. The ratio is token / Basic (target
#                   >= 1: a verified token is cached by its hash, so there is no signature
#                   check per request, as there is no bcrypt per request with Basic). Each
#                   run also takes the gateway's own CPU time per request (/proc/PID/stat),
#                   which other load on a shared machine disturbs far less than the rate:
#                   the "CPU" rows compare that, Basic / token. A control row sends Basic
#                   mode the same request plus a header as long as the bearer token
#                   (X-Pad): what the token's bytes alone cost, apart from verifying it.
#                   HTTP/2 twice: h2load (nghttp2, which never indexes Authorization in HPACK,
#                   so the token is sent and Huffman-decoded on every request) and
#                   bench/lib/goload (Go's client, as docker, containerd, skopeo and crane
#                   use: it indexes the header once per connection).
#   in process      the same HEAD through the pipeline without sockets or TLS, and token
#                   issuance, as Go benchmarks (gateway/tokenbench_test.go), -count 3:
#                   the least noisy comparison of the two modes' own costs.
#   token issuance  GET /token?scope=repository:bench/app:pull with the cost-10 user's Basic
#                   credentials (verified once, then from the cache): the policy decision,
#                   an ES256 signature and the JSON answer, per second.
#
# Usage, from the repository root: bash bench/token.sh
# The bearer token is about 420 bytes: no x5c by default. The token-mode gateway is also
# sent, in the same rounds, a token with x5c (1.1 KiB, what --token-x5c gives clients for
# a standalone registry 2.8), minted by a second gateway with --token-x5c and the same
# --token-key: the "token+x5c" column is the same process, only the header is longer.
#
# Knobs: PCB_TOKEN_DIR (scratch, /tmp/pcb-token), PCB_TOKEN_SECS (per measurement, 6),
# PCB_TOKEN_ROUNDS (3), PCB_TOKEN_CONNS (16), PCB_GW_BIN (a gateway binary; default: built
# from this tree).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
HLOAD_SRC=$ROOT/../shared/bench/ref/lib/hload/main.go
S=${PCB_TOKEN_DIR:-/tmp/pcb-token}
SECS=${PCB_TOKEN_SECS:-6}
ROUNDS=${PCB_TOKEN_ROUNDS:-3}
CONNS=${PCB_TOKEN_CONNS:-16}
GW_BIN=${PCB_GW_BIN:-$S/gateway}

log() { printf '[%s] token-bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for t in go curl h2load htpasswd sha256sum openssl; do command -v "$t" >/dev/null || die "$t not installed (see .ci/run)"; done
[ -f "$HLOAD_SRC" ] || die "$HLOAD_SRC missing (../shared must sit beside the repository)"

PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

rm -rf "$S" && mkdir -p "$S"/{bin,basic,token,x5c}
if [ -z "${PCB_GW_BIN:-}" ]; then
  log "building the gateway and hload"
  (cd "$ROOT" && go build -o "$GW_BIN" ./cmd/gateway)
fi
(cd "$(dirname "$HLOAD_SRC")" && CGO_ENABLED=0 GOFLAGS= GO111MODULE=off go build -o "$S/bin/hload" main.go)
HLOAD=$S/bin/hload
(cd "$ROOT" && go build -o "$S/bin/goload" ./bench/lib/goload)
GOLOAD=$S/bin/goload

htpasswd -B -C 10 -b -c "$S/htpasswd" bench bench-pass-10 2>/dev/null
printf 'admins: [bench]\n' > "$S/groups.yaml"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME AUTH [FLAGS...]: a gateway on a free port with --auth AUTH; sets URL_<NAME> and
# PID_OF_<NAME>. Not run in a subshell, so that cleanup knows the process.
start() {
  local mode=$1 auth=$2 port; port=$(free_port); shift 2
  "$GW_BIN" serve --listen "127.0.0.1:$port" --data "$S/$mode" --htpasswd "$S/htpasswd" --groups "$S/groups.yaml" \
    --auth "$auth" --token-ttl 1h --log-level warn "$@" > "$S/$mode.log" 2>&1 &
  PIDS+=($!)
  printf -v "PID_OF_$mode" '%s' "$!"
  for _ in $(seq 100); do
    [ -s "$S/$mode/certs/ca.crt" ] && curl -s -o /dev/null --cacert "$S/$mode/certs/ca.crt" "https://127.0.0.1:$port/v2/" && break
    sleep 0.1
  done
  printf -v "URL_$mode" '%s' "https://127.0.0.1:$port"
}

# seed URL CA AUTHHEADER: a one-layer-less OCI image bench/app:1 (config blob and manifest).
seed() {
  local url=$1 ca=$2 auth=$3 cfg='{"architecture":"amd64","os":"linux"}' cd man
  cd=sha256:$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
  curl -sf --cacert "$ca" -H "$auth" -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary "$cfg" "$url/v2/bench/app/blobs/uploads/?digest=$cd" -o /dev/null || die "seeding the config blob"
  man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}' "$cd" "${#cfg}")
  curl -sf --cacert "$ca" -H "$auth" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$man" "$url/v2/bench/app/manifests/1" -o /dev/null || die "seeding the manifest"
}

token() { # token URL CA SCOPE
  curl -sf --cacert "$2" -u bench:bench-pass-10 "$1/token?service=localhost&scope=$3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

log "starting a Basic-mode and a token-mode gateway (bundled registry, cost-10 user)"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$S/token-key.pem" 2>/dev/null || die "openssl genpkey"
start basic basic; start token token --token-key "$S/token-key.pem"
BASIC_URL=$URL_basic TOKEN_URL=$URL_token
BASIC_CA=$S/basic/certs/ca.crt; TOKEN_CA=$S/token/certs/ca.crt
BASIC_AUTH="Authorization: Basic $(printf bench:bench-pass-10 | base64 -w0)"
seed "$BASIC_URL" "$BASIC_CA" "$BASIC_AUTH"
seed "$TOKEN_URL" "$TOKEN_CA" "Authorization: Bearer $(token "$TOKEN_URL" "$TOKEN_CA" 'repository:bench/app:pull,push')"
BEARER_AUTH="Authorization: Bearer $(token "$TOKEN_URL" "$TOKEN_CA" 'repository:bench/app:pull')"
log "minting a token with x5c for the same key (a second gateway with --token-x5c, stopped after)"
start x5c token --token-key "$S/token-key.pem" --token-x5c
X5C_AUTH="Authorization: Bearer $(token "$URL_x5c" "$S/x5c/certs/ca.crt" 'repository:bench/app:pull')"
kill "$PID_OF_x5c"; wait "$PID_OF_x5c" 2>/dev/null || true
curl -sf -o /dev/null --cacert "$TOKEN_CA" -H "$X5C_AUTH" -I "$TOKEN_URL/v2/bench/app/manifests/1" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  || die "the token-mode gateway refused the token with x5c"
PAD_AUTH="X-Pad: $(head -c $(( ${#BEARER_AUTH} - 7 )) /dev/zero | tr '\0' x)" # as long as the bearer header
MAN=/v2/bench/app/manifests/1
ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json'

kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
TICK=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system ticks of a process
# usec MODE TICKS0 REQUESTS: the gateway's CPU microseconds per request since TICKS0.
usec() { local pid; pid=PID_OF_$1; awk -v t0="$2" -v t1="$(cpu "${!pid}")" -v n="$3" -v hz="$TICK" 'BEGIN { printf "%.1f", (t1 - t0) / hz * 1e6 / n }'; }
h1() { # h1 MODE URL CA AUTH -> "rps cpu-usec-per-request" (and fails on any non-2xx or error)
  local out t0; t0=$(cpu "$(eval echo \$PID_OF_$1)")
  out=$("$HLOAD" -url "$2$MAN" -X HEAD -c "$CONNS" -d "${SECS}s" -cacert "$3" -H "$4" -H "$ACCEPT")
  [ "$(kv non2xx "$out")" = 0 ] && [ "$(kv errors "$out")" = 0 ] || die "hload: $out"
  echo "$(kv rps "$out") $(usec "$1" "$t0" "$(kv requests "$out")")"
}
h1pad() { # Basic mode, h1.1, with the padding header too
  local out t0; t0=$(cpu "$PID_OF_basic")
  out=$("$HLOAD" -url "$BASIC_URL$MAN" -X HEAD -c "$CONNS" -d "${SECS}s" -cacert "$BASIC_CA" -H "$BASIC_AUTH" -H "$PAD_AUTH" -H "$ACCEPT")
  [ "$(kv non2xx "$out")" = 0 ] && [ "$(kv errors "$out")" = 0 ] || die "hload: $out"
  echo "$(kv rps "$out") $(usec basic "$t0" "$(kv requests "$out")")"
}
h2go() { # h2go MODE URL CA AUTH -> "rps cpu-usec-per-request", Go's HTTP/2 client
  local out t0; t0=$(cpu "$(eval echo \$PID_OF_$1)")
  out=$("$GOLOAD" -url "$2$MAN" -X HEAD -c "$CONNS" -d "${SECS}s" -cacert "$3" -H "$4" -H "$ACCEPT")
  [ "$(kv non2xx "$out")" = 0 ] && [ "$(kv errors "$out")" = 0 ] || die "goload: $out"
  echo "$(kv rps "$out") $(usec "$1" "$t0" "$(kv requests "$out")")"
}
h2() { # h2 MODE URL AUTH -> "rps cpu-usec-per-request"
  local out ok t0 n; t0=$(cpu "$(eval echo \$PID_OF_$1)")
  out=$(h2load -D "$SECS" --warm-up-time=1 -c "$CONNS" -m 1 -t 1 -H ':method: HEAD' -H "$ACCEPT" -H "$3" "$2$MAN" 2>&1)
  ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
  [ "${ok:-0}" -gt 0 ] && grep -q '^requests: .* 0 failed, 0 errored' <<<"$out" || die "h2load: $out"
  n=$(sed -n 's/^requests: \([0-9]*\) total.*/\1/p' <<<"$out")
  echo "$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out") $(usec "$1" "$t0" "$n")"
}

log "in process: go test -bench 'AuthenticatedHEAD|TokenIssue' ./gateway, 3 interleaved runs"
(cd "$ROOT" && go test -c -o "$S/bin/gateway.test" ./gateway) || die "building the gateway tests"
: > "$S/gobench.txt"
for _ in 1 2 3; do
  (cd "$ROOT/gateway" && "$S/bin/gateway.test" -test.run '^$' -test.bench 'AuthenticatedHEAD|TokenIssue' -test.benchtime 2s) \
    >> "$S/gobench.txt" 2>&1 || die "go benchmarks failed: $(tail -5 "$S/gobench.txt")"
done
gomed() { awk -v n="$1" '$1 ~ n { print $3 }' "$S/gobench.txt" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
GO_BASIC=$(gomed 'AuthenticatedHEAD/mode=basic'); GO_TOKEN=$(gomed 'AuthenticatedHEAD/mode=token'); GO_ISSUE=$(gomed 'TokenIssue')

declare -A R
for round in $(seq "$ROUNDS"); do
  # The order rotates (Basic, token, token+x5c first in turn), so that load which builds
  # up or fades within a round does not always favour the same one.
  case $((round % 3)) in 1) order="basic token x5c" ;; 2) order="token x5c basic" ;; *) order="x5c basic token" ;; esac
  log "round $round/$ROUNDS: HEAD manifest, h1.1, h2 (nghttp2) and h2 (Go); order: $order"
  for m in $order; do
    case $m in
      basic) R[basic-h1-$round]=$(h1 basic "$BASIC_URL" "$BASIC_CA" "$BASIC_AUTH"); R[pad-h1-$round]=$(h1pad) ;;
      token) R[token-h1-$round]=$(h1 token "$TOKEN_URL" "$TOKEN_CA" "$BEARER_AUTH") ;;
      x5c) R[x5c-h1-$round]=$(h1 token "$TOKEN_URL" "$TOKEN_CA" "$X5C_AUTH") ;;
    esac
  done
  for m in $order; do
    case $m in
      basic) R[basic-h2-$round]=$(SSL_CERT_FILE=$BASIC_CA h2 basic "$BASIC_URL" "$BASIC_AUTH") ;;
      token) R[token-h2-$round]=$(SSL_CERT_FILE=$TOKEN_CA h2 token "$TOKEN_URL" "$BEARER_AUTH") ;;
      x5c) R[x5c-h2-$round]=$(SSL_CERT_FILE=$TOKEN_CA h2 token "$TOKEN_URL" "$X5C_AUTH") ;;
    esac
  done
  for m in $order; do
    case $m in
      basic) R[basic-h2go-$round]=$(h2go basic "$BASIC_URL" "$BASIC_CA" "$BASIC_AUTH") ;;
      token) R[token-h2go-$round]=$(h2go token "$TOKEN_URL" "$TOKEN_CA" "$BEARER_AUTH") ;;
      x5c) R[x5c-h2go-$round]=$(h2go token "$TOKEN_URL" "$TOKEN_CA" "$X5C_AUTH") ;;
    esac
  done
done
log "token issuance: GET /token with the cost-10 user's Basic credentials (cached), h1.1"
t0=$(cpu "$PID_OF_token")
out=$("$HLOAD" -url "$TOKEN_URL/token?service=localhost&scope=repository:bench/app:pull" -X GET -c "$CONNS" -d "${SECS}s" \
  -cacert "$TOKEN_CA" -H "$BASIC_AUTH")
[ "$(kv non2xx "$out")" = 0 ] && [ "$(kv errors "$out")" = 0 ] || die "hload /token: $out"
ISSUE=$(kv rps "$out"); ISSUE_P50=$(kv p50_ms "$out"); ISSUE_CPU=$(usec token "$t0" "$(kv requests "$out")")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 1) ? "PASS" : "MISS" }'; }
{
  tok=${BEARER_AUTH#Authorization: Bearer } xtok=${X5C_AUTH#Authorization: Bearer }
  echo "| measure | Basic mode | token mode | token with x5c | token / Basic | token+x5c / Basic | target |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  echo "| the credential (one scope) | 40-byte Basic header | ${#tok}-byte token | ${#xtok}-byte token | - | - | - |"
  for p in h1 h2 h2go; do
    case $p in h1) proto='h1.1 (hload)' ;; h2) proto='h2 (h2load: Authorization never indexed)' ;; *) proto='h2 (Go client: indexed, as docker and containerd send it)' ;; esac
    bs=() ts=() xs=() rs=() bc=() tc=() xc=() rc=() xr=()
    for round in $(seq "$ROUNDS"); do
      read -r b bu <<<"${R[basic-$p-$round]}"; read -r t tu <<<"${R[token-$p-$round]}"; read -r x xu <<<"${R[x5c-$p-$round]}"
      bs+=("$b") ts+=("$t") xs+=("$x") rs+=("$(ratio "$t" "$b")")
      bc+=("$bu") tc+=("$tu") xc+=("$xu") rc+=("$(ratio "$bu" "$tu")") xr+=("$(ratio "$bu" "$xu")")
    done
    b=$(median "${bs[@]}") t=$(median "${ts[@]}") x=$(median "${xs[@]}"); r=$(ratio "$t" "$b")
    echo "| HEAD manifest over TLS, cost-10 user, $proto, $CONNS conns: rate, median of $ROUNDS | $b req/s | $t req/s | $x req/s | ${r}x (rounds: ${rs[*]}) | $(ratio "$x" "$b")x | >= 1x $(verdict "$r") |"
    b=$(median "${bc[@]}") t=$(median "${tc[@]}") x=$(median "${xc[@]}"); r=$(ratio "$b" "$t")
    echo "| same, the gateway's CPU per request (ratios Basic / token), median | $b us | $t us | $x us | ${r}x (rounds: ${rc[*]}) | $(ratio "$b" "$x")x (rounds: ${xr[*]}) | >= 1x $(verdict "$r") |"
  done
  ps=() pc=() rp=()
  for round in $(seq "$ROUNDS"); do
    read -r pr pu <<<"${R[pad-h1-$round]}"; read -r t tu <<<"${R[token-h1-$round]}"
    ps+=("$pr") pc+=("$pu") rp+=("$(ratio "$pu" "$tu")")
  done
  b=$(median "${pc[@]}")
  echo "| control, h1.1: Basic mode plus a header as long as the token (X-Pad), CPU per request | $b us ($(median "${ps[@]}") req/s) | - | - | Basic+pad / token ${rp[*]} | - | - |"
  r=$(ratio "$GO_BASIC" "$GO_TOKEN")
  echo "| HEAD manifest in process (Go benchmark, Basic / token ns/op, median of 3 interleaved) | $GO_BASIC ns/op | $GO_TOKEN ns/op | - | ${r}x | - | >= 1x $(verdict "$r") |"
  echo "| token issuance over TLS, GET /token, one scope, cost-10 user (cached), $CONNS conns | - | $ISSUE tokens/s (p50 ${ISSUE_P50} ms, ${ISSUE_CPU} us CPU each) | - | - | - | - |"
  echo "| token issuance in process (Go benchmark, median of 3) | - | $GO_ISSUE ns/op = $(awk -v n="$GO_ISSUE" 'BEGIN { printf "%.0f", 1e9 / n }') tokens/s per core | - | - | - | - |"
} | tee "$S/token.md"
log "table also in $S/token.md; logs in $S/*.log, Go benchmarks in $S/gobench.txt"

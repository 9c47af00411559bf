#!/usr/bin/env bash
# bench/rss.sh: peak RSS of the gateway while it streams a 2 GiB blob.
#
# For each mode (bundled: in-process registry; sidecar: --upstream to a docker-registry 2.8
# this script starts on a free port) and each protocol (HTTP/1.1, HTTP/2) it runs
#   chunked: POST + PATCH streaming the blob (HTTP/1.1: Transfer-Encoding: chunked) + PUT ?digest=
#   mono:    POST + PUT ?digest= with the blob as body (Content-Length)
#   get:     GET /v2/<name>/blobs/<digest>
# and reads the gateway's VmHWM (peak resident set) from /proc/PID/status after each one,
# having reset it first (echo 5 > /proc/PID/clear_refs), so each row is that transfer's peak.
# Target: every peak under 64 MiB. See bench/README.md.
#
# Usage, from the repository root:  bash bench/rss.sh
# Knobs: PCB_RSS_MIB=2048 (blob size), PCB_RSS_LIMIT_MIB=64, PCB_RSS_MODES="bundled sidecar",
#        PCB_RSS_PROTOS="h1.1 h2", PCB_GW_BIN=/tmp/portcullis-gw, PCB_BUILD=1, PCB_RSS_GW_PORT=9444,
#        PCB_OUT=/tmp/portcullis-bench (the table goes to $PCB_OUT/rss.md).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
MIB=${PCB_RSS_MIB:-2048}
LIMIT=${PCB_RSS_LIMIT_MIB:-64}
MODES=${PCB_RSS_MODES:-"bundled sidecar"}
PROTOS=${PCB_RSS_PROTOS:-"h1.1 h2"}
GW_BIN=${PCB_GW_BIN:-/tmp/portcullis-gw}
GW_PORT=${PCB_RSS_GW_PORT:-9444}
OUT=${PCB_OUT:-/tmp/portcullis-bench}
REPO=test/rss

log() { printf '[%s] rss.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
free_port() { local p=$1; while port_busy "$p"; do p=$((p + 1)); done; echo "$p"; }
for c in curl openssl htpasswd docker-registry ss sha256sum; do command -v "$c" >/dev/null || die "$c is missing"; done

TMP=$(mktemp -d /tmp/portcullis-rss.XXXXXX)
GW_PID= REG_PID=
stop() { # stop PID: TERM, wait up to 10 s, then KILL (only this PID)
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() { set +e; stop "$GW_PID"; stop "$REG_PID"; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${PCB_BUILD:-1}" = 1 ]; then log "building $GW_BIN"; (cd "$ROOT" && go build -o "$GW_BIN" ./cmd/gateway); fi
mkdir -p "$OUT"

log "generating a $MIB MiB random blob in $TMP"
head -c $((MIB * 1048576)) /dev/urandom > "$TMP/blob"
SIZE=$(stat -c %s "$TMP/blob")
DG=sha256:$(sha256sum "$TMP/blob" | cut -d' ' -f1)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
htpasswd -B -b -c "$TMP/htpasswd" bench5 bench5pass 2>/dev/null
printf 'admins: [bench5]\n' > "$TMP/groups.yaml"
BASE=https://127.0.0.1:$GW_PORT

kib() { awk -v k="$1:" '$1==k{print $2}' "/proc/$GW_PID/status"; }
wait_up() { local i; for i in $(seq 200); do curl -s -o /dev/null --max-time 1 "$@" && return 0; sleep 0.1; done; return 1; }
hdr() { tr -d '\r' < "$2" | awk -v h="$1:" 'tolower($1)==h{v=$2} END{print v}'; }
qs() { [[ $1 == *\?* ]] && printf '%s&' "$1" || printf '%s?' "$1"; }

start_registry() {
  local port; port=$(free_port 5300)
  mkdir -p "$TMP/regdata"
  cat > "$TMP/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $TMP/regdata}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: 127.0.0.1:$port}
YML
  docker-registry serve "$TMP/registry.yml" > "$TMP/registry.log" 2>&1 &
  REG_PID=$!
  wait_up "http://127.0.0.1:$port/v2/" || die "docker-registry did not start: $(tail -3 "$TMP/registry.log")"
  UPSTREAM=http://127.0.0.1:$port
}

start_gateway() { # start_gateway MODE
  local args=(serve --listen "127.0.0.1:$GW_PORT" --data "$TMP/gw-data-$1" --tls files --tls-cert "$TMP/cert.pem"
              --tls-key "$TMP/key.pem" --htpasswd "$TMP/htpasswd" --groups "$TMP/groups.yaml" --log-level warn)
  [ "$1" = sidecar ] && args+=(--upstream "$UPSTREAM")
  port_busy "$GW_PORT" && die "127.0.0.1:$GW_PORT is in use (set PCB_RSS_GW_PORT)"
  "$GW_BIN" "${args[@]}" > "$TMP/gw-$1.log" 2>&1 &
  GW_PID=$!
  wait_up "$BASE/v2/" --cacert "$TMP/cert.pem" -u bench5:bench5pass || die "gateway did not start: $(tail -3 "$TMP/gw-$1.log")"
}

# transfer OP PROTO -> sets T_OK (1/0), T_WALL (s), T_NOTE
transfer() {
  local op=$1 pf=--http1.1 loc code got t0 t1
  [ "$2" = h2 ] && pf=--http2
  local c=(curl -sS "$pf" -H 'Expect:' -u bench5:bench5pass --cacert "$TMP/cert.pem")
  t0=$(date +%s.%N); T_OK=0; T_NOTE=
  if [ "$op" = get ]; then
    read -r code got < <("${c[@]}" -o /dev/null -w '%{http_code} %{size_download}\n' "$BASE/v2/$REPO/blobs/$DG")
    [ "$code" = 200 ] && [ "$got" = "$SIZE" ] && T_OK=1
    T_NOTE="http $code, $got bytes"
  else
    "${c[@]}" -X POST -D "$TMP/h1" -o /dev/null "$BASE/v2/$REPO/blobs/uploads/"
    loc=$(hdr location "$TMP/h1"); [[ $loc == /* ]] && loc=$BASE$loc
    if [ "$op" = mono ]; then
      code=$("${c[@]}" -X PUT -T "$TMP/blob" -H 'Content-Type: application/octet-stream' -D "$TMP/h2" -o /dev/null -w '%{http_code}' "$(qs "$loc")digest=$DG")
    else
      "${c[@]}" -X PATCH -T - -H 'Content-Type: application/octet-stream' -D "$TMP/h3" -o /dev/null "$loc" < "$TMP/blob"
      loc=$(hdr location "$TMP/h3"); [[ $loc == /* ]] && loc=$BASE$loc
      code=$("${c[@]}" -X PUT --data-binary '' -H 'Content-Type: application/octet-stream' -D "$TMP/h2" -o /dev/null -w '%{http_code}' "$(qs "$loc")digest=$DG")
    fi
    got=$(hdr docker-content-digest "$TMP/h2")
    [ "$code" = 201 ] && [ "$got" = "$DG" ] && T_OK=1
    T_NOTE="http $code"; [ "$got" = "$DG" ] || T_NOTE="$T_NOTE, digest '$got'"
  fi
  t1=$(date +%s.%N)
  T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
}

ROWS=() FAIL=0
for mode in $MODES; do
  case $mode in bundled) ;; sidecar) start_registry ;; *) die "unknown mode $mode" ;; esac
  start_gateway "$mode"
  log "$mode: gateway pid $GW_PID up, VmRSS $(kib VmRSS) kB, VmHWM $(kib VmHWM) kB${UPSTREAM:+, upstream $UPSTREAM}"
  for proto in $PROTOS; do
    for op in chunked mono get; do
      before=$(kib VmRSS)
      echo 5 > "/proc/$GW_PID/clear_refs"          # VmHWM := current RSS
      transfer "$op" "$proto"
      peak=$(kib VmHWM)
      mbps=$(awk -v b="$SIZE" -v s="$T_WALL" 'BEGIN{printf "%.0f", b/s/1e6}')
      verdict=PASS
      [ "$T_OK" = 1 ] || verdict="FAIL ($T_NOTE)"
      [ "$T_OK" = 1 ] && [ "$peak" -ge $((LIMIT * 1024)) ] && verdict=MISS
      [ "$verdict" = PASS ] || FAIL=1
      ROWS+=("| $mode | $proto | $op | $mbps | $(awk -v k="$before" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v k="$peak" 'BEGIN{printf "%.1f", k/1024}') | $verdict |")
      log "$mode $proto $op: ${T_WALL}s ($mbps MB/s), VmRSS before $before kB, VmHWM $peak kB: $verdict"
    done
  done
  stop "$GW_PID"; GW_PID=
  [ "$mode" = sidecar ] && { stop "$REG_PID"; REG_PID=; }
  rm -rf "$TMP/gw-data-$mode" "$TMP/regdata"
done

{
  echo "# Gateway peak RSS while streaming a $MIB MiB blob ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
  echo
  echo "gateway $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null) ($GW_BIN), --log-level warn; target: peak < $LIMIT MiB"
  echo
  echo "| mode | proto | transfer | MB/s | RSS before MiB | peak RSS (VmHWM) MiB | verdict |"
  echo "|---|---|---|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/rss.md"
exit $FAIL

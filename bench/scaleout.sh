#!/usr/bin/env bash
# bench/scaleout.sh: manifest HEAD and blob GET through 1 and through 2 gateway replicas,
# same backend, one run, with the CPU each gateway used.
#
# It brings up deploy/scaleout's bundled topology (haproxy TLS -> gw1, gw2 on one volume;
# the sidecar one with PCB_SO_TOPOLOGY=sidecar), pushes one image (a 1 MiB layer), then for
# each measure runs hload (../shared/bench/ref/lib/hload: a closed-loop HTTP/1.1 load
# generator; wrk hangs on HEAD answers with a Content-Length) for PCB_SO_SECONDS s over
# PCB_SO_CONNS keep-alive connections, admin Basic auth (bcrypt cached), twice through the same balancer: pinned to gw1
# (X-Scaleout-Pin-Gateway), then round-robin over gw1 and gw2. CPU per container is read
# from /proc for each of its processes, before and after. Then down.sh.
#
# On two cores the second gateway cannot add throughput (haproxy, wrk and the gateways share
# them); what the table shows is the cost per request (gateway CPU microseconds) and that no
# request fails when requests alternate between replicas.
#
# Usage, from the repository root:  bash bench/scaleout.sh
# Knobs: PCB_SO_SECONDS=8, PCB_SO_CONNS=16, PCB_SO_TOPOLOGY=bundled, SCALEOUT_TAG=dev,
#        PCB_OUT=/tmp/portcullis-bench (the table goes to $PCB_OUT/scaleout.md).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SECS=${PCB_SO_SECONDS:-8}
CONNS=${PCB_SO_CONNS:-16}
TOPO=${PCB_SO_TOPOLOGY:-bundled}
OUT=${PCB_OUT:-/tmp/portcullis-bench}
export SCALEOUT_PROJECT=pcb-scaleout-$TOPO SCALEOUT_TAG=${SCALEOUT_TAG:-dev} SCALEOUT_LOG_LEVEL=warn
export SCALEOUT_STATE=/tmp/pcb-scaleout-state-$TOPO
HLOAD_SRC=$ROOT/../shared/bench/ref/lib/hload/main.go
[ -f "$HLOAD_SRC" ] || { echo "scaleout.sh: $HLOAD_SRC missing (../shared beside the checkout)" >&2; exit 1; }
mkdir -p "$OUT"
work=$(mktemp -d)
(cd "$ROOT" && go build -o "$work/hload" "$HLOAD_SRC")
trap '"$ROOT/deploy/scaleout/down.sh" "$TOPO" >/dev/null 2>&1; rm -rf "$work"' EXIT
log() { printf '[%s] scaleout.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

"$ROOT/deploy/scaleout/up.sh" "$TOPO" >&2
. "$SCALEOUT_STATE/scaleout.env"
auth=$(printf '%s:%s' "$SCALEOUT_ADMIN_USER" "$SCALEOUT_ADMIN_PASSWORD" | base64 -w0)
curl_() { curl -sS --cacert "$SCALEOUT_CA" -u "$SCALEOUT_ADMIN_USER:$SCALEOUT_ADMIN_PASSWORD" "$@"; }

# One image: a 1 MiB layer and a manifest.
repo=$SCALEOUT_ADMIN_USER/bench
head -c $((1 << 20)) /dev/urandom >"$work/layer"
echo '{"architecture":"amd64","os":"linux"}' >"$work/config"
push() { # push FILE: POST + PUT, prints the digest
  local d loc
  d=sha256:$(sha256sum "$1" | cut -d' ' -f1)
  loc=$(curl_ -o /dev/null -D - -X POST "$SCALEOUT_URL/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  case $loc in http*) ;; *) loc=$SCALEOUT_URL$loc ;; esac
  case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
  curl_ -f -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$1" "$loc"
  echo "$d"
}
layer=$(push "$work/layer"); config=$(push "$work/config")
mt=application/vnd.oci.image.manifest.v1+json
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
  "$mt" "$config" "$(stat -c %s "$work/config")" "$layer" $((1 << 20)) >"$work/manifest"
curl_ -f -o /dev/null -X PUT -H "Content-Type: $mt" --data-binary @"$work/manifest" "$SCALEOUT_URL/v2/$repo/manifests/v1"
log "seeded $repo:v1 (1 MiB layer)"

# CPU of a whole container (haproxy -W works in a child process): the sum over its
# processes (docker top) of user+system time from /proc/PID/stat.
hz=$(getconf CLK_TCK)
cid() { "$ROOT/deploy/scaleout/compose.sh" "$TOPO" ps -q "$1"; }
cpu() {
  local t=0 p
  for p in $(docker top "$1" -eo pid | tail -n +2); do
    t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$t" -v hz="$hz" 'BEGIN{printf "%.3f", t/hz}'
}
gw1=$(cid gw1) gw2=$(cid gw2) lb=$(cid lb)
table=$OUT/scaleout.md
{
  echo "| measure | gateways | requests/s | failed | gw1 CPU s | gw2 CPU s | lb CPU s | gateway CPU us/request |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$table"
declare -A rate cost
for measure in head get; do
  case $measure in
    head) path=/v2/$repo/manifests/v1; method=HEAD; name="manifest HEAD" ;;
    get) path=/v2/$repo/blobs/$layer; method=GET; name="1 MiB blob GET" ;;
  esac
  for n in 1 2; do
    pinh=(); [ $n = 1 ] && pinh=(-H "X-Scaleout-Pin-Gateway: gw1")
    a1=$(cpu "$gw1") a2=$(cpu "$gw2") al=$(cpu "$lb")
    res=$("$work/hload" -url "$SCALEOUT_URL$path" -X "$method" -c "$CONNS" -d "${SECS}s" -cacert "$SCALEOUT_CA" \
      -H "Authorization: Basic $auth" -H "Accept: $mt" "${pinh[@]}" |
      tr ' ' '\n' | awk -F= '$1=="requests"{r=$2} $1=="secs"{s=$2} $1=="non2xx"{n=$2} $1=="errors"{e=$2} END{print r, s, n+e}')
    b1=$(cpu "$gw1") b2=$(cpu "$gw2") bl=$(cpu "$lb")
    read -r reqs dur bad <<<"$res"
    c1=$(awk -v a="$a1" -v b="$b1" 'BEGIN{printf "%.2f", b-a}')
    c2=$(awk -v a="$a2" -v b="$b2" 'BEGIN{printf "%.2f", b-a}')
    cl=$(awk -v a="$al" -v b="$bl" 'BEGIN{printf "%.2f", b-a}')
    rate[$measure$n]=$(awk -v r="$reqs" -v d="$dur" 'BEGIN{printf "%.0f", r/d}')
    cost[$measure$n]=$(awk -v c1="$c1" -v c2="$c2" -v r="$reqs" 'BEGIN{printf "%.0f", (c1+c2)*1e6/r}')
    echo "| $name | $n | ${rate[$measure$n]} | $bad | $c1 | $c2 | $cl | ${cost[$measure$n]} |" | tee -a "$table" >&2
  done
done
{
  echo
  for m in head get; do
    awk -v m="$m" -v r1="${rate[${m}1]}" -v r2="${rate[${m}2]}" -v c1="${cost[${m}1]}" -v c2="${cost[${m}2]}" \
      'BEGIN{printf "%s: 2 gateways / 1 gateway: throughput %.2fx, gateway CPU per request %.2fx\n", (m=="head"?"manifest HEAD":"blob GET"), r2/r1, c2/c1}'
  done
  echo "($TOPO topology, hload -c $CONNS, ${SECS} s per row, TLS at haproxy, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))"
} | tee -a "$table"
log "table in $table"

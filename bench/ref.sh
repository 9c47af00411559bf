#!/usr/bin/env bash
# bench/ref.sh: the gateway against the nginx reference, as ratios, in one invocation.
#
# Runs the shared harness (../shared/bench/ref/run.sh) twice, with the gateway beside nginx:
#   1. sidecar: gateway --upstream to the harness's registry 2.8   (label gw-sidecar)
#   2. bundled: gateway with its own in-process registry            (label gw-bundled)
# then prints gateway / reference ratios, each pair from the SAME run, against the issue's
# targets (bench/lib/ratios.sh). See bench/README.md.
#
# Usage, from the repository root:  bash bench/ref.sh
# Knobs (environment; every REF_* knob of the harness passes through):
#   PCB_OUT=/tmp/portcullis-bench   results: <mode>/results.tsv, <mode>/runs/<stamp>/, ratios.md
#   PCB_MODES="sidecar bundled"     which modes to run
#   PCB_GW_PORT=9443                gateway port
#   PCB_GW_BIN=/tmp/portcullis-gw   gateway binary; PCB_BUILD=0 to use it as is
#   PCB_RATIOS_ONLY=1               only recompute the ratio table from PCB_OUT
#   REF_TARGETS                     default "direct nginx-bcrypt5 nginx-bcrypt10 gw-<mode>-bcrypt5 gw-<mode>-bcrypt10"
#   REF_REG_PORT                    default 5000, or the next free of 5100, 5200, ... if 5000 is taken
# A full run (REF_SECTIONS and REF_TARGETS unset) replaces <mode>/results.tsv. A partial rerun
# (either set) replaces only the rows it measured, keyed by section/target/proto/tool, so rerun
# the reference and the gateway target together to keep each ratio within one run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
HARNESS=$(cd "$ROOT/../shared/bench/ref" && pwd)/run.sh
OUT=${PCB_OUT:-/tmp/portcullis-bench}
MODES=${PCB_MODES:-"sidecar bundled"}
GW_PORT=${PCB_GW_PORT:-9443}
GW_BIN=${PCB_GW_BIN:-/tmp/portcullis-gw}
BUILD=${PCB_BUILD:-1}
PARTIAL=0
if [ -n "${REF_SECTIONS:-}" ] || [ -n "${REF_TARGETS:-}" ]; then PARTIAL=1; fi

log() { printf '[%s] ref.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

mkdir -p "$OUT"
if [ "${PCB_RATIOS_ONLY:-0}" = 1 ]; then bash "$HERE/lib/ratios.sh" "$OUT"; exit 0; fi

if [ "$BUILD" = 1 ]; then
  log "building $GW_BIN from $ROOT"
  (cd "$ROOT" && go build -o "$GW_BIN" ./cmd/gateway)
fi
[ -x "$GW_BIN" ] || die "no gateway binary at $GW_BIN"
REV="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY=$(cd "$ROOT" && git status --porcelain 2>/dev/null | wc -l)
[ "$DIRTY" -gt 0 ] && REV="$REV+$DIRTY-uncommitted"

if [ -z "${REF_REG_PORT:-}" ]; then
  REF_REG_PORT=5000
  while port_busy "$REF_REG_PORT"; do REF_REG_PORT=$((REF_REG_PORT == 5000 ? 5100 : REF_REG_PORT + 100)); done
fi
export REF_REG_PORT
export REF_SCRATCH=${REF_SCRATCH:-$OUT/refbench}

# The default policy lets a user push only under <user>/; the harness pushes to test/...
printf 'admins: [bench5, bench10]\n' > "$OUT/groups.yaml"
export PCB_GW_BIN=$GW_BIN PCB_GW_PORT=$GW_PORT PCB_GROUPS=$OUT/groups.yaml
GW_SERVE='exec "$PCB_GW_BIN" serve --listen "127.0.0.1:$PCB_GW_PORT" --data "$PCB_DATA" --tls files --tls-cert "$REF_CERT" --tls-key "$REF_KEY" --htpasswd "$REF_HTPASSWD" --groups "$PCB_GROUPS" --log-level warn'

cleanup() {
  set +e
  [ "${PCB_KEEP_DATA:-0}" = 1 ] || rm -rf "$OUT/gw-data-sidecar" "$OUT/gw-data-bundled"
}
trap cleanup EXIT

merge() { # merge NEW.tsv STAMP DEST.tsv : add a run column; partial runs keep the rows they did not measure
  local new=$1 stamp=$2 dest=$3 tmp=$3.tmp
  { head -1 "$new" | sed 's/$/\trun/'
    if [ "$PARTIAL" = 1 ] && [ -s "$dest" ]; then
      awk -F'\t' 'NR==FNR{if(FNR>1)seen[$1 FS $2 FS $3 FS $4]=1; next} FNR>1 && !seen[$1 FS $2 FS $3 FS $4]' "$new" "$dest"
    fi
    tail -n +2 "$new" | sed "s/\$/\t$stamp/"
  } > "$tmp"
  mv "$tmp" "$dest"
}

rc_all=0
for mode in $MODES; do
  case $mode in sidecar|bundled) ;; *) die "unknown mode $mode (sidecar, bundled)" ;; esac
  port_busy "$GW_PORT" && die "127.0.0.1:$GW_PORT is in use (set PCB_GW_PORT)"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  dir=$OUT/$mode; run=$dir/runs/$stamp
  mkdir -p "$run"
  export PCB_DATA=$OUT/gw-data-$mode
  rm -rf "$PCB_DATA"
  export GW_NAME=gw-$mode GW_URL=https://127.0.0.1:$GW_PORT
  # bundled: the harness sees that the gateway lacks test/big:1 and copies it in (as bench5)
  # before phase (a).
  GW_CMD=$GW_SERVE
  [ "$mode" = sidecar ] && GW_CMD="$GW_SERVE --upstream \"\$REF_UPSTREAM\""
  export GW_CMD
  targets=${REF_TARGETS:-"direct nginx-bcrypt5 nginx-bcrypt10 gw-$mode-bcrypt5 gw-$mode-bcrypt10"}
  log "$mode: harness run $stamp (registry port $REF_REG_PORT, gateway $GW_URL, targets: $targets, sections: ${REF_SECTIONS:-a b c})"
  rc=0
  REF_TARGETS=$targets bash "$HARNESS" > "$run/harness.log" 2>&1 || rc=$?
  cleanup
  cp "$REF_SCRATCH/results/"* "$run/" 2>/dev/null || true
  cp "$REF_SCRATCH/logs/"* "$run/" 2>/dev/null || true
  if [ "$rc" != 0 ] || [ ! -s "$run/results.tsv" ]; then
    log "$mode: harness failed (exit $rc); see $run/harness.log"; tail -5 "$run/harness.log" >&2; rc_all=1; continue
  fi
  merge "$run/results.tsv" "$stamp" "$dir/results.tsv"
  log "$mode: done; summary in $run/summary.md"
done

{
  echo "# Portcullis vs nginx reference: ratios"
  echo
  echo "- $(date -u +%Y-%m-%dT%H:%M:%SZ), gateway $REV ($GW_BIN), --log-level warn, registry port $REF_REG_PORT"
  echo "- results: $OUT/{sidecar,bundled}/results.tsv, full summaries in $OUT/<mode>/runs/<stamp>/summary.md"
  echo
  bash "$HERE/lib/ratios.sh" "$OUT"
} | tee "$OUT/ratios.md"
exit $rc_all

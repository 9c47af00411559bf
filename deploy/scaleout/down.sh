#!/usr/bin/env bash
# Tears a topology down completely:  deploy/scaleout/down.sh sidecar|bundled
# `compose down -v --remove-orphans`, then checks that no container, network or volume of
# the project is left (exit 1 naming what is, after removing it) and removes
# $SCALEOUT_STATE. Images stay (SCALEOUT_RMI=1 removes this tag's images too).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
topo=${1:?usage: down.sh sidecar|bundled}
export SCALEOUT_PROJECT=${SCALEOUT_PROJECT:-portcullis-scaleout-$topo}
export SCALEOUT_STATE=${SCALEOUT_STATE:-/tmp/portcullis-scaleout/$SCALEOUT_PROJECT}
export SCALEOUT_TAG=${SCALEOUT_TAG:-dev}
. "$here/lib.sh"
t0=$(date +%s%N)
# compose needs the variables the file requires even to tear down.
export SCALEOUT_HTTP_SECRET=${SCALEOUT_HTTP_SECRET:-$(sed -n 's/^SCALEOUT_HTTP_SECRET=//p' "$SCALEOUT_STATE/compose.env" 2>/dev/null)}
export SCALEOUT_HTTP_SECRET=${SCALEOUT_HTTP_SECRET:-unused}
mkdir -p "$SCALEOUT_STATE/identity" "$SCALEOUT_STATE/tls"
for gw in gw1 gw2; do touch "$SCALEOUT_STATE/$gw.env"; done
compose "$topo" --profile maintenance down -v --remove-orphans -t 20 2>&1 | grep -v '^$' || true
left=0
label=label=com.docker.compose.project=$SCALEOUT_PROJECT
for kind in container network volume; do
  case $kind in
    container) ids=$(docker ps -aq --filter "$label") ;;
    *) ids=$(docker "$kind" ls -q --filter "$label") ;;
  esac
  if [ -n "$ids" ]; then
    echo "down.sh: left behind: $kind $(echo $ids)" >&2; left=1
    docker "$kind" rm -f $ids >/dev/null 2>&1 || true
  fi
done
rm -rf "$SCALEOUT_STATE"
if [ "${SCALEOUT_RMI:-0}" = 1 ]; then
  for img in gateway registry haproxy versitygw; do docker rmi -f "portcullis-scaleout-$img:$SCALEOUT_TAG" >/dev/null 2>&1 || true; done
fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $left = 0 ] && echo "down: $SCALEOUT_PROJECT removed, nothing left ($((ms/1000)).$(printf '%03d' $((ms%1000))) s)"
exit $left

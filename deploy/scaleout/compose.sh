#!/usr/bin/env bash
# Runs docker-compose on a topology up.sh started, with its project name and variables:
#   deploy/scaleout/compose.sh bundled ps
#   deploy/scaleout/compose.sh bundled stop gw1 gw2
#   deploy/scaleout/compose.sh bundled --profile maintenance run --rm gc --delete
# Same SCALEOUT_PROJECT / SCALEOUT_STATE / SCALEOUT_TAG as given to up.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
topo=${1:?usage: compose.sh sidecar|bundled ARGS...}; shift
export SCALEOUT_PROJECT=${SCALEOUT_PROJECT:-portcullis-scaleout-$topo}
export SCALEOUT_STATE=${SCALEOUT_STATE:-/tmp/portcullis-scaleout/$SCALEOUT_PROJECT}
export SCALEOUT_TAG=${SCALEOUT_TAG:-dev}
[ -f "$SCALEOUT_STATE/compose.env" ] || { echo "compose.sh: no $SCALEOUT_STATE/compose.env (is $topo up?)" >&2; exit 1; }
. "$here/lib.sh"
compose "$topo" "$@"

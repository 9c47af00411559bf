#!/usr/bin/env bash
# seed-bundled.sh: copy the harness's test image (test/big:1) into the gateway's bundled
# registry, so that the harness's HEAD and GET phases find it there.
#
# Why: in bundled mode the gateway does not see the harness's registry. The harness pushes
# test/big:1 to nginx (and so to its registry), and pushes a *different* image (test/big-gw,
# fresh digests) through the gateway; its (a) and (b) phases then read test/big:1 and its
# layer from every target. ref.sh starts this script from GW_CMD, detached, before it execs
# the gateway. The script waits until the harness's registry has test/big:1 and copies it
# registry -> gateway with skopeo (a registry-to-registry copy keeps the manifest bytes, so
# digests are identical), then checks the gateway's manifest digest.
#
# Environment: REF_UPSTREAM, REF_SCRATCH (from run.sh), PCB_GW_PORT, PCB_POLICY, PCB_SEED_DONE.
set -euo pipefail
: "${REF_UPSTREAM:?}" "${REF_SCRATCH:?}" "${PCB_GW_PORT:?}" "${PCB_POLICY:?}" "${PCB_SEED_DONE:?}"
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
reg=${REF_UPSTREAM#http://}
gw=127.0.0.1:$PCB_GW_PORT
digest_of() { tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}'; }

want=
for _ in $(seq 900); do   # up to 180 s: the harness builds and pushes the image first
  want=$(curl -sfI -H "Accept: $ACCEPT" "$REF_UPSTREAM/v2/test/big/manifests/1" 2>/dev/null | digest_of || true)
  [ -n "$want" ] && break
  sleep 0.2
done
[ -n "$want" ] || { echo "seed: test/big:1 never appeared in $REF_UPSTREAM"; exit 1; }

t0=$(date +%s.%N)
skopeo --policy "$PCB_POLICY" copy -q --src-tls-verify=false \
  --dest-creds bench5:bench5pass --dest-cert-dir "$REF_SCRATCH/certs.d" \
  "docker://$reg/test/big:1" "docker://$gw/test/big:1"
got=$(curl -sI --cacert "$REF_SCRATCH/certs.d/ca.crt" -u bench5:bench5pass -H "Accept: $ACCEPT" \
  "https://$gw/v2/test/big/manifests/1" | digest_of)
[ "$got" = "$want" ] || { echo "seed: gateway has test/big:1 as '$got', registry as $want"; exit 1; }
echo "seed: test/big:1 $want copied in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')s" | tee "$PCB_SEED_DONE"

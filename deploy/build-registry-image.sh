#!/usr/bin/env bash
# Builds a registry:2-compatible image from Debian's docker-registry package (distribution
# 2.8), pulling nothing: the binary and the shared libraries ldd lists, a configuration
# serving /var/lib/registry on :5000 with deletes enabled, FROM scratch, non-root (65532).
# It stands in for the registry:2 image of compose.yaml's sidecar profile where no image
# can be pulled.
#   deploy/build-registry-image.sh [TAG]   (default: $PORTCULLIS_REGISTRY_IMAGE or portcullis-registry:2.8)
set -euo pipefail
die() { echo "build-registry-image: $*" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tag=${1:-${PORTCULLIS_REGISTRY_IMAGE:-portcullis-registry:2.8}}
bin=$(command -v docker-registry) || die "docker-registry is not installed (apt-get install docker-registry)"
command -v docker >/dev/null || die "docker is not installed"
. "$here/lib/stage.sh"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/etc/docker/registry" "$ctx/data"
nlibs=$(stage_binary "$bin" /usr/bin/docker-registry "$root") || die "staging $bin failed"
cat > "$root/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
echo 'registry:x:65532:65532:registry:/var/lib/registry:/usr/bin/docker-registry' > "$root/etc/passwd"
echo 'registry:x:65532:' > "$root/etc/group"
docker build -q -f "$here/registry.Dockerfile" -t "$tag" "$ctx"
echo "build-registry-image: built $tag from $($bin --version 2>/dev/null | awk '{print $NF}') ($nlibs libraries)"

#!/usr/bin/env bash
# Builds the scale-out topologies' images locally, pulling no base image: each is FROM
# scratch around a binary from this machine.
#   deploy/scaleout/build-images.sh [TAG]        (default: $SCALEOUT_TAG or dev)
#
#   portcullis-scaleout-gateway:TAG    the gateway: deploy/build-image.sh's image of this checkout
#   portcullis-scaleout-registry:TAG   Debian's docker-registry (distribution 2.8): deploy/build-registry-image.sh
#   portcullis-scaleout-haproxy:TAG    Debian's haproxy + its libraries (load balancers, S3 shim)
#   portcullis-scaleout-versitygw:TAG  versitygw (S3 on a directory), static, from versitygw.sh's cache
#
# SCALEOUT_IMAGES limits the set ("gateway haproxy" for the bundled topology). Every image
# runs as 65532 and keeps its state under /data, owned by 65532, so a named volume mounted
# there starts out writable. Needs docker, go, ldd; apt-get installs docker-registry and
# haproxy when missing (as root).
set -euo pipefail
die() { echo "build-images: $*" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=${1:-${SCALEOUT_TAG:-dev}}
images=${SCALEOUT_IMAGES:-gateway registry haproxy versitygw}
command -v docker >/dev/null || die "docker is not installed"

need_apt=()
for img in $images; do
  case $img in
    registry) command -v docker-registry >/dev/null || need_apt+=(docker-registry) ;;
    haproxy) command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy) ;;
  esac
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "build-images: apt-get install ${need_apt[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

. "$root/deploy/lib/stage.sh"
# stage BIN DEST CTX: BIN and its libraries in CTX/rootfs (deploy/lib/stage.sh), a passwd
# entry for 65532 and an empty CTX/data for the image's /data.
stage() {
  local ctx=$3
  mkdir -p "$ctx/rootfs/etc" "$ctx/data"
  stage_binary "$1" "$2" "$ctx/rootfs" >/dev/null || die "staging $1 failed"
  echo 'scaleout:x:65532:65532::/data:/nonexistent' >"$ctx/rootfs/etc/passwd"
  echo 'scaleout:x:65532:' >"$ctx/rootfs/etc/group"
}

# build NAME CTX ENTRYPOINT_JSON [CHECK_JSON]: FROM scratch, the staged rootfs, /data owned by
# 65532; CHECK runs once at build time so a binary that cannot start here fails the build.
build() {
  local name=$1 ctx=$2 entry=$3 check=${4:-}
  {
    echo "FROM scratch"
    echo "COPY rootfs/ /"
    echo "COPY --chown=65532:65532 data/ /data/"
    [ -n "$check" ] && echo "RUN $check"
    echo "USER 65532:65532"
    echo "WORKDIR /data"
    echo "ENTRYPOINT $entry"
    echo 'LABEL org.opencontainers.image.source="portcullis deploy/scaleout"'
  } >"$ctx/Dockerfile"
  docker build -q -t "portcullis-scaleout-$name:$tag" "$ctx" >/dev/null 2>"$ctx/build.log" ||
    { cat "$ctx/build.log" >&2; die "docker build of $name failed"; }
  local size
  size=$(docker image inspect --format '{{.Size}}' "portcullis-scaleout-$name:$tag")
  echo "build-images: portcullis-scaleout-$name:$tag ($((size / 1024 / 1024)) MiB)"
}

for img in $images; do
  ctx=$work/$img
  mkdir -p "$ctx"
  case $img in
    gateway)
      # The deployment image itself (deploy/build-image.sh): CA bundle, HEALTHCHECK, version.
      "$root/deploy/build-image.sh" "portcullis-scaleout-gateway:$tag" | grep 'built' | sed 's/^build-image/build-images/' ;;
    registry)
      # registry:2's stand-in (deploy/build-registry-image.sh); the topology mounts its config.
      "$root/deploy/build-registry-image.sh" "portcullis-scaleout-registry:$tag" | sed 's/^build-registry-image/build-images/' ;;
    haproxy)
      stage "$(command -v haproxy || echo /usr/sbin/haproxy)" /usr/sbin/haproxy "$ctx"
      build haproxy "$ctx" '["/usr/sbin/haproxy", "-W", "-db"]' '["/usr/sbin/haproxy", "-v"]' ;;
    versitygw)
      stage "$("$here/versitygw.sh")" /usr/bin/versitygw "$ctx"
      # The bucket the registries share: posix buckets are directories of the root.
      mkdir -p "$ctx/data/registry"
      build versitygw "$ctx" '["/usr/bin/versitygw"]' '["/usr/bin/versitygw", "--version"]' ;;
    *) die "unknown image $img (gateway, registry, haproxy, versitygw)" ;;
  esac
done

#!/usr/bin/env bash
# Builds the Portcullis container image from this checkout, pulling no base image:
#   deploy/build-image.sh [TAG]          (default: $PORTCULLIS_IMAGE or portcullis:latest)
# It compiles a static binary (CGO_ENABLED=0, -trimpath, the version from git stamped in),
# stages it with the host's CA bundle (for ACME and https upstreams), a passwd entry for the
# gateway's user (65532) and an empty /data owned by that user in a temporary build
# context, and builds deploy/Dockerfile (FROM scratch) from there. Needs go, docker and
# the host's ca-certificates.
set -euo pipefail
die() { echo "build-image: $*" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag=${1:-${PORTCULLIS_IMAGE:-portcullis:latest}}
[ -f "$root/go.mod" ] && [ -d "$root/cmd/gateway" ] || die "$root is not a Portcullis checkout"
command -v go >/dev/null || die "go is not installed"
command -v docker >/dev/null || die "docker is not installed"
bundle=
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
  [ -s "$f" ] && { bundle=$f; break; }
done
[ -n "$bundle" ] || die "no CA bundle on this host (apt-get install ca-certificates)"

version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/data"
echo "build-image: go build (static, version $version)"
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" \
  -o "$ctx/rootfs/gateway" ./cmd/gateway)
cp "$bundle" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
echo 'portcullis:x:65532:65532:Portcullis gateway:/data:/gateway' > "$ctx/rootfs/etc/passwd"
echo 'portcullis:x:65532:' > "$ctx/rootfs/etc/group"
echo "build-image: docker build -t $tag"
docker build -q -f "$root/deploy/Dockerfile" --build-arg "VERSION=$version" -t "$tag" "$ctx"
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "build-image: built $tag ($((size / 1024 / 1024)) MiB)"

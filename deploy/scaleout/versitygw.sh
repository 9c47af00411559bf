#!/usr/bin/env bash
# Prints the path of a static versitygw binary at the pinned version, building it with
# `go install` only when the cache does not hold it yet (about 2.5 minutes and 750 MB of
# module and build cache on a cold 2-core machine; seconds afterwards).
#   deploy/scaleout/versitygw.sh          -> $SCALEOUT_CACHE/versitygw-v1.8.0
# SCALEOUT_CACHE defaults to ~/.cache/portcullis-scaleout; VERSITYGW_VERSION to v1.8.0.
set -euo pipefail
version=${VERSITYGW_VERSION:-v1.8.0}
cache=${SCALEOUT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portcullis-scaleout}
bin=$cache/versitygw-$version
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "versitygw.sh: go is not installed" >&2; exit 1; }
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "versitygw.sh: go install github.com/versity/versitygw/cmd/versitygw@$version (cold: ~2.5 min)" >&2
  start=$(date +%s)
  # Static (no cgo): the binary goes into a FROM-scratch image as it is.
  CGO_ENABLED=0 GOBIN=$tmp GOFLAGS=-trimpath go install -ldflags "-s -w" \
    "github.com/versity/versitygw/cmd/versitygw@$version" >&2
  mv "$tmp/versitygw" "$bin"
  echo "versitygw.sh: built in $(( $(date +%s) - start )) s" >&2
fi
echo "$bin"

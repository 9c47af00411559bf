# Sourced by the image builders (deploy/build-registry-image.sh, deploy/scaleout/build-images.sh):
# staging a dynamically linked binary from this machine into a FROM scratch image's root.

# stage_binary BIN DEST ROOTFS: BIN at ROOTFS/DEST, with every shared library ldd lists (and
# the dynamic loader) at its own path; a static binary brings none. Prints how many
# libraries it copied.
stage_binary() {
  local bin=$1 dest=$2 rootfs=$3 lib n=0
  command -v ldd >/dev/null || { echo "stage_binary: ldd is not installed" >&2; return 1; }
  mkdir -p "$rootfs$(dirname "$dest")" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp -L "$bin" "$rootfs$dest"
  for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
    n=$((n + 1))
  done
  echo "$n"
}

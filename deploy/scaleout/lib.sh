# Sourced by up.sh and down.sh.
compose_cmd() {
  if [ -n "${SCALEOUT_COMPOSE:-}" ]; then echo "$SCALEOUT_COMPOSE"
  elif command -v docker-compose >/dev/null; then echo docker-compose
  else echo docker compose; fi
}
# compose TOPOLOGY ARGS...: the compose command on this project and topology file.
compose() {
  local topo=$1; shift
  # shellcheck disable=SC2046
  SCALEOUT_HTTP_SECRET=${SCALEOUT_HTTP_SECRET:-$(sed -n 's/^SCALEOUT_HTTP_SECRET=//p' "$SCALEOUT_STATE/compose.env" 2>/dev/null)} \
    $(compose_cmd) -p "$SCALEOUT_PROJECT" -f "$here/$topo.yaml" "$@"
}
# has_flag NAME: whether the gateway image knows --NAME.
has_flag() {
  docker run --rm --network none "portcullis-scaleout-gateway:$SCALEOUT_TAG" serve --help 2>&1 | grep -q -- "-$1\b"
}

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
# has_flag NAME: whether the gateway image knows --NAME. The help is read whole first:
# `grep -q` in the pipe would exit at the first match and, under pipefail, docker's next
# write (SIGPIPE) would make the answer "no".
has_flag() {
  local help
  help=$(docker run --rm --network none "portcullis-scaleout-gateway:$SCALEOUT_TAG" serve --help 2>&1 || true)
  grep -q -- "-$1\b" <<<"$help"
}

#!/usr/bin/env bash
# bench/get-ceiling.sh: how fast can ANY TLS server hand a 64 MiB blob to the harness's clients
# on this machine? One run, same certificate (RSA-4096, as ../shared/bench/ref uses), same
# clients (curl h1.1 and h2, a new process and TLS handshake each; wrk -t1 -c2 keep-alive):
#
#   nginx-proxy    the reference: nginx + auth_basic (cost 5) -> registry 2.8, the shared
#                  harness's own config (../shared/bench/ref/conf/nginx.conf.in)
#   nginx-static   nginx serving the same bytes from a file, no auth, no proxy: an upper
#                  bound for what a TLS server can do here with these clients
#   gw-bundled     the gateway, bundled registry, auth on (cost 5)
#   gw-sidecar     the gateway in front of the same registry 2.8, auth on (cost 5)
#
# Every row is divided by nginx-proxy. If nginx-static is below 2x, no server can meet a
# "blob GET >= 2x nginx" target on this machine: the client's decryption and syscalls, not the
# server, set the ceiling. Usage, from the repository root: bash bench/get-ceiling.sh
# Knobs: PCB_CEIL_DIR (scratch, /tmp/pcb-ceiling), PCB_CEIL_REPS (curl runs, 5),
# PCB_CEIL_WRK_SECS (10), PCB_GW_BIN (a gateway binary to use; default: built from this tree).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REF=$(cd "$ROOT/../shared/bench/ref" && pwd)
S=${PCB_CEIL_DIR:-/tmp/pcb-ceiling}
REPS=${PCB_CEIL_REPS:-5}
WRK_SECS=${PCB_CEIL_WRK_SECS:-10}
GW_BIN=${PCB_GW_BIN:-$S/gateway}
REG_PORT=5601 PROXY_PORT=9601 NOAUTH_PORT=9602 TUNED_PORT=9603 STATIC_PORT=9604 BUNDLED_PORT=9605 SIDECAR_PORT=9606

log() { printf '[%s] get-ceiling: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for t in docker-registry nginx htpasswd curl wrk openssl; do command -v "$t" >/dev/null || die "$t not installed (see .ci/run)"; done
for p in $REG_PORT $PROXY_PORT $NOAUTH_PORT $TUNED_PORT $STATIC_PORT $BUNDLED_PORT $SIDECAR_PORT; do
  ! ss -Hltn "sport = :$p" | grep -q . || die "port $p is in use"
done

PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup EXIT

rm -rf "$S" && mkdir -p "$S"/{etc,run,logs,data,static,gw-bundled,gw-sidecar,nginx} # nginx makes its temp dirs, for its worker user
chmod 755 "$S" "$S/static"
if [ "${PCB_BUILD:-0}" = 1 ] || [ ! -x "$GW_BIN" ]; then
  log "building the gateway"
  (cd "$ROOT" && go build -o "$GW_BIN" ./cmd/gateway)
fi

log "certificate (RSA-4096, as the harness), htpasswd (bench5, cost 5), configs"
openssl req -x509 -newkey rsa:4096 -sha256 -days 2 -nodes -keyout "$S/etc/domain.key" -out "$S/etc/domain.crt" \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
htpasswd -B -b -c "$S/etc/htpasswd" bench5 bench5pass 2>/dev/null
printf 'admins: [bench5]\n' > "$S/etc/groups.yaml"
sed -e "s#@SCRATCH@#$S#g" -e "s#@REG_PORT@#$REG_PORT#g" "$REF/conf/registry.yml.in" > "$S/etc/registry.yml"
sed -e "s#@SCRATCH@#$S#g" -e "s#@REG_PORT@#$REG_PORT#g" -e "s#@NGINX_PORT@#$PROXY_PORT#g" \
  -e "s#@NOAUTH_PORT@#$NOAUTH_PORT#g" -e "s#@TUNED_PORT@#$TUNED_PORT#g" "$REF/conf/nginx.conf.in" > "$S/etc/nginx.conf"
cat > "$S/etc/static.conf" <<EOF
daemon off;
worker_processes auto;
user www-data;
pid $S/run/static.pid;
error_log $S/logs/static-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $S/nginx/client_body;
  proxy_temp_path $S/nginx/proxy;
  fastcgi_temp_path $S/nginx/fastcgi;
  uwsgi_temp_path $S/nginx/uwsgi;
  scgi_temp_path $S/nginx/scgi;
  server {
    listen 127.0.0.1:$STATIC_PORT ssl http2;
    ssl_certificate $S/etc/domain.crt;
    ssl_certificate_key $S/etc/domain.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers 'EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH';
    ssl_prefer_server_ciphers on;
    root $S/static;
  }
}
EOF
chmod 644 "$S/etc/"*

log "starting registry 2.8, nginx (reference config), nginx (static), two gateways"
docker-registry serve "$S/etc/registry.yml" > "$S/logs/registry.log" 2>&1 & PIDS+=($!)
nginx -c "$S/etc/nginx.conf" -p "$S/nginx" > "$S/logs/nginx.out" 2>&1 & PIDS+=($!)
nginx -c "$S/etc/static.conf" -p "$S/nginx" > "$S/logs/static.out" 2>&1 & PIDS+=($!)
GW=(serve --tls files --tls-cert "$S/etc/domain.crt" --tls-key "$S/etc/domain.key" --htpasswd "$S/etc/htpasswd" --groups "$S/etc/groups.yaml" --log-level warn)
"$GW_BIN" "${GW[@]}" --listen 127.0.0.1:$BUNDLED_PORT --data "$S/gw-bundled" > "$S/logs/gw-bundled.log" 2>&1 & PIDS+=($!)
"$GW_BIN" "${GW[@]}" --listen 127.0.0.1:$SIDECAR_PORT --data "$S/gw-sidecar" --upstream http://127.0.0.1:$REG_PORT > "$S/logs/gw-sidecar.log" 2>&1 & PIDS+=($!)
for i in $(seq 50); do
  ok=1
  for p in $REG_PORT $PROXY_PORT $STATIC_PORT $BUNDLED_PORT $SIDECAR_PORT; do ss -Hltn "sport = :$p" | grep -q . || ok=0; done
  [ $ok = 1 ] && break; sleep 0.2
done
[ $ok = 1 ] || die "a server did not start; see $S/logs"

C=(curl -sS -H 'Expect:' -u bench5:bench5pass --cacert "$S/etc/domain.crt")
head -c 64M /dev/urandom > "$S/static/blob"
chmod 644 "$S/static/blob"
DG=sha256:$(sha256sum "$S/static/blob" | cut -d' ' -f1)
push() { # base
  local loc q
  loc=$("${C[@]}" -X POST -D - -o /dev/null "$1/v2/test/big/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  case $loc in http*) ;; *) loc=$1$loc ;; esac
  case $loc in *\?*) q='&' ;; *) q='?' ;; esac
  [ "$("${C[@]}" -X PUT -T "$S/static/blob" -H 'Content-Type: application/octet-stream' -o /dev/null -w '%{http_code}' "$loc${q}digest=$DG")" = 201 ] || die "push to $1 failed"
}
log "pushing one 64 MiB blob through nginx (to registry 2.8) and through the bundled gateway"
push https://127.0.0.1:$PROXY_PORT
push https://127.0.0.1:$BUNDLED_PORT

declare -A URL=(
  [nginx-proxy]=https://127.0.0.1:$PROXY_PORT/v2/test/big/blobs/$DG
  [nginx-static]=https://127.0.0.1:$STATIC_PORT/blob
  [gw-bundled]=https://127.0.0.1:$BUNDLED_PORT/v2/test/big/blobs/$DG
  [gw-sidecar]=https://127.0.0.1:$SIDECAR_PORT/v2/test/big/blobs/$DG
)
TARGETS=(nginx-proxy nginx-static gw-bundled gw-sidecar)
for t in "${TARGETS[@]}"; do # each must hand back the exact bytes
  got=$("${C[@]}" "${URL[$t]}" | sha256sum | cut -d' ' -f1)
  [ "sha256:$got" = "$DG" ] || die "$t returned other bytes"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
curl_mbs() { # url proto -> median MB/s over REPS fresh processes
  for _ in $(seq "$REPS"); do
    "${C[@]}" "$2" -o /dev/null -w '%{speed_download}\n' "$1" | awk '{printf "%.1f\n", $1/1e6}'
  done | median
}
wrk_mbs() {
  WRK_AUTH=$(printf bench5:bench5pass | base64) wrk -t1 -c2 -d"${WRK_SECS}s" --timeout 60s -s "$REF/lib/wrk.lua" "$1" |
    awk '/^wrk_result/ {for (i=2;i<=NF;i++) {split($i,kv,"="); v[kv[1]]=kv[2]} printf "%.1f\n", v["bytes"]/v["secs"]/1e6}'
}
declare -A R
for t in "${TARGETS[@]}"; do
  log "measuring $t"
  R[$t,h1]=$(curl_mbs "${URL[$t]}" --http1.1)
  R[$t,h2]=$(curl_mbs "${URL[$t]}" --http2)
  R[$t,wrk]=$(wrk_mbs "${URL[$t]}")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a/b}'; }
{
  echo "### GET 64 MiB over TLS: the ceiling ($(date -u +%Y-%m-%dT%H:%MZ), gateway $(cd "$ROOT" && git rev-parse --short HEAD))"
  echo
  echo "MB/s (10^6 B/s); curl: median of $REPS new processes; wrk: -t1 -c2 ${WRK_SECS}s keep-alive. Ratio = row / nginx-proxy."
  echo
  echo "| target | curl h1.1 | ratio | curl h2 | ratio | wrk | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for t in "${TARGETS[@]}"; do
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" \
      "${R[$t,h1]}" "$(ratio "${R[$t,h1]}" "${R[nginx-proxy,h1]}")" \
      "${R[$t,h2]}" "$(ratio "${R[$t,h2]}" "${R[nginx-proxy,h2]}")" \
      "${R[$t,wrk]}" "$(ratio "${R[$t,wrk]}" "${R[nginx-proxy,wrk]}")"
  done
} | tee "$S/ceiling.md"

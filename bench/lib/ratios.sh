#!/usr/bin/env bash
# ratios.sh OUTDIR: the issue's targets as ratios, gateway figure / reference figure, each
# pair taken from the same harness run (OUTDIR/<mode>/results.tsv, written by bench/ref.sh).
# Prints a markdown table with PASS/MISS per row, plus a PASS/MISS count.
set -euo pipefail
OUT=${1:?usage: ratios.sh OUTDIR}

# mode | measure | section | gateway target suffix | proto | tool | field | reference target | ref proto | ref tool | minimum ratio
# field: rps or MBps. Minimum "-" = shown for context, no target.
SPEC='bundled|HEAD manifest, cost-10 user, h1.1 (hload) vs direct registry|a|bcrypt10|h1.1|hload-HEAD|rps|direct|h1.1|hload-HEAD|5
bundled|HEAD manifest, cost-10 user, h2 (h2load) vs direct registry h1.1|a|bcrypt10|h2|h2load-HEAD|rps|direct|h1.1|hload-HEAD|5
bundled|GET 64 MiB blob, curl xN h1.1|b|bcrypt5|h1.1|curl-xN|MBps|nginx-bcrypt5|h1.1|curl-xN|2
bundled|GET 64 MiB blob, curl xN h2|b|bcrypt5|h2|curl-xN|MBps|nginx-bcrypt5|h2|curl-xN|2
bundled|GET 64 MiB blob, wrk -c2 keep-alive h1.1|b|bcrypt5|h1.1|wrk-c2|MBps|nginx-bcrypt5|h1.1|wrk-c2|2
bundled|upload 256 MiB chunked, h1.1|c|bcrypt5|h1.1|curl-chunked|MBps|nginx-bcrypt5|h1.1|curl-chunked|2
bundled|upload 256 MiB chunked, h2|c|bcrypt5|h2|curl-chunked|MBps|nginx-bcrypt5|h2|curl-chunked|2
bundled|upload 256 MiB mono, h1.1 (context)|c|bcrypt5|h1.1|curl-mono|MBps|nginx-bcrypt5|h1.1|curl-mono|-
bundled|upload 256 MiB mono, h2 (context)|c|bcrypt5|h2|curl-mono|MBps|nginx-bcrypt5|h2|curl-mono|-
sidecar|HEAD manifest, cost-10 user, h1.1 (hload) vs nginx cost 10|a|bcrypt10|h1.1|hload-HEAD|rps|nginx-bcrypt10|h1.1|hload-HEAD|20
sidecar|HEAD manifest, cost-10 user, h2 (h2load) vs nginx cost 10|a|bcrypt10|h2|h2load-HEAD|rps|nginx-bcrypt10|h2|h2load-HEAD|20
sidecar|GET 64 MiB blob, curl xN h1.1|b|bcrypt5|h1.1|curl-xN|MBps|nginx-bcrypt5|h1.1|curl-xN|1
sidecar|GET 64 MiB blob, curl xN h2|b|bcrypt5|h2|curl-xN|MBps|nginx-bcrypt5|h2|curl-xN|1
sidecar|GET 64 MiB blob, wrk -c2 keep-alive h1.1|b|bcrypt5|h1.1|wrk-c2|MBps|nginx-bcrypt5|h1.1|wrk-c2|1
sidecar|upload 256 MiB mono, h1.1|c|bcrypt5|h1.1|curl-mono|MBps|nginx-bcrypt5|h1.1|curl-mono|1
sidecar|upload 256 MiB mono, h2|c|bcrypt5|h2|curl-mono|MBps|nginx-bcrypt5|h2|curl-mono|1
sidecar|upload 256 MiB chunked, h1.1|c|bcrypt5|h1.1|curl-chunked|MBps|nginx-bcrypt5|h1.1|curl-chunked|1
sidecar|upload 256 MiB chunked, h2|c|bcrypt5|h2|curl-chunked|MBps|nginx-bcrypt5|h2|curl-chunked|1'

table() {
echo "| mode | measure | gateway | reference | ratio | target | verdict | other %/busy % gw; ref | run gw; ref |"
echo "|---|---|---:|---:|---:|---:|---|---|---|"
for mode in bundled sidecar; do
  tsv=$OUT/$mode/results.tsv
  [ -s "$tsv" ] || { echo "| $mode | (no results: $tsv) | | | | | n/a | | |"; continue; }
  grep "^$mode|" <<<"$SPEC" | awk -F'|' -v mode="$mode" -v tsv="$tsv" '
    BEGIN {
      FS = "|"
      while ((getline line < tsv) > 0) {
        n = split(line, f, "\t"); if (f[1] == "section") continue
        sub(/^curl-x[0-9]+$/, "curl-xN", f[4])   # N = REF_GET_REPS
        k = f[1] SUBSEP f[2] SUBSEP f[3] SUBSEP f[4]
        rps[k] = f[5]; mbps[k] = f[8]; bad[k] = f[9]; oth[k] = f[14]; busy[k] = f[15]; run[k] = (n >= 17 ? f[17] : "-")
      }
    }
    function num(x) { return (x ~ /^[0-9.]+$/) }
    {
      gk = $3 SUBSEP "gw-" mode "-" $4 SUBSEP $5 SUBSEP $6
      rk = $3 SUBSEP $8 SUBSEP $9 SUBSEP $10
      gv = ($7 == "rps") ? rps[gk] : mbps[gk]; rv = ($7 == "rps") ? rps[rk] : mbps[rk]
      unit = ($7 == "rps") ? " req/s" : " MB/s"
      if (!num(gv) || !num(rv) || rv + 0 == 0) {
        printf "| %s | %s | %s | %s | - | %s | n/a | | |\n", mode, $2, gv, rv, $11; next
      }
      r = gv / rv; verdict = "info"
      if ($11 != "-") verdict = (r >= $11 + 0) ? "PASS" : "MISS"
      if (bad[gk] + 0 > 0 && verdict != "info") verdict = "MISS"   # a fast error is not a result
      if (bad[gk] + 0 > 0 || bad[rk] + 0 > 0) verdict = verdict " (bad " bad[gk] + 0 "/" bad[rk] + 0 ")"
      printf "| %s | %s | %s%s | %s%s | %.2fx | %s | %s | %s/%s; %s/%s | %s; %s |\n", mode, $2, gv, unit, rv, unit, r,
        ($11 == "-" ? "-" : ">= " $11 "x"), verdict, oth[gk], busy[gk], oth[rk], busy[rk], run[gk], run[rk]
    }
  '
done
}
t=$(table)
echo "$t"
echo
echo "$(grep -c '| PASS' <<<"$t" || true) PASS, $(grep -c '| MISS' <<<"$t" || true) MISS (rows with a target; \"bad N/M\" = non-2xx or wrong size on the gateway/reference side)"

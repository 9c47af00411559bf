#!/usr/bin/env bash
# The audit trail's cost, as ratios within one run: the gateway with --audit-log FILE
# --audit-pulls all against the same binary without an audit sink (bench/auditbench).
# Flags pass through, e.g. bash bench/audit.sh -rounds 5 -d 10s.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
go run ./bench/auditbench "$@"

#!/usr/bin/env bash
# Upload throughput over loopback mutual TLS into RocksDB with durable
# commit, and the server's peak RSS. Uses the real binaries, a --dev server
# and synthetic data.
#
#   bench/upload_bench.sh [--records N]     (default 1,000,000)
#
# Prints one summary line:
#   upload records=... upload_s=... records_per_s=... server_peak_rss_mib=...
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
SERVER="$BUILD_DIR/server/cohortlink-server"
RECORDS=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --records) RECORDS=$2; shift 2 ;;
    *) echo "usage: $0 [--records N]" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d)
trap '[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# About 1.55 police records per synthetic person; generate a margin.
PEOPLE=$(( RECORDS * 10 / 14 + 1000 ))
"$CL" synth --people "$PEOPLE" --out "$WORK/region" --format json > /dev/null
printf 'bench secret\n' > "$WORK/secret"
# Keep exactly RECORDS data rows.
head -n $(( RECORDS + 1 )) "$WORK/region/police.csv" > "$WORK/police.csv"
"$CL" encode --schema "$WORK/region/schema.json" --secret "$WORK/secret" \
  --input "$WORK/police.csv" --output "$WORK/police.clx" --report json > /dev/null

. deploy/dev-server.sh
start_dev_server "$SERVER" "$WORK/server" "$WORK/server.log"

START=$(date +%s.%N)
"$CL" upload --server "$ADDR" --tls "$WORK/server/dev-tls/police" --extract bench \
  "$WORK/police.clx" --format json > "$WORK/receipt.json"
END=$(date +%s.%N)
N=$(sed -n 's/.*"records": \([0-9]*\).*/\1/p' "$WORK/receipt.json")
RSS_KB=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")
awk -v n="$N" -v s="$START" -v e="$END" -v rss="$RSS_KB" 'BEGIN {
  t = e - s
  printf "upload records=%d upload_s=%.2f records_per_s=%.0f server_peak_rss_mib=%.0f\n",
         n, t, n / t, rss / 1024
}'

#!/usr/bin/env bash
# End-to-end linkage through the real binaries: synthetic extracts are
# encoded, uploaded to a --dev server over mutual TLS, linked in the
# background, exported and scored against the truth.
#
#   bench/linkage_bench.sh [--records N] [--parties 2|5] [--keep DIR]
#
# --parties 2 (default): the synthetic police records of a region split
#   into two extracts of N records each (alternate rows, so a person's
#   records fall on both sides), uploaded as two police extracts.
# --parties 5: a region sized so the five agencies hold about N records
#   in all, each uploaded with its own agency's certificate.
#
# Prints the time to upload, the time until the linkage is complete (from
# the first upload), the last linkage run's stages (from the server log),
# the server's peak RSS, and pairwise quality.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
SERVER="$BUILD_DIR/server/cohortlink-server"
RECORDS=1000000
PARTIES=2
KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --records) RECORDS=$2; shift 2 ;;
    --parties) PARTIES=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    *) echo "usage: $0 [--records N] [--parties 2|5] [--keep DIR]" >&2; exit 2 ;;
  esac
done
WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; [ -n "$KEEP" ] || rm -rf "$WORK"' EXIT
printf 'bench secret\n' > "$WORK/secret"

# Extracts: NAME AGENCY CSV, one per line.
: > "$WORK/extracts"
if [ "$PARTIES" = 2 ]; then
  # About 1.55 police records per synthetic person.
  PEOPLE=$(( RECORDS * 2 * 100 / 155 + 1000 ))
  "$CL" synth --people "$PEOPLE" --out "$WORK/region" --format json > /dev/null
  awk -v n="$RECORDS" -v dir="$WORK" 'NR == 1 { print > (dir "/a.csv"); print > (dir "/b.csv"); next }
    { if ((NR % 2) == 0) { if (a < n) { print > (dir "/a.csv"); a++ } }
      else if (b < n) { print > (dir "/b.csv"); b++ } }' "$WORK/region/police.csv"
  printf 'a police %s\nb police %s\n' "$WORK/a.csv" "$WORK/b.csv" >> "$WORK/extracts"
else
  # About 2.73 records per synthetic person over the five agencies.
  PEOPLE=$(( RECORDS * 100 / 273 + 1000 ))
  "$CL" synth --people "$PEOPLE" --out "$WORK/region" --format json > /dev/null
  for a in police probation prison health local-authority; do
    printf '%s %s %s\n' "$a" "$a" "$WORK/region/$a.csv" >> "$WORK/extracts"
  done
fi

KEYMAPS=()
while read -r name agency csv; do
  "$CL" encode --schema "$WORK/region/schema.json" --secret "$WORK/secret" \
    --input "$csv" --output "$WORK/$name.clx" --key-map "$WORK/$name.keys" \
    --report json > /dev/null
done < "$WORK/extracts"
# One key map per agency for `evaluate`.
for agency in $(awk '{ print $2 }' "$WORK/extracts" | sort -u); do
  first=1
  while read -r name ag csv; do
    [ "$ag" = "$agency" ] || continue
    if [ $first = 1 ]; then cat "$WORK/$name.keys"; first=0; else tail -n +2 "$WORK/$name.keys"; fi
  done < "$WORK/extracts" > "$WORK/$agency.map"
  KEYMAPS+=(--key-map "$agency=$WORK/$agency.map")
done

. deploy/dev-server.sh
start_dev_server "$SERVER" "$WORK/server" "$WORK/server.log"
TLS="$WORK/server/dev-tls"

START=$(date +%s.%N)
while read -r name agency csv; do
  "$CL" upload --server "$ADDR" --tls "$TLS/$agency" --extract "$name" \
    "$WORK/$name.clx" --format json > /dev/null
done < "$WORK/extracts"
UPLOADED=$(date +%s.%N)
"$CL" status --server "$ADDR" --tls "$TLS/admin" --wait 3600 > /dev/null
LINKED=$(date +%s.%N)
RSS_KB=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")

"$CL" export-links --server "$ADDR" --tls "$TLS/exporter" --out "$WORK/links.csv" > /dev/null
"$CL" evaluate --links "$WORK/links.csv" --truth "$WORK/region/truth.csv" \
  "${KEYMAPS[@]}" --format json > "$WORK/eval.json"

RECS=$(tail -n +2 "$WORK/links.csv" | wc -l)
RUNS=$(grep -c '"linkage run ' "$WORK/server.log" || true)
LAST=$(grep '"linkage run ' "$WORK/server.log" | tail -n 1 | sed 's/.*"msg":"\([^"]*\)".*/\1/')
F1=$(tr -d ' \n' < "$WORK/eval.json" | sed -n 's/.*"pairwise":{[^}]*"f1":\([0-9.]*\).*/\1/p')
awk -v s="$START" -v u="$UPLOADED" -v l="$LINKED" -v rss="$RSS_KB" -v n="$RECS" \
    -v p="$PARTIES" -v runs="$RUNS" -v f1="$F1" 'BEGIN {
  printf "linkage parties=%d records=%d upload_s=%.1f linked_after_s=%.1f runs=%d server_peak_rss_mib=%.0f pairwise_f1=%s\n",
         p, n, u - s, l - s, runs, rss / 1024, f1
}'
echo "last run: $LAST"

#!/usr/bin/env bash
# End-to-end linkage through the real binaries: synthetic extracts are
# encoded, uploaded to a --dev server over mutual TLS, linked in the
# background, exported and scored against the truth.
#
#   bench/linkage_bench.sh [--records N] [--parties 2|5] [--change N]
#                          [--keep DIR]
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
#
# Then the incremental runs: the last --change rows (default 10000) of the
# last extract were held back, and are uploaded as an extract of their own
# ("<name>-late"), linked against everything stored, and withdrawn again;
# each run's figures come from the server log. Quality is scored after the
# late extract was linked.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
SERVER="$BUILD_DIR/server/cohortlink-server"
RECORDS=1000000
PARTIES=2
KEEP=""
CHANGE=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --records) RECORDS=$2; shift 2 ;;
    --parties) PARTIES=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --change) CHANGE=$2; shift 2 ;;
    *) echo "usage: $0 [--records N] [--parties 2|5] [--change N] [--keep DIR]" >&2; exit 2 ;;
  esac
done
WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
trap '[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true; [ -n "$KEEP" ] || rm -rf "$WORK"' EXIT
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

# Hold back the last $CHANGE rows of the last extract as a late extract.
read -r LAST_NAME LAST_AGENCY LAST_CSV < <(tail -n 1 "$WORK/extracts")
LATE_CSV="$WORK/late.csv"
head -n 1 "$LAST_CSV" > "$LATE_CSV"
tail -n +2 "$LAST_CSV" | tail -n "$CHANGE" >> "$LATE_CSV"
ROWS=$(( $(wc -l < "$LAST_CSV") - 1 ))
head -n $(( ROWS - CHANGE + 1 )) "$LAST_CSV" > "$WORK/early.csv"
sed -i '$d' "$WORK/extracts"
printf '%s %s %s\n' "$LAST_NAME" "$LAST_AGENCY" "$WORK/early.csv" >> "$WORK/extracts"
printf '%s-late %s %s\n' "$LAST_NAME" "$LAST_AGENCY" "$LATE_CSV" > "$WORK/late"

KEYMAPS=()
while read -r name agency csv; do
  "$CL" encode --schema "$WORK/region/schema.json" --secret "$WORK/secret" \
    --input "$csv" --output "$WORK/$name.clx" --key-map "$WORK/$name.keys" \
    --report json > /dev/null
done < <(cat "$WORK/extracts" "$WORK/late")
# One key map per agency for `evaluate`.
for agency in $(awk '{ print $2 }' "$WORK/extracts" | sort -u); do
  first=1
  while read -r name ag csv; do
    [ "$ag" = "$agency" ] || continue
    if [ $first = 1 ]; then cat "$WORK/$name.keys"; first=0; else tail -n +2 "$WORK/$name.keys"; fi
  done < <(cat "$WORK/extracts" "$WORK/late") > "$WORK/$agency.map"
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
# The figures of linkage run $1, from the server log (written once the
# run's query index is built too, so wait for it).
run_line() {
  local line='"msg":"linkage run","generation":'"$1,"
  until grep -q "$line" "$WORK/server.log"; do sleep 0.1; done
  grep "$line" "$WORK/server.log" |
    sed 's/.*"msg":"linkage run",//; s/}$//; s/"\([a-z_]*\)":/\1=/g; s/,/ /g'
}
generation() {
  "$CL" status --server "$ADDR" --tls "$TLS/admin" --format json |
    tr -d ' \n' | sed -n 's/.*"generation":"\{0,1\}\([0-9]*\).*/\1/p'
}
# Until a run after generation $1 has completed and the linkage is current.
wait_run() {
  while [ "$(generation)" -le "$1" ]; do sleep 0.05; done
  "$CL" status --server "$ADDR" --tls "$TLS/admin" --wait 3600 > /dev/null
}
FIRST=$(run_line "$(generation)")

# The change: the late extract arrives, is linked, and is withdrawn.
read -r name agency csv < "$WORK/late"
G=$(generation)
T0=$(date +%s.%N)
"$CL" upload --server "$ADDR" --tls "$TLS/$agency" --extract "$name" \
  "$WORK/$name.clx" --format json > /dev/null
wait_run "$G"
T1=$(date +%s.%N)
ADDED=$(run_line "$(generation)")

"$CL" export-links --server "$ADDR" --tls "$TLS/exporter" --out "$WORK/links.csv" > /dev/null
"$CL" evaluate --links "$WORK/links.csv" --truth "$WORK/region/truth.csv" \
  "${KEYMAPS[@]}" --format json > "$WORK/eval.json"

G=$(generation)
T2=$(date +%s.%N)
"$CL" delete --server "$ADDR" --tls "$TLS/$agency" --extract "$name" > /dev/null
wait_run "$G"
T3=$(date +%s.%N)
WITHDRAWN=$(run_line "$(generation)")
RSS_KB=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")

RECS=$(tail -n +2 "$WORK/links.csv" | wc -l)
RUNS=$(generation)
F1=$(tr -d ' \n' < "$WORK/eval.json" | sed -n 's/.*"pairwise":{[^}]*"f1":\([0-9.]*\).*/\1/p')
awk -v s="$START" -v u="$UPLOADED" -v l="$LINKED" -v rss="$RSS_KB" -v n="$RECS" \
    -v p="$PARTIES" -v runs="$RUNS" -v f1="$F1" 'BEGIN {
  printf "linkage parties=%d records=%d upload_s=%.1f linked_after_s=%.1f runs=%d server_peak_rss_mib=%.0f pairwise_f1=%s\n",
         p, n, u - s, l - s, runs, rss / 1024, f1
}'
echo "last run of the first linkage: $FIRST"
awk -v a="$T0" -v b="$T1" -v n="$CHANGE" 'BEGIN { printf "late extract of %d records: linked %.2f s after its upload began\n", n, b - a }'
echo "  $ADDED"
awk -v a="$T2" -v b="$T3" 'BEGIN { printf "its withdrawal: linked %.2f s after the request\n", b - a }'
echo "  $WITHDRAWN"

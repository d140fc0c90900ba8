#!/usr/bin/env bash
# Linkage quality through the real binaries, default settings, nothing
# tuned per dataset: each dataset's files are encoded with the named
# schema, uploaded as different agencies to a fresh --dev server over
# mutual TLS, linked in the background, exported and scored against the
# truth. One line per dataset.
#
#   bench/quality.sh [--large] [--only NAME]
#
# Datasets (../shared/datasets, or COHORTLINK_DATASETS_DIR):
#   febrl4-clk     Febrl 4a/4b, clkhash record-level CLK (febrl_schema_v3_final)
#   ncvr-clk       NCVR ocp_20, three parties, clkhash record-level CLK (novt_schema)
#   febrl4         Febrl 4a/4b, examples/schemas/febrl-linkage.json
#   ncvr           NCVR ocp_20, three parties, examples/schemas/ncvr-linkage.json
#   febrl1..3      Febrl dataset1/2/3, one agency's extract each (dedupe)
#   dedupe-hard    bench/dedupe_extract: 1,000 Febrl people, 1-8 records each,
#                  every record corrupted independently, one extract (dedupe),
#                  examples/schemas/febrl-names-dob-town.json
#   dedupe-hard-all  the same extract, examples/schemas/febrl-linkage.json
#   dedupe-hard-grouped  the same, febrl-address-grouped.json (the address
#                  parts one comparison)
#   synth-100k     cohortlink synth, 100,000 people, five agencies
# With --large also synth-500k and synth-1830k (slow: minutes and GiB).
#
# Prints, per dataset: records, pairwise precision/recall/F1, the
# within-agency (dedupe) and cross-agency scores, the time from the first
# upload to a complete linkage, and the server's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
SERVER="$BUILD_DIR/server/cohortlink-server"
DATA=${COHORTLINK_DATASETS_DIR:-../shared/datasets}
LARGE=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --large) LARGE=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--large] [--only NAME]" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d)
trap '[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
printf 'quality secret\n' > "$WORK/secret"
. deploy/dev-server.sh
AGENCIES=(police probation prison health local-authority)

# json_field FILE SECTION KEY: a number from evaluate's JSON.
json_field() {
  tr -d ' \n' < "$1" | sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9.e+-]*\).*/\1/p"
}

# run NAME SCHEMA TRUTH_ARGS ENCODE_ARGS CSV...: one dataset, each CSV as
# its own agency. TRUTH_ARGS is "--truth-from febrl", "--truth-from id" or
# "--truth FILE"; a clkhash schema's record keys are row numbers, mapped
# to the first column for scoring.
run() {
  local name=$1 schema=$2 truth=$3 encode_args=$4
  shift 4
  [ -z "$ONLY" ] || [ "$ONLY" = "$name" ] || return 0
  local dir="$WORK/$name"
  mkdir -p "$dir"
  local keymaps=() i=0
  for csv in "$@"; do
    local agency=${AGENCIES[$i]}
    # shellcheck disable=SC2086
    "$CL" encode --schema "$schema" --secret "$WORK/secret" --input "$csv" \
      --output "$dir/$agency.clx" --key-map "$dir/$agency.keys" \
      $encode_args --report json > /dev/null
    if grep -q '"clkConfig"' "$schema"; then
      awk -F, 'NR == 1 { print "local_id,record_key"; next }
               { sub(/^ +/, "", $1); print $1 "," (NR - 2) }' "$csv" \
        > "$dir/$agency.keys"
    fi
    keymaps+=(--key-map "$agency=$dir/$agency.keys")
    i=$((i + 1))
  done
  start_dev_server "$SERVER" "$dir/server" "$dir/server.log"
  local tls="$dir/server/dev-tls" start linked
  start=$(date +%s.%N)
  i=0
  for _ in "$@"; do
    local agency=${AGENCIES[$i]}
    "$CL" upload --server "$ADDR" --tls "$tls/$agency" --extract "$name" \
      "$dir/$agency.clx" --format json > /dev/null
    i=$((i + 1))
  done
  "$CL" status --server "$ADDR" --tls "$tls/admin" --wait 7200 > /dev/null
  linked=$(date +%s.%N)
  local rss
  rss=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")
  "$CL" export-links --server "$ADDR" --tls "$tls/exporter" \
    --out "$dir/links.csv" > /dev/null
  # shellcheck disable=SC2086
  "$CL" evaluate --links "$dir/links.csv" $truth "${keymaps[@]}" \
    --format json > "$dir/eval.json"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  awk -v n="$name" -v recs="$(tail -n +2 "$dir/links.csv" | wc -l)" \
      -v p="$(json_field "$dir/eval.json" pairwise precision)" \
      -v r="$(json_field "$dir/eval.json" pairwise recall)" \
      -v f="$(json_field "$dir/eval.json" pairwise f1)" \
      -v wp="$(json_field "$dir/eval.json" within_agency precision)" \
      -v wr="$(json_field "$dir/eval.json" within_agency recall)" \
      -v xf="$(json_field "$dir/eval.json" cross_agency f1)" \
      -v s="$start" -v l="$linked" -v rss="$rss" 'BEGIN {
    printf "%-12s records=%d precision=%.4f recall=%.4f f1=%.4f within_precision=%.4f within_recall=%.4f cross_f1=%.4f linked_after_s=%.1f server_peak_rss_mib=%.0f\n",
           n, recs, p, r, f, wp, wr, xf, l - s, rss / 1024
  }'
  rm -rf "$dir"
}

# synth_run NAME PEOPLE
synth_run() {
  [ -z "$ONLY" ] || [ "$ONLY" = "$1" ] || return 0
  local region="$WORK/region-$1"
  "$CL" synth --people "$2" --out "$region" --format json > /dev/null
  run "$1" "$region/schema.json" "--truth $region/truth.csv" "" \
    "$region/police.csv" "$region/probation.csv" "$region/prison.csv" \
    "$region/health.csv" "$region/local-authority.csv"
  rm -rf "$region"
}

NCVR="$DATA/ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_"
FEBRL="$DATA/febrl"
SKIP="--skip-initial-space"  # Febrl's CSVs have a space after each comma
run febrl4-clk "$DATA/clkhash/febrl_schema_v3_final.json" "--truth-from febrl" \
  "$SKIP" "$FEBRL/dataset4a.csv" "$FEBRL/dataset4b.csv"
run ncvr-clk "$DATA/ncvr/novt_schema.json" "--truth-from id" "" \
  "${NCVR}0_nump_10.csv" "${NCVR}1_nump_10.csv" "${NCVR}2_nump_10.csv"
run febrl4 examples/schemas/febrl-linkage.json "--truth-from febrl" "$SKIP" \
  "$FEBRL/dataset4a.csv" "$FEBRL/dataset4b.csv"
run ncvr examples/schemas/ncvr-linkage.json "--truth-from id" "" \
  "${NCVR}0_nump_10.csv" "${NCVR}1_nump_10.csv" "${NCVR}2_nump_10.csv"
for k in 1 2 3; do
  run "febrl$k" examples/schemas/febrl-linkage.json "--truth-from febrl" \
    "$SKIP" "$FEBRL/dataset$k.csv"
done
"$BUILD_DIR/bench/dedupe_extract" "$FEBRL/dataset4a.csv" \
  "$WORK/dedupe-hard.csv" 1000
run dedupe-hard examples/schemas/febrl-names-dob-town.json \
  "--truth-from febrl" "" "$WORK/dedupe-hard.csv"
run dedupe-hard-all examples/schemas/febrl-linkage.json "--truth-from febrl" \
  "" "$WORK/dedupe-hard.csv"
run dedupe-hard-grouped examples/schemas/febrl-address-grouped.json \
  "--truth-from febrl" "" "$WORK/dedupe-hard.csv"
synth_run synth-100k 100000
if [ "$LARGE" = 1 ]; then
  synth_run synth-500k 500000
  synth_run synth-1830k 1830000
fi

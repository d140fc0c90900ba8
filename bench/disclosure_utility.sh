#!/usr/bin/env bash
# What disclosure control costs analysts, end to end: a synthetic
# five-agency region is encoded, uploaded to a --dev server and linked,
# then every query of examples/queries/ is asked in turn as one analyst
# would, and the counts published are tallied per query.
#
#   bench/disclosure_utility.sh [--people N] [--server BINARY] [--keep DIR]
#
# --people: the region's size (default 20,000, the demo's).
# --server: the cohortlink-server to measure (default this build's), so
#   that two builds can be compared on the same region (the region is made
#   with a fixed seed).
#
# Prints, per query, the counts in the answer, how many were published,
# and how many the differencing rule suppressed, then the totals.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
SERVER="$BUILD_DIR/server/cohortlink-server"
PEOPLE=20000
KEEP=
while [ $# -gt 0 ]; do
  case "$1" in
    --people) PEOPLE=$2; shift 2 ;;
    --server) SERVER=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    *) echo "usage: $0 [--people N] [--server BINARY] [--keep DIR]" >&2; exit 2 ;;
  esac
done
WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
[ -n "$KEEP" ] || trap 'rm -rf "$WORK"' EXIT
. deploy/dev-server.sh

AGENCIES="police probation prison health local-authority"
if [ ! -f "$WORK/region/schema.json" ]; then
  "$CL" synth --people "$PEOPLE" --out "$WORK/region" --seed 2025 >/dev/null
  echo "utility bench secret" > "$WORK/secret"
  for a in $AGENCIES; do
    "$CL" encode --schema "$WORK/region/schema.json" --secret "$WORK/secret" \
      --input "$WORK/region/$a.csv" --output "$WORK/$a.clx" >/dev/null
  done
fi
rm -rf "$WORK/server"
start_dev_server "$SERVER" "$WORK/server" "$WORK/server.log"
trap 'kill "$SERVER_PID" 2>/dev/null || true; [ -n "$KEEP" ] || rm -rf "$WORK"' EXIT
TLS="$WORK/server/dev-tls"
for a in $AGENCIES; do
  "$CL" upload --server "$ADDR" --tls "$TLS/$a" --extract main "$WORK/$a.clx" >/dev/null
done
"$CL" status --server "$ADDR" --tls "$TLS/admin" --wait 3600 >/dev/null

printf '%-45s %7s %9s %11s\n' query counts published differenced
total=0; shown=0; diff=0
for spec in examples/queries/*.json; do
  out=
  for _ in $(seq 1 100); do
    if out=$("$CL" query --server "$ADDR" --tls "$TLS/analyst" --spec "$spec" --format json 2>&1); then
      break
    fi
    case "$out" in *"still loading"*) sleep 0.2 ;; *) echo "$out" >&2; exit 1 ;; esac
  done
  read -r n p d < <(printf '%s' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
counts = [c["cohort"] for c in r["cells"]] + [o for c in r["cells"] for o in c["outcomes"]]
print(len(counts), sum(1 for c in counts if not c.get("suppressed")), r.get("differenced") or 0)')
  printf '%-45s %7d %9d %11d\n' "$(basename "$spec" .json)" "$n" "$p" "$d"
  total=$((total + n)); shown=$((shown + p)); diff=$((diff + d))
done
printf '%-45s %7d %9d %11d\n' total "$total" "$shown" "$diff"
echo "published: $((100 * shown / total))% of $total counts; region of $PEOPLE people; server $SERVER"

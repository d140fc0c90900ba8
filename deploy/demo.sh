#!/usr/bin/env bash
# `make demo`: runs what cohortlink can do so far, end to end, from a clean
# demo directory (var/demo). Today that is the agency-side half: a shared
# secret, a synthetic five-agency region, its linkage schema, every
# agency's extract encoded on "its own" machine, and proof that nothing
# identifying leaves them.
# The data are synthetic (`cohortlink synth`); the truth stays beside them
# for evaluation and is never uploaded.
# The server, linkage and cohort queries join this script as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
DEMO=var/demo
rm -rf "$DEMO"
mkdir -p "$DEMO/shared"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. The agencies agree a linkage secret (never sent to the server)"
"$CL" keys secret --out "$DEMO/shared/linkage.secret"

say "2. A synthetic region: 20,000 people known to five agencies"
"$CL" synth --people 20000 --out "$DEMO/region" --seed 2025
cp "$DEMO/region/schema.json" "$DEMO/shared/schema.json"

say "3. The agencies' shared linkage schema"
"$CL" schema check "$DEMO/shared/schema.json"

say "4. Each agency encodes its extract on its own machine"
AGENCIES="police probation prison health local-authority"
for agency in $AGENCIES; do
  mkdir -p "$DEMO/$agency"
  echo "-- $agency"
  "$CL" encode --schema "$DEMO/shared/schema.json" \
    --secret "$DEMO/shared/linkage.secret" \
    --input "$DEMO/region/$agency.csv" \
    --output "$DEMO/$agency/extract.clx" \
    --key-map "$DEMO/$agency/key-map.csv"
done

say "5. What leaves the agencies holds no names, dates of birth, postcodes or ids"
# 300 identifying values taken from the police extract (surnames, dates of
# birth as written, postcodes and local ids), searched for in every encoded
# extract.
python3 - "$DEMO" $AGENCIES <<'PY'
import csv, sys
demo, agencies = sys.argv[1], sys.argv[2:]
values = set()
with open(f"{demo}/region/police.csv") as f:
    for row in csv.DictReader(f):
        for col in ("surname", "date_of_birth", "postcode", "record_id"):
            v = row[col]
            if len(v) >= 6:
                values.add(v)
        if len(values) >= 300:
            break
blobs = {a: open(f"{demo}/{a}/extract.clx", "rb").read() for a in agencies}
leaks = [(v, a) for v in values for a, b in blobs.items() if v.encode() in b]
for v, a in leaks[:10]:
    print(f"LEAK: {v!r} found in {a}/extract.clx")
print(f"searched {len(blobs)} extracts for {len(values)} identifying values: "
      f"{'none present' if not leaks else str(len(leaks)) + ' found'}")
sys.exit(1 if leaks else 0)
PY

say "6. A bad row is refused with its line and column, and nothing is written"
printf 'record_id,given_name,surname,date_of_birth,sex,postcode,area,event_type,event_date\nX1,Ann,Lee,1990-01-01,F,BS1 1AA,bristol,arrest,31/31/2025\n' \
  > "$DEMO/police/bad.csv"
if "$CL" encode --schema "$DEMO/shared/schema.json" --secret "$DEMO/shared/linkage.secret" \
    --input "$DEMO/police/bad.csv" --output "$DEMO/police/bad.clx"; then
  echo "unexpected success"; exit 1
fi
[ ! -e "$DEMO/police/bad.clx" ] && echo "(no bad.clx was written)"

DATASETS=../shared/datasets
if [ -f "$DATASETS/ncvr/novt_schema.json" ]; then
  say "7. clkhash compatibility: NCVR party 0 with anonlink's tutorial schema"
  printf 'secret' > "$DEMO/shared/ncvr.secret"
  "$CL" encode --schema "$DATASETS/ncvr/novt_schema.json" --secret "$DEMO/shared/ncvr.secret" \
    --input "$DATASETS/ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_0_nump_10.csv" \
    --output "$DEMO/shared/ncvr-clks.json" --format clkhash-json
  if python3 - "$DEMO/shared/ncvr-clks.json" "$DATASETS/anonlink-client/novt_clk_0.json" <<'PY' 2>/dev/null
import json, sys
a = json.load(open(sys.argv[1]))["clks"]; b = json.load(open(sys.argv[2]))["clks"]
print(f"{sum(x == y for x, y in zip(a, b))} of {len(b)} CLKs identical to clkhash's")
sys.exit(0 if a == b else 1)
PY
  then :; else echo "CLKs differ from clkhash's"; exit 1; fi
fi

say "Done. Files are under $DEMO/."
echo "Next in cohortlink: upload to cohortlink-server over mTLS, linkage, cohort queries."

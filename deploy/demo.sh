#!/usr/bin/env bash
# `make demo`: runs what cohortlink can do so far, end to end, from a clean
# demo directory (var/demo). Today that is the agency-side half: a shared
# secret, the default linkage schema, two agencies' extracts encoded on
# "their" machines, and proof that nothing identifying leaves them.
# The server, linkage and cohort queries join this script as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
DEMO=var/demo
rm -rf "$DEMO"
mkdir -p "$DEMO/police" "$DEMO/prison" "$DEMO/shared"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. The agencies agree a linkage secret (never sent to the server)"
"$CL" keys secret --out "$DEMO/shared/linkage.secret"

say "2. ...and a linkage schema"
cp examples/schemas/uk-default.json "$DEMO/shared/schema.json"
"$CL" schema check "$DEMO/shared/schema.json"

# Two small extracts about overlapping people, spelled the way each agency
# records them (case, accents, date formats, postcode spacing, nicknames).
cat > "$DEMO/police/extract.csv" <<'CSV'
local_id,given_name,surname,date_of_birth,sex,postcode,area,event_type,event_date
P-1001,Mary,O'Brien,1990-02-01,F,BS1 4DJ,bristol,arrest,2025-04-02
P-1002,John,Smith,1985-11-15,M,BS5 6XX,bristol,arrest,2025-05-19
P-1003,Zoë,Müller,2000-02-29,F,BA2 3AB,bath-ne-somerset,arrest,2025-03-11
P-1004,Daniel,van der Berg,1978-07-04,M,BS16 1QY,south-gloucestershire,charge,2025-06-30
P-1005,Aisha,Khan,2003-09-12,F,TA1 1AA,somerset,arrest,2025-02-14
CSV
cat > "$DEMO/prison/extract.csv" <<'CSV'
local_id,given_name,surname,date_of_birth,sex,postcode,area,event_type,event_date
A1234BC,MARY,OBRIEN,01/02/1990,female,bs14dj,bristol,release,2025-01-20
A2345CD,JON,SMITH,15/11/1985,male,BS5 6XX,bristol,release,2025-01-31
A3456DE,ZOE,MULLER,29/02/2000,female,ba23ab,bath-ne-somerset,release,2025-02-07
A4567EF,Mohammed,Ali,1992-12-01,M,BS2 0JA,bristol,release,2025-03-03
CSV

say "3. Each agency encodes on its own machine"
for agency in police prison; do
  echo "-- $agency"
  "$CL" encode --schema "$DEMO/shared/schema.json" \
    --secret "$DEMO/shared/linkage.secret" \
    --input "$DEMO/$agency/extract.csv" \
    --output "$DEMO/$agency/extract.clx" \
    --key-map "$DEMO/$agency/key-map.csv"
done

say "4. What leaves the agency contains no names, dates of birth or postcodes"
leaks=0
for word in Mary MARY mary OBRIEN obrien Smith 1990 "BS1 4DJ" bs14dj P-1001 A1234BC; do
  for agency in police prison; do
    if grep -aq -- "$word" "$DEMO/$agency/extract.clx"; then
      echo "LEAK: '$word' found in $agency/extract.clx"; leaks=1
    fi
  done
done
[ "$leaks" -eq 0 ] && echo "checked 11 identifying strings in both extracts: none present"

say "5. A bad row is refused with its line and column, and nothing is written"
printf 'local_id,given_name,surname,date_of_birth,sex,postcode,area,event_type,event_date\nX1,Ann,Lee,1990-01-01,F,BS1 1AA,bristol,arrest,31/31/2025\n' \
  > "$DEMO/police/bad.csv"
if "$CL" encode --schema "$DEMO/shared/schema.json" --secret "$DEMO/shared/linkage.secret" \
    --input "$DEMO/police/bad.csv" --output "$DEMO/police/bad.clx"; then
  echo "unexpected success"; exit 1
fi
[ ! -e "$DEMO/police/bad.clx" ] && echo "(no bad.clx was written)"

DATASETS=../shared/datasets
if [ -f "$DATASETS/ncvr/novt_schema.json" ]; then
  say "6. clkhash compatibility: NCVR party 0 with anonlink's tutorial schema"
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

#!/usr/bin/env bash
# `make demo`: runs what cohortlink can do so far, end to end, from a clean
# demo directory (var/demo). Today: a shared secret, a synthetic
# five-agency region, its linkage schema, every agency's extract encoded on
# "its own" machine, proof that nothing identifying leaves them, and the
# uploads to a dev cohortlink-server over mutual TLS, the linkage the
# server runs in the background, its model, and the linkage map exported
# by the linkage-export role and scored against the synthetic truth, and
# three cohort questions answered under disclosure control, and one in a
# project with a privacy budget.
# The data are synthetic (`cohortlink synth`); the truth stays beside them
# for evaluation and is never uploaded.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
SERVER="$BUILD_DIR/server/cohortlink-server"
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
# The identifying values of the first 100 police rows (record ids,
# surnames, dates of birth as written, postcodes), searched for in every
# encoded extract. (synth writes no quoted fields, so awk can split them.)
awk -F, 'NR > 1 && NR <= 101 { for (c = 1; c <= 6; c++) if (c != 2 && c != 5 && length($c) >= 5) print $c }' \
  "$DEMO/region/police.csv" | sort -u > "$DEMO/shared/probe-values.txt"
probes=$(wc -l < "$DEMO/shared/probe-values.txt")
leaks=0
for agency in $AGENCIES; do
  if grep -a -F -q -f "$DEMO/shared/probe-values.txt" "$DEMO/$agency/extract.clx"; then
    echo "LEAK: an identifying value was found in $agency/extract.clx"; leaks=1
  fi
done
[ "$leaks" -eq 0 ] || exit 1
echo "searched 5 extracts for $probes identifying values: none present"

say "6. A bad row is refused with its line and column, and nothing is written"
printf 'record_id,given_name,surname,date_of_birth,sex,postcode,area,event_type,event_date\nX1,Ann,Lee,1990-01-01,F,BS1 1AA,bristol,arrest,31/31/2025\n' \
  > "$DEMO/police/bad.csv"
if "$CL" encode --schema "$DEMO/shared/schema.json" --secret "$DEMO/shared/linkage.secret" \
    --input "$DEMO/police/bad.csv" --output "$DEMO/police/bad.clx"; then
  echo "unexpected success"; exit 1
fi
[ ! -e "$DEMO/police/bad.clx" ] && echo "(no bad.clx was written)"

say "7. Upload to cohortlink-server over mutual TLS, each agency with its own certificate"
. deploy/dev-server.sh
# The demo's config declares the values of every attribute (codelists) and
# one project with a privacy budget.
start_dev_server "$SERVER" "$DEMO/server" "$DEMO/server.log" \
  --config deploy/demo-server.json
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
echo "server listening on $ADDR (dev certificates in $DEMO/server/dev-tls/)"
TLS="$DEMO/server/dev-tls"
for agency in $AGENCIES; do
  echo "-- $agency uploads with $TLS/$agency"
  "$CL" upload --server "$ADDR" --tls "$TLS/$agency" --extract "$agency-2022-2025" \
    "$DEMO/$agency/extract.clx"
done
echo "-- police uploads the same file again:"
"$CL" upload --server "$ADDR" --tls "$TLS/police" --extract "police-2022-2025" \
  "$DEMO/police/extract.clx" | sed -n 2p
echo "-- as admin:"
"$CL" status --server "$ADDR" --tls "$TLS/admin"
echo "-- an analyst may not upload:"
"$CL" upload --server "$ADDR" --tls "$TLS/analyst" --extract x "$DEMO/police/extract.clx" \
  --retries 0 || true

say "8. The server links the extracts in the background"
"$CL" status --server "$ADDR" --tls "$TLS/admin" --wait 300 | tail -n 1
# The last run's fields from the server log, as key=value.
grep '"msg":"linkage run"' "$DEMO/server.log" | tail -n 1 |
  sed 's/.*"msg":"linkage run",//; s/}$//; s/"\([a-z_]*\)":/\1=/g; s/,/ /g'
echo "-- the model (an analyst may read it; chart in $DEMO/model-weights.svg):"
"$CL" model show --server "$ADDR" --tls "$TLS/analyst" --chart "$DEMO/model-weights.svg" | head -n 12

say "9. The linkage map, exported by the linkage-export role and scored against the truth"
"$CL" export-links --server "$ADDR" --tls "$TLS/exporter" --out "$DEMO/links.csv"
KEYMAPS=()
for agency in $AGENCIES; do KEYMAPS+=(--key-map "$agency=$DEMO/$agency/key-map.csv"); done
"$CL" evaluate --links "$DEMO/links.csv" --truth "$DEMO/region/truth.csv" "${KEYMAPS[@]}" | head -n 5
echo "-- an analyst may not export the map:"
"$CL" export-links --server "$ADDR" --tls "$TLS/analyst" --out "$DEMO/x.csv" --wait 0 || true

say "10. An analyst's cohort questions, answered with disclosure-controlled counts"
query() {
  # The query index is rebuilt just after each linkage run.
  for _ in $(seq 1 50); do
    if out=$("$CL" query --server "$ADDR" --tls "$TLS/analyst" "$@" 2>&1); then
      printf '%s\n' "$out"; return 0
    fi
    case "$out" in *"still loading"*) sleep 0.2 ;; *) printf '%s\n' "$out"; return 1 ;; esac
  done
  return 1
}
echo
query --spec examples/queries/reoffending-12m.json --chart "$DEMO/reoffending.svg"
echo
query --spec examples/queries/accommodation-night-of-release.json
echo
query --spec examples/queries/drug-treatment-3w.json
echo "-- a submitter may not query:"
"$CL" query --server "$ADDR" --tls "$TLS/police" --spec examples/queries/reoffending-12m.json || true

say "10b. A project with a privacy budget: differentially private answers"
# dp-analyst works in project reoffending-2025 (deploy/demo-server.json):
# its answers carry discrete Gaussian noise and are charged to its budget.
"$CL" keys issue --ca "$TLS/ca" --id spiffe://cohortlink.dev/user/dp-analyst/analyst \
  --out "$TLS/dp-analyst" > /dev/null
"$CL" query --server "$ADDR" --tls "$TLS/dp-analyst" --project reoffending-2025 \
  --spec examples/queries/women-reoffending-by-area.json
echo "-- the project's budget:"
"$CL" query --server "$ADDR" --tls "$TLS/dp-analyst" --budget --project reoffending-2025
echo "-- a member of a project must name it:"
"$CL" query --server "$ADDR" --tls "$TLS/dp-analyst" \
  --spec examples/queries/reoffending-12m.json || true

say "11. The prison withdraws its extract, then sends it again: each change is linked incrementally"
"$CL" delete --server "$ADDR" --tls "$TLS/prison" --extract prison-2022-2025
"$CL" status --server "$ADDR" --tls "$TLS/admin" --wait 120 | tail -n 1
"$CL" upload --server "$ADDR" --tls "$TLS/prison" --extract prison-2022-2025 \
  "$DEMO/prison/extract.clx" > /dev/null
"$CL" status --server "$ADDR" --tls "$TLS/admin" --wait 120 | tail -n 1

say "12. The information governance lead verifies the access log"
cp "$DEMO/server/audit-public.pem" "$DEMO/shared/audit-public.pem"
"$CL" audit verify --server "$ADDR" --tls "$TLS/auditor" \
  --pubkey "$DEMO/shared/audit-public.pem" --state "$DEMO/shared/auditor.state"
"$CL" audit log --server "$ADDR" --tls "$TLS/auditor" --denied | tail -n 6

say "13. The administrator backs up the serving server; the backup restores into a new data directory"
rm -rf "$DEMO/backup" "$DEMO/restored"
"$CL" backup create --server "$ADDR" --tls "$TLS/admin" --out "$DEMO/backup"
"$CL" backup verify "$DEMO/backup" --pubkey "$DEMO/shared/audit-public.pem"
"$SERVER" --restore "$DEMO/backup" --data-dir "$DEMO/restored" \
  --signing-key "$DEMO/server/audit-signing.key" 2>&1 |
  sed -n 's/.*"msg":"\(restored [^"]*\)".*"extracts":\([0-9]*\),"records":\([0-9]*\).*/\1 (\2 extracts, \3 records)/p'

say "14. Stop the server; the access log"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true
sed -n 's/.*"msg":"access log: final signed tree head","entries":\([0-9]*\).*/access log: \1 entries/p' \
  "$DEMO/server.log"
trap - EXIT
echo "server stopped cleanly"

DATASETS=../shared/datasets
if [ -f "$DATASETS/ncvr/novt_schema.json" ]; then
  say "15. clkhash compatibility: NCVR party 0 with anonlink's tutorial schema"
  printf 'secret' > "$DEMO/shared/ncvr.secret"
  "$CL" encode --schema "$DATASETS/ncvr/novt_schema.json" --secret "$DEMO/shared/ncvr.secret" \
    --input "$DATASETS/ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_0_nump_10.csv" \
    --output "$DEMO/shared/ncvr-clks.json" --format clkhash-json
  # Same CLKs in the same order, whatever the JSON whitespace.
  if cmp -s <(tr -d ' \n' < "$DEMO/shared/ncvr-clks.json") \
            <(tr -d ' \n' < "$DATASETS/anonlink-client/novt_clk_0.json"); then
    echo "5000 of 5000 CLKs identical to clkhash's (anonlink-client/novt_clk_0.json)"
  else
    echo "CLKs differ from clkhash's"; exit 1
  fi
fi

say "Done. Files are under $DEMO/."

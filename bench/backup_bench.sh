#!/usr/bin/env bash
# Backup and restore at scale, with the real binaries: five agencies'
# extracts of a synthetic region (about N records in all) uploaded to a
# --dev server and linked; then `cohortlink backup create` against the
# serving server, `cohortlink backup verify`, `cohortlink-server --restore`
# into a new data directory, and a server started on it until it has
# relinked.
#
#   bench/backup_bench.sh [--records N]     (default 1,000,000)
#
# Prints one summary line:
#   backup records=... backup_s=... backup_mib=... verify_s=...
#          restore_s=... restored_ready_s=...
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
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }

# synth writes about 2.8 records per person over the five agencies.
PEOPLE=$(( RECORDS * 10 / 28 + 1 ))
"$CL" synth --people "$PEOPLE" --out "$WORK/region" --format json > /dev/null
printf 'bench secret\n' > "$WORK/secret"
AGENCIES="police probation prison health local-authority"
for a in $AGENCIES; do
  "$CL" encode --schema "$WORK/region/schema.json" --secret "$WORK/secret" \
    --input "$WORK/region/$a.csv" --output "$WORK/$a.clx" > /dev/null
done

. deploy/dev-server.sh
start_dev_server "$SERVER" "$WORK/server" "$WORK/server.log"
PIDS="$SERVER_PID"
TLS="$WORK/server/dev-tls"
for a in $AGENCIES; do
  "$CL" upload --server "$ADDR" --tls "$TLS/$a" --extract bench "$WORK/$a.clx" > /dev/null
done
"$CL" status --server "$ADDR" --tls "$TLS/police" --wait 3600 > /dev/null
START=$(now)
"$CL" backup create --server "$ADDR" --tls "$TLS/admin" --out "$WORK/backup" > /dev/null
BACKUP_S=$(since "$START")
BACKUP_KIB=$(du -sk "$WORK/backup" | cut -f1)
START=$(now)
"$CL" backup verify "$WORK/backup" --pubkey "$WORK/server/audit-public.pem" > /dev/null
VERIFY_S=$(since "$START")
START=$(now)
"$SERVER" --restore "$WORK/backup" --data-dir "$WORK/restored" \
  --signing-key "$WORK/server/audit-signing.key" 2> "$WORK/restore.log"
RESTORE_S=$(since "$START")
N=$(sed -n 's/.*"records":\([0-9]*\).*/\1/p' "$WORK/restore.log")
START=$(now)
start_dev_server "$SERVER" "$WORK/restored" "$WORK/restored.log"
PIDS="$PIDS $SERVER_PID"
"$CL" status --server "$ADDR" --tls "$WORK/restored/dev-tls/police" --wait 3600 > /dev/null
READY_S=$(since "$START")
echo "backup records=$N backup_s=$BACKUP_S backup_mib=$(( BACKUP_KIB / 1024 )) verify_s=$VERIFY_S restore_s=$RESTORE_S restored_ready_s=$READY_S"

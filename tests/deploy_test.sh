#!/usr/bin/env bash
# The deployment files against the real binaries:
#   deploy_test.sh version|check-config|systemd|log-level|signing-key|metrics|package SERVER CLI SOURCE_DIR
# version: both binaries print their version. check-config: the server's
# --check-config accepts a good config and names what is wrong with a bad
# one (a field, a readable key, a certificate from another CA).
# systemd: deploy/systemd/cohortlink-server.service passes
# `systemd-analyze verify` with its ExecStart pointing at SERVER, and its
# `systemd-analyze security` exposure is at most 2.0 (exit 77, skipped,
# without systemd-analyze). log-level: --log-level filters the server's
# JSON log lines. metrics: /metrics passes `promtool check metrics` (exit
# 77, skipped, without promtool).
set -euo pipefail
what=$1 server=$2 cli=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

case "$what" in
version)
  "$server" --version | grep -qx 'cohortlink-server [0-9.]*' || fail "server --version"
  "$cli" --version | grep -qx 'cohortlink [0-9.]*' || fail "cli --version"
  ;;
check-config)
  out=$("$server" --check-config "$src/deploy/demo-server.json") || fail "demo config: $out"
  grep -q "OK (listen" <<<"$out" || fail "no summary: $out"
  echo '{"projects": [{"name": "p", "analysts": ["a"], "privacy_budget": {"rho": 1, "rho_per_query": 2}}]}' > "$tmp/bad.json"
  if err=$("$server" --check-config "$tmp/bad.json" 2>&1); then fail "bad config accepted"; fi
  grep -q "projects\[0\].privacy_budget.rho_per_query: must not exceed rho" <<<"$err" || fail "bad config: $err"
  # A TLS directory issued by our keys code, then with a readable key.
  "$cli" keys ca init --dir "$tmp/ca" > /dev/null
  "$cli" keys issue --ca "$tmp/ca" --id spiffe://t.example/server/s --dns localhost --out "$tmp/tls" > /dev/null
  printf '{"tls_dir": "%s"}' "$tmp/tls" > "$tmp/tls.json"
  "$server" --check-config "$tmp/tls.json" > /dev/null || fail "good tls_dir refused"
  chmod 0644 "$tmp/tls/key.pem"
  if err=$("$server" --check-config "$tmp/tls.json" 2>&1); then fail "readable key accepted"; fi
  grep -q "tls_dir: .*key.pem" <<<"$err" || fail "readable key: $err"
  chmod 0600 "$tmp/tls/key.pem"
  # A certificate that does not chain to the directory's CA.
  "$cli" keys ca init --dir "$tmp/other-ca" > /dev/null
  cp "$tmp/other-ca/ca.pem" "$tmp/tls/ca.pem"
  if err=$("$server" --check-config "$tmp/tls.json" 2>&1); then fail "foreign certificate accepted"; fi
  grep -q "tls_dir:" <<<"$err" || fail "foreign certificate: $err"
  ;;
systemd)
  command -v systemd-analyze > /dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
  unit="$tmp/cohortlink-server.service"
  sed "s|/usr/bin/cohortlink-server|$server|g" "$src/deploy/systemd/cohortlink-server.service" > "$unit"
  out=$(cd "$tmp" && systemd-analyze verify ./cohortlink-server.service 2>&1) || fail "verify: $out"
  [ -z "$out" ] || fail "verify warns: $out"
  score=$(cd "$tmp" && systemd-analyze security --offline=true ./cohortlink-server.service 2>&1 |
          sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "systemd-analyze security exposure: $score"
  [ -n "$score" ] || fail "no security score"
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score above 2.0"
  ;;
log-level)
  # An unknown level is a usage error; at warning, the info lines go; every
  # line is one JSON object with a millisecond timestamp, and the address
  # the server listens on is a field.
  if "$server" --log-level verbose --dev --data-dir "$tmp/d0" 2> /dev/null; then
    fail "unknown log level accepted"
  else
    [ $? -eq 2 ] || fail "unknown log level: not exit 2"
  fi
  for level in warning info; do
    "$server" --dev --data-dir "$tmp/d-$level" --listen 127.0.0.1:0 \
      --log-level "$level" 2> "$tmp/$level.log" &
    pid=$!
    for _ in $(seq 100); do
      grep -q '"msg":"stopped"\|listening on' "$tmp/$level.log" && break
      sleep 0.1
    done
    sleep 0.5
    kill -TERM "$pid"
    wait "$pid" || fail "server at $level did not stop cleanly"
    grep -qv '^{"time":"[0-9-]*T[0-9:]*\.[0-9][0-9][0-9]Z","level":"[a-z]*","msg":' \
      "$tmp/$level.log" && fail "a line that is not a log object: $(cat "$tmp/$level.log")"
  done
  grep -q '"level":"info"' "$tmp/warning.log" && fail "info lines at warning: $(cat "$tmp/warning.log")"
  grep -q '"msg":"listening on 127.0.0.1:[0-9]* (mutual TLS)","listener":"grpc","address":"127.0.0.1:[0-9]*"' \
    "$tmp/info.log" || fail "no listening line with fields: $(cat "$tmp/info.log")"
  grep -q '"msg":"stopped"' "$tmp/info.log" || fail "no stopped line"
  ;;
package)
  # The Debian package from this build (cpack -G DEB): the binaries, the
  # unit and the docs where the unit expects them, the libraries it loads
  # as dependencies, and binaries that run once unpacked.
  command -v cpack > /dev/null && command -v dpkg-deb > /dev/null ||
    { echo "no cpack or dpkg-deb: skipped"; exit 77; }
  build=$(cd "$(dirname "$(dirname "$server")")" && pwd)
  (cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" > cpack.log 2>&1) ||
    fail "cpack: $(cat "$tmp/cpack.log")"
  deb=$(ls "$tmp"/cohortlink_*.deb)
  dpkg-deb -c "$deb" > "$tmp/contents"
  for f in ./usr/bin/cohortlink-server ./usr/bin/cohortlink \
      ./usr/lib/systemd/system/cohortlink-server.service \
      ./usr/share/doc/cohortlink/server.md ./usr/share/doc/cohortlink/operations.md \
      ./usr/share/doc/cohortlink/examples/schemas/uk-default.json; do
    grep -q " $f\$" "$tmp/contents" || grep -q " ${f/usr\/lib/lib}\$" "$tmp/contents" ||
      fail "$f not in the package: $(cat "$tmp/contents")"
  done
  depends=$(dpkg-deb -f "$deb" Depends)
  for lib in libgrpc++ librocksdb libprotobuf adduser; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
  done
  dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -q postinst || fail "no postinst"
  dpkg-deb -x "$deb" "$tmp/root"
  "$tmp/root/usr/bin/cohortlink-server" --version | grep -q "^cohortlink-server " ||
    fail "the packaged server does not run"
  echo "package: $(basename "$deb"), $(( $(stat -c %s "$deb") / 1024 )) KiB"
  ;;
signing-key)
  # A signing key kept outside the data directory (a Kubernetes Secret):
  # the server signs with it and makes none of its own.
  "$cli" keys signing-key --out "$tmp/signing.key" > /dev/null
  [ "$(stat -c %a "$tmp/signing.key")" = 600 ] || fail "signing key not 0600"
  "$cli" keys signing-key --out "$tmp/signing.key" > /dev/null 2>&1 && fail "overwrote a signing key"
  "$server" --dev --data-dir "$tmp/d" --listen 127.0.0.1:0 --signing-key "$tmp/signing.key" \
    2> "$tmp/server.log" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$tmp/server.log" && break; sleep 0.1; done
  kill -TERM "$pid"; wait "$pid" || fail "server: $(cat "$tmp/server.log")"
  [ ! -e "$tmp/d/audit-signing.key" ] || fail "the server made a key of its own"
  cmp -s "$tmp/d/audit-public.pem" "$tmp/signing.key.pub.pem" || fail "signed with another key"
  grep -q '"msg":"access log: final signed tree head"' "$tmp/server.log" || fail "no signed head"
  ;;
metrics)
  # A server that has taken an upload, linked it and answered calls: its
  # /metrics passes `promtool check metrics` (Prometheus' naming and
  # format rules) and carries each family docs/server.md lists.
  command -v promtool > /dev/null || { echo "no promtool: skipped"; exit 77; }
  "$cli" synth --people 300 --out "$tmp/region" > /dev/null
  printf 'metrics test secret\n' > "$tmp/secret"
  "$cli" encode --schema "$tmp/region/schema.json" --secret "$tmp/secret" \
    --input "$tmp/region/police.csv" --output "$tmp/police.clx" > /dev/null
  "$server" --dev --data-dir "$tmp/d" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    2> "$tmp/server.log" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
  for _ in $(seq 100); do grep -q "listening on" "$tmp/server.log" && break; sleep 0.1; done
  addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
  mport=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$tmp/server.log" | head -n 1)
  [ -n "$addr" ] && [ -n "$mport" ] || fail "server did not start: $(cat "$tmp/server.log")"
  "$cli" upload --server "$addr" --tls "$tmp/d/dev-tls/police" --extract m "$tmp/police.clx" > /dev/null
  "$cli" status --server "$addr" --tls "$tmp/d/dev-tls/police" --wait 60 > /dev/null
  # A refused handshake: a certificate from another CA.
  "$cli" keys ca init --dir "$tmp/other-ca" > /dev/null
  "$cli" keys issue --ca "$tmp/other-ca" --id spiffe://cohortlink.dev/agency/police/submitter \
    --out "$tmp/other" > /dev/null
  cp "$tmp/d/dev-tls/police/ca.pem" "$tmp/other/ca.pem"
  "$cli" status --server "$addr" --tls "$tmp/other" > /dev/null 2>&1 && fail "foreign certificate accepted"
  exec 3<>"/dev/tcp/127.0.0.1/$mport"
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  sed '1,/^\r$/d' <&3 > "$tmp/metrics.txt"
  exec 3<&-
  out=$(promtool check metrics < "$tmp/metrics.txt" 2>&1) || fail "promtool: $out"
  [ -z "$out" ] || fail "promtool warns: $out"
  for family in cohortlink_rpc_requests_total cohortlink_rpc_duration_seconds_bucket \
      cohortlink_upload_records_total cohortlink_upload_bytes_total \
      'cohortlink_linkage_runs_total{kind="full",outcome="ok"}' \
      'cohortlink_linkage_run_duration_seconds_bucket{stage="scoring"' \
      cohortlink_linkage_generation cohortlink_linkage_records cohortlink_linkage_entities \
      cohortlink_access_log_entries cohortlink_build_info \
      'cohortlink_tls_handshakes_refused_total{reason="untrusted"} 1' \
      'cohortlink_certificate_expiry_timestamp_seconds{certificate="server"}' \
      cohortlink_storage_writable cohortlink_records_stored; do
    grep -qF "$family" "$tmp/metrics.txt" || fail "no $family in: $(cat "$tmp/metrics.txt")"
  done
  grep -q '^cohortlink_upload_records_total [1-9]' "$tmp/metrics.txt" || fail "no upload counted"
  echo "promtool check metrics: OK ($(grep -c '^cohortlink_' "$tmp/metrics.txt") series)"
  ;;
*) echo "usage: $0 version|check-config|systemd|log-level|signing-key|metrics|package SERVER CLI SOURCE_DIR" >&2; exit 2 ;;
esac
echo "ok: $what"

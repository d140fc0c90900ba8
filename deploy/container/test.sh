#!/usr/bin/env bash
# Builds the image (build.sh), runs cohortlink-server from it on loopback
# as user 10001 with a read-only root file system and the data directory
# on a volume, and uploads, links and queries through it with the CLI from
# the host.
#
#   deploy/container/test.sh [BUILD_DIR]
#
# Where podman can start containers, the server runs in one (podman run
# --read-only --user 10001:10001 -v DATA:/data --network host). Where the
# OCI runtime is refused (some sandboxes forbid setrlimit or cgroups), it
# runs from the image's own root file system, mounted read-only with
# `podman image mount`, with the same user, volume and command, under
# unshare and chroot: the image's files and entry point are what is
# tested, not the runtime's isolation. The mode used is printed. Exit 77
# (skipped) without podman, or as a non-root user.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build/werror}
CL="$BUILD_DIR/client/cohortlink"
command -v podman > /dev/null || { echo "no podman: skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
podman info > /dev/null 2>&1 || { echo "podman cannot run here (podman info fails): skipped"; exit 77; }
TAG=cohortlink-server:test-$$
WORK=$(mktemp -d)
PID="" MOUNTED="" CONTAINER=""
cleanup() {
  [ -n "$CONTAINER" ] && podman rm -f "$CONTAINER" > /dev/null 2>&1 || true
  [ -n "$PID" ] && kill "$PID" 2> /dev/null || true
  [ -n "$MOUNTED" ] && podman image unmount "$TAG" > /dev/null 2>&1 || true
  podman rmi -f "$TAG" > /dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/server.log" ] && cat "$WORK/server.log" >&2; exit 1; }

deploy/container/build.sh "$BUILD_DIR" "$TAG"
mkdir -p "$WORK/data"
chown 10001:10001 "$WORK/data"
chmod 0700 "$WORK/data"
PORT=$(( 20000 + $$ % 20000 ))
ARGS=(--dev --data-dir /data/cohortlink --listen "127.0.0.1:$PORT")

if podman run --rm --read-only --network host "$TAG" --version > "$WORK/version" 2> "$WORK/run.err"; then
  MODE="podman run"
  CONTAINER=cohortlink-test-$$
  podman run -d --name "$CONTAINER" --read-only --user 10001:10001 --network host \
    -v "$WORK/data:/data" "$TAG" "${ARGS[@]}" > /dev/null
  log() { podman logs "$CONTAINER" 2>&1; }
  stop() { podman stop -t 30 "$CONTAINER" > /dev/null; }
else
  unshare --mount --propagation private true 2> /dev/null ||
    { echo "neither podman run nor unshare works here: skipped"; exit 77; }
  MODE="image root file system (podman run refused: $(tail -n 1 "$WORK/run.err"))"
  ROOT=$(podman image mount "$TAG")
  MOUNTED=1
  mkdir -p "$WORK/root"
  unshare --mount --propagation private --fork --kill-child=SIGTERM -- sh -c '
      mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" &&
      mount --bind "$3" "$2/data" && mount -t tmpfs tmpfs "$2/tmp" &&
      shift 3 && exec chroot --userspec=10001:10001 "$0" /usr/bin/cohortlink-server "$@"' \
    "$WORK/root" "$ROOT" "$WORK/root" "$WORK/data" "${ARGS[@]}" 2> "$WORK/server.log" &
  PID=$!
  log() { cat "$WORK/server.log"; }
  # The server is unshare's child (sh and chroot exec into it).
  stop() { pkill -TERM -P "$PID"; wait "$PID" || true; PID=""; }
fi
echo "mode: $MODE"
for _ in $(seq 100); do log | grep -q "listening on" && break; sleep 0.1; done
log | grep -q "listening on 127.0.0.1:$PORT" || fail "the server did not start"
ADDR=127.0.0.1:$PORT
TLS="$WORK/data/cohortlink/dev-tls"
# Files the server wrote belong to its user, and only the volume took them.
[ "$(stat -c %u "$WORK/data/cohortlink/db")" = 10001 ] || fail "the database is not owned by 10001"

"$CL" synth --people 600 --out "$WORK/region" --seed 11 > /dev/null
printf 'container test secret\n' > "$WORK/secret"
for a in police prison probation; do
  "$CL" encode --schema "$WORK/region/schema.json" --secret "$WORK/secret" \
    --input "$WORK/region/$a.csv" --output "$WORK/$a.clx" > /dev/null
  "$CL" upload --server "$ADDR" --tls "$TLS/$a" --extract main "$WORK/$a.clx" > /dev/null ||
    fail "upload by $a"
done
"$CL" status --server "$ADDR" --tls "$TLS/police" --wait 120 > "$WORK/status.txt" || fail "status"
grep -q "LINKED" "$WORK/status.txt" || fail "not linked: $(cat "$WORK/status.txt")"
"$CL" query --server "$ADDR" --tls "$TLS/analyst" --format json \
  --spec examples/queries/reoffending-12m.json > "$WORK/answer.json" || fail "query"
grep -q '"cells"' "$WORK/answer.json" || fail "no answer: $(cat "$WORK/answer.json")"
stop
log | grep -q '"msg":"access log: final signed tree head"' || fail "no clean shutdown"
echo "ok: built, ran as 10001 with a read-only root, uploaded 3 extracts, linked, queried, stopped cleanly"

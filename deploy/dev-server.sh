# Sourced by deploy/demo.sh and the bench/ scripts: starts a --dev
# cohortlink-server on a free loopback port.
#
#   start_dev_server SERVER_BINARY DATA_DIR LOG [SERVER_ARGS...]
#
# Sets SERVER_PID and ADDR (HOST:PORT), or fails with the server's log.
start_dev_server() {
  "$1" --dev --data-dir "$2" --listen 127.0.0.1:0 "${@:4}" 2> "$3" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$3" 2>/dev/null && break
    sleep 0.1
  done
  ADDR=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$3" | head -n 1)
  if [ -z "$ADDR" ]; then
    echo "server did not start:" >&2
    cat "$3" >&2
    return 1
  fi
}

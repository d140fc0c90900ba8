#!/usr/bin/env bash
# Builds the cohortlink-server image offline from the binaries in
# BUILD_DIR (default build/release, else build/werror): no registry, no
# base image. Prints the image's tag and size.
#
#   deploy/container/build.sh [BUILD_DIR] [TAG]
#
# Needs podman or buildah (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-}
if [ -z "$BUILD_DIR" ]; then
  BUILD_DIR=build/release
  [ -x "$BUILD_DIR/server/cohortlink-server" ] || BUILD_DIR=build/werror
fi
SERVER="$BUILD_DIR/server/cohortlink-server"
CLI="$BUILD_DIR/client/cohortlink"
[ -x "$SERVER" ] && [ -x "$CLI" ] || { echo "no binaries in $BUILD_DIR (make build)" >&2; exit 1; }
VERSION=$("$SERVER" --version | awk '{ print $2 }')
TAG=${2:-cohortlink-server:$VERSION}
if command -v podman > /dev/null; then
  BUILD=(podman build)
elif command -v buildah > /dev/null; then
  BUILD=(buildah bud)
else
  echo "neither podman nor buildah is installed (apt-get install podman)" >&2
  exit 1
fi

CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT
ROOT="$CTX/rootfs"
mkdir -p "$ROOT/usr/bin" "$ROOT/etc/cohortlink" "$ROOT/tmp" "$CTX/data"
chmod 1777 "$ROOT/tmp"
chmod 0700 "$CTX/data"
install -m 0755 -s "$SERVER" "$ROOT/usr/bin/cohortlink-server"
install -m 0755 -s "$CLI" "$ROOT/usr/bin/cohortlink"
# Every shared library either binary loads, at the path the loader looks
# for it, and the loader itself.
for bin in "$SERVER" "$CLI"; do
  ldd "$bin" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'
done | sort -u | while read -r lib; do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done
# The service user, so that logs and tools name it.
printf 'root:x:0:0::/:/usr/sbin/nologin\ncohortlink:x:10001:10001::/data:/usr/sbin/nologin\n' \
  > "$ROOT/etc/passwd"
printf 'root:x:0:\ncohortlink:x:10001:\n' > "$ROOT/etc/group"
printf 'hosts: files\n' > "$ROOT/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$ROOT/etc/hosts"
cp deploy/container/Containerfile "$CTX/Containerfile"
"${BUILD[@]}" --quiet --tag "$TAG" --file "$CTX/Containerfile" "$CTX" > /dev/null
SIZE=$(podman image inspect --format '{{.Size}}' "$TAG" 2>/dev/null ||
       buildah inspect --format '{{.Size}}' "$TAG" 2>/dev/null || echo 0)
echo "built $TAG: $(( SIZE / 1024 / 1024 )) MiB ($(find "$ROOT" -type f | wc -l) files)"

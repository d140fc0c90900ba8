#!/usr/bin/env bash
# Installs the Debian 12 packages cohortlink needs to build, test and run.
# Idempotent: does nothing (and prints nothing) when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc
  librocksdb-dev
  libabsl-dev
  libcli11-dev
  prometheus-cpp-dev
  libicu-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
)
# For tests that use real tools: clang builds the libFuzzer targets;
# systemd-analyze checks the unit; promtool checks the metrics; podman
# builds and runs the container image; python3-yaml reads the Kubernetes
# manifests.
OPTIONAL_PACKAGES=(clang systemd prometheus podman python3-yaml)

missing=()
for p in "${PACKAGES[@]}" "${OPTIONAL_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

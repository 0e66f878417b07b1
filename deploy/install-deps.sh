#!/usr/bin/env bash
# Installs what oigd needs to build, test and run, from Debian 12's packages.
# One source of truth: .ci/run, deploy/run.sh and the Dockerfile's build stage all call it.
#   deploy/install-deps.sh            build + test dependencies
#   deploy/install-deps.sh --runtime  only the shared libraries the oigd binary loads
set -euo pipefail

runtime=(libopenblas0-pthread liblapacke libmicrohttpd12 libcjson1 libsqlite3-0 ca-certificates)
build=(build-essential cmake pkg-config git curl sqlite3
       libopenblas-dev liblapacke-dev libmicrohttpd-dev libcjson-dev libsqlite3-dev check)

if [ "${1:-}" = "--runtime" ]; then pkgs=("${runtime[@]}"); else pkgs=("${runtime[@]}" "${build[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

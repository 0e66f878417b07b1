#!/usr/bin/env bash
# Installs what oigd needs to build, test and run, from Debian 12's packages.
# One source of truth: .ci/run, deploy/run.sh and the Dockerfile's build stage all call it.
#   deploy/install-deps.sh            build + test dependencies (the tests drive headless chromium,
#                                     run the Open MPI build, fuzz with clang, load with wrk and
#                                     check memory with valgrind)
#   deploy/install-deps.sh --build    build dependencies only (the Dockerfile's build stage)
#   deploy/install-deps.sh --runtime  only the shared libraries the oigd binary loads
#   deploy/install-deps.sh --list-runtime | --list-build   print a package list, install nothing
#   deploy/install-deps.sh --mpi      build + test dependencies and Open MPI, for -DOIGD_MPI=ON
#                                     (with --runtime: the MPI runtime only)
set -euo pipefail

runtime=(libopenblas0-pthread liblapacke libmicrohttpd12 libcjson1 libsqlite3-0 zlib1g ca-certificates)
build=(build-essential cmake pkg-config git curl sqlite3
       libopenblas-dev liblapacke-dev libmicrohttpd-dev libcjson-dev libsqlite3-dev zlib1g-dev check)
test=(chromium fonts-dejavu-core libopenmpi-dev openmpi-bin clang libclang-rt-14-dev valgrind wrk python3)

mpi_runtime=(openmpi-bin)
mpi_build=(libopenmpi-dev openmpi-bin)

runtime_only=0; with_mpi=0; list_only=0; build_only=0
for a in "$@"; do
  case "$a" in
    --runtime) runtime_only=1 ;;
    --build) build_only=1 ;;
    --mpi) with_mpi=1 ;;
    --list-runtime) runtime_only=1; list_only=1 ;;
    --list-build) list_only=1 ;;
    *) echo "usage: $0 [--runtime|--build] [--mpi] [--list-runtime|--list-build]" >&2; exit 2 ;;
  esac
done
if [ $runtime_only = 1 ]; then pkgs=("${runtime[@]}")
elif [ $build_only = 1 ]; then pkgs=("${runtime[@]}" "${build[@]}")
else pkgs=("${runtime[@]}" "${build[@]}" "${test[@]}"); fi
if [ $with_mpi = 1 ]; then
  if [ $runtime_only = 1 ]; then pkgs+=("${mpi_runtime[@]}"); else pkgs+=("${mpi_build[@]}"); fi
fi
if [ $list_only = 1 ]; then echo "${pkgs[*]}"; exit 0; fi

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

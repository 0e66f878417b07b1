#!/usr/bin/env bash
# Set up and run: installs oigd's dependencies from Debian's packages, builds a release binary in
# build/, and starts the daemon on its embedded SQLite default (./oigd.db, 127.0.0.1:8080).
# Extra arguments go to `oigd serve` (see `oigd serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh --build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/oigd serve "$@"

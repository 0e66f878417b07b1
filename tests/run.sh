#!/usr/bin/env bash
# The test command: builds oigd with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-test/ and runs every libcheck suite and end-to-end test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-test -DOIGD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-test -j2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
ctest --test-dir build-test --output-on-failure -j2 "$@"

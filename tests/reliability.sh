#!/usr/bin/env bash
# tests/reliability.sh [quick|full] [PARTS...] -- the reliability harness, outside the default
# ctest run: fuzzing (tests/fuzz/run.sh), kill -9 crash test, fault injection, wrk load, valgrind
# memcheck and ThreadSanitizer (tests/races.sh). "quick" (the default, for CI: about 10 minutes on
# 2 cores) runs short versions; "full" runs the figures of docs/RELIABILITY.md (about 27 minutes).
# PARTS picks a subset of: fuzz crash faults load valgrind races. Builds oigd unsanitized in
# build-rel/ (plus build-fuzz/, build-vg/ and build-tsan/ for their parts); OIGD_SRC=DIR builds the
# sources found there instead (e.g. an export of a commit). Exit 0 only when every part passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-quick}
shift || true
PARTS=${*:-fuzz crash faults load valgrind races}
case $MODE in
quick) FUZZ_S=10; ROUNDS=3; LOAD_S=10; export LOAD_ITERATIONS=${LOAD_ITERATIONS:-40000}
       VG_TESTS="test_engine_data test_engine_score test_api_router test_api_model_doc test_server_store" ;;
full)  FUZZ_S=60; ROUNDS=20; LOAD_S=60; VG_TESTS="" ;;
*) echo "usage: $0 [quick|full] [fuzz crash faults load valgrind races]"; exit 2 ;;
esac
export OPENBLAS_NUM_THREADS=1

B=${REL_BUILD:-$ROOT/build-rel}
cmake -S "${OIGD_SRC:-.}" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$B" -j"${JOBS:-2}" --target oigd >/dev/null || { echo "build failed"; exit 1; }
mkdir -p "$B/reliability"
cc -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Itests -Iserver tests/reliability/crash_test.c \
    tests/support_http.c -lsqlite3 -lcjson -lpthread -lm -o "$B/reliability/crash_test" || exit 1
export OIGD_BIN=$B/oigd

status=0
run() {
    local name=$1; shift
    echo "=== $name: $*"
    local t0=$SECONDS
    if "$@"; then echo "=== $name passed ($((SECONDS - t0)) s)"; else echo "=== $name FAILED ($((SECONDS - t0)) s)"; status=1; fi
}
for part in $PARTS; do
    case $part in
    fuzz) run fuzz tests/fuzz/run.sh "$FUZZ_S" ;;
    crash) run crash "$B/reliability/crash_test" "$ROUNDS" ;;
    faults)
        if [ "$(id -u)" = 0 ]; then run faults tests/reliability/faults.sh
        else echo "=== faults skipped (needs root to mount a tmpfs)"; fi ;;
    load)
        if command -v wrk >/dev/null; then run load tests/reliability/load.sh "$LOAD_S" 256
        else echo "=== load skipped (wrk is not installed)"; status=1; fi ;;
    valgrind) run valgrind tests/valgrind.sh $VG_TESTS ;;
    races) run races tests/races.sh ;;
    *) echo "unknown part $part"; status=1 ;;
    esac
done
exit $status

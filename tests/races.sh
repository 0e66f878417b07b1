#!/usr/bin/env bash
# tests/races.sh [CTEST ARGS...] -- every CTest suite on a ThreadSanitizer build (build-tsan/):
# the daemon's HTTP, long-request, worker and event-stream threads, training teams, the store's
# connections, all as the suites drive them, including every oigd process they start; then the
# wrk load of tests/reliability/load.sh (10 s at 64 connections while two jobs train) on the same
# build. A report from any process fails the run, and is printed. Reports inside OpenBLAS, which
# is not instrumented, are suppressed (tests/tsan.supp). A canary with a known race runs first, to
# show that reports reach the log. OIGD_SRC=DIR builds the sources found there; TSAN_BUILD=DIR
# builds into DIR.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=${TSAN_BUILD:-$ROOT/build-tsan}
cmake -S "${OIGD_SRC:-.}" -B "$B" -DOIGD_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$B" -j"${JOBS:-2}" >/dev/null || { echo "build failed"; exit 1; }
cc -std=c11 -g -O1 -fsanitize=thread tests/reliability/tsan_canary.c -lpthread -o "$B/tsan_canary" || exit 1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp log_path=$logs/report second_deadlock_stack=1"
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}

"$B/tsan_canary" >/dev/null
if ! compgen -G "$logs/report.*" >/dev/null; then
    echo "races: ThreadSanitizer left no report for the canary's race; the check would be blind"
    exit 1
fi
rm -f "$logs"/report.*

ctest --test-dir "$B" --output-on-failure -j2 "$@"
status=$?
if command -v wrk >/dev/null; then
    OIGD_BIN="$B/oigd" LOAD_ITERATIONS=4000 bash tests/reliability/load.sh 10 64 >"$logs/load.out" 2>&1 ||
        { cat "$logs/load.out"; status=1; }
else
    echo "races: wrk is not installed, the load part did not run"
    status=1
fi
reports=("$logs"/report.*)
if [ -e "${reports[0]}" ]; then
    cat "${reports[@]}"
    echo "races: ThreadSanitizer reported from ${#reports[@]} process(es)"
    status=1
fi
[ $status = 0 ] && echo "races: no data races reported"
exit $status

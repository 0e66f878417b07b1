#!/usr/bin/env bash
# tests/valgrind.sh [TEST ...] -- run the libcheck test binaries under valgrind memcheck.
# Builds an unsanitized Debug tree in build-vg/, runs each test binary (all, or the names given)
# with CK_FORK=no so that every test runs inside the traced process, and traces the oigd children
# the CLI and end-to-end tests start. Fails on any memcheck error or definitely-lost block; logs
# are in build-vg/valgrind/. Exit 0 only when every binary passed its tests with no error.
#   VG_BUILD=DIR build directory   OIGD_SRC=DIR build the sources found there (e.g. an export of a
#   commit) instead of this checkout's   VG_TIMEOUT=S libcheck timeout per test (default 600)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=${VG_BUILD:-$ROOT/build-vg}
cmake -S "${OIGD_SRC:-.}" -B "$B" -DOIGD_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null || exit 1
cmake --build "$B" -j"${VG_JOBS:-1}" >/dev/null || { cmake --build "$B" -j1; exit 1; }
LOGS="$B/valgrind"
rm -rf "$LOGS"
mkdir -p "$LOGS"

if [ $# -gt 0 ]; then tests="$*"; else tests=$(cd "$B" && ls test_* | grep -v '\.' ); fi

# Memcheck errors make the traced process exit 99; leaks count only when definitely lost.
VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite --errors-for-leak-kinds=definite --track-origins=yes
    --trace-children=yes --child-silent-after-fork=yes --num-callers=30
    --suppressions="$ROOT/tests/valgrind.supp")

status=0
for t in $tests; do
    start=$(date +%s)
    CK_FORK=no CK_DEFAULT_TIMEOUT=${VG_TIMEOUT:-600} OIGD_BIN="$B/oigd" OPENBLAS_NUM_THREADS=1 \
        "${VG[@]}" --log-file="$LOGS/$t.%p.log" "$B/$t" > "$LOGS/$t.out" 2>&1
    rc=$?
    errs=$(cat "$LOGS/$t".*.log | sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' | awk '{s+=$1} END {print s+0}')
    lost=$(cat "$LOGS/$t".*.log | sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' | tr -d , | awk '{s+=$1} END {print s+0}')
    procs=$(ls "$LOGS/$t".*.log | wc -l)
    checks=$(grep -E '^[0-9]+%: Checks' "$LOGS/$t.out" | tail -1)
    echo "$t: exit=$rc processes=$procs memcheck_errors=$errs definitely_lost=${lost}B $(($(date +%s) - start))s  $checks"
    if [ $rc -ne 0 ] || [ "$errs" != 0 ] || [ "$lost" != 0 ]; then
        status=1
        grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$LOGS/$t".*.log | sed 's/^/    see /'
    fi
done
exit $status

#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] -- build the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) in build-fuzz/ and run each for SECONDS (default 60).
# The corpus starts from the hand-made seeds in tests/fuzz/seeds/ plus, when the shared data sets
# are present, the first lines of each real file (generated into build-fuzz/, never committed).
# Prints one line per target (executions, corpus size, crashes); exits 1 if any target crashed,
# with the crashing inputs in build-fuzz/artifacts/TARGET/.
#   FUZZ_TARGETS="data_parse model_doc"  run a subset      FUZZ_BUILD=DIR  build directory
#   OIGD_DATASETS=DIR                    the shared data sets (default ../shared/datasets)
#   OIGD_SRC=DIR                         build the project sources found there (e.g. an export of
#                                        a commit) instead of this checkout's
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_EACH=${1:-60}
B=${FUZZ_BUILD:-$ROOT/build-fuzz}
DATASETS=${OIGD_DATASETS:-$ROOT/../shared/datasets}
ALL_TARGETS="data_parse index_list model_doc router json_requests body_decode"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
SRC=${OIGD_SRC:-$ROOT}
CC=${FUZZ_CC:-clang}
mkdir -p "$B/corpus" "$B/artifacts" "$B/logs"

PKGS="openblas lapacke libcjson sqlite3 libmicrohttpd zlib"
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS=$(pkg-config --libs $PKGS)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror $SAN $PKG_CFLAGS"
INC="-I$SRC/engine -I$SRC/server -I$SRC/api"

# The project's libraries, built by its own CMake rules (generated sources included) with clang,
# coverage instrumentation and the sanitizers, in build-fuzz/cmake.
libs() {
    cmake -S "$SRC" -B "$B/cmake" -DCMAKE_C_COMPILER="$CC" -DOIGD_SANITIZE=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
        -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null || return 1
    cmake --build "$B/cmake" -j"${FUZZ_JOBS:-1}" --target oigd_api || return 1
    LIBS="$B/cmake/liboigd_api.a $B/cmake/liboigd_server.a $B/cmake/liboigd_engine.a"
}

build() {
    local t=$1
    [ -f "$ROOT/tests/fuzz/fuzz_$t.c" ] || { echo "fuzz_$t.c missing" >&2; return 1; }
    $CC $CFLAGS -fsanitize=fuzzer $INC "$ROOT/tests/fuzz/fuzz_$t.c" -Wl,--start-group $LIBS -Wl,--end-group \
        $PKG_LIBS -lm -lpthread -o "$B/fuzz_$t"
}

# Seeds: the committed hand-made ones, plus heads of the real data files when available.
corpus() {
    local t=$1 dir="$B/corpus/$1" f i=0
    mkdir -p "$dir"
    cp -f "$ROOT/tests/fuzz/seeds/$t"/* "$dir/" 2>/dev/null || true
    if [ "$t" = body_decode ]; then     # compressed seeds are made here, not committed
        printf 'a,b,y\n1,2,3\n4,5,6\n' > "$B/seed.csv"
        { printf '\000'; gzip -c < "$B/seed.csv"; } > "$dir/gzip_whole"
        { printf '\016'; gzip -c < "$B/seed.csv"; gzip -c < "$B/seed.csv"; } > "$dir/gzip_two_members"
        { printf '\001'; python3 -c 'import sys, zlib; sys.stdout.buffer.write(zlib.compress(open(sys.argv[1], "rb").read()))' "$B/seed.csv"; } > "$dir/deflate_whole"
        { printf '\000'; head -c 70000 /dev/zero | gzip -c; } > "$dir/gzip_past_the_limit"
    fi
    [ -d "$DATASETS" ] || return 0
    case $t in
    data_parse)
        for f in "$DATASETS"/uci/*/data.txt; do
            i=$((i + 1)); { printf '\002\000'; head -n 12 "$f"; } > "$dir/real_ws_$i"
        done
        for f in "$DATASETS"/classification/*.csv; do
            i=$((i + 1)); { printf '\005\000'; head -n 12 "$f"; } > "$dir/real_csv_$i"
        done ;;
    index_list)
        for f in "$DATASETS"/uci/*/index_train_0.txt "$DATASETS"/uci/*/index_features.txt; do
            i=$((i + 1)); { printf '\377\377'; head -n 40 "$f"; } > "$dir/real_idx_$i"
        done ;;
    esac
}

dict_for() {
    case $1 in
    data_parse) echo "-dict=$ROOT/tests/fuzz/dict/csv.dict" ;;
    model_doc|json_requests) echo "-dict=$ROOT/tests/fuzz/dict/json.dict" ;;
    router) echo "-dict=$ROOT/tests/fuzz/dict/http.dict" ;;
    esac
}

status=0
summary="$B/summary.txt"
: > "$summary"
if ! libs > "$B/logs/build_libs.log" 2>&1; then
    echo "library build failed (see $B/logs/build_libs.log)"; tail -30 "$B/logs/build_libs.log" >&2
    exit 1
fi
for t in $TARGETS; do
    if ! build "$t" > "$B/logs/build_$t.log" 2>&1; then
        echo "$t: build failed (see $B/logs/build_$t.log)"; cat "$B/logs/build_$t.log" >&2
        status=1; continue
    fi
    corpus "$t"
    mkdir -p "$B/artifacts/$t"
    touch "$B/logs/start_$t"
    log="$B/logs/run_$t.log"
    OPENBLAS_NUM_THREADS=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        "$B/fuzz_$t" $(dict_for "$t") -max_total_time="$SECONDS_EACH" -max_len=8192 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$B/artifacts/$t/" "$B/corpus/$t" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    files=$(ls "$B/corpus/$t" | wc -l)
    crashes=$(find "$B/artifacts/$t" -type f -newer "$B/logs/start_$t" | grep -cE '/(crash|leak|timeout|oom)-' || true)
    line="$t: ${SECONDS_EACH}s executions=${execs:-?} coverage=${cov:-?} corpus=$files exit=$rc new_artifacts=$crashes"
    echo "$line" | tee -a "$summary"
    if [ $rc -ne 0 ]; then
        status=1
        grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log" | sed 's/^/    /'
    fi
done
exit $status

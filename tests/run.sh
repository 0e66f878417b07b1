#!/usr/bin/env bash
# The test command: builds oigd optimized (-O2, as deploy/run.sh does, so optimizer-only
# warnings fail here too) with AddressSanitizer + UndefinedBehaviorSanitizer, and runs
# every suite through CTest: first the reliability harness in its short form (fuzzing 10 s per
# target, kill -9 crash test, fault injection, wrk load, valgrind of five suites; see
# docs/RELIABILITY.md), then the Open MPI build's data-parallel tests (build-test-mpi/, K = 1, 2, 4
# ranks and MPI jobs from the daemon), then every other libcheck suite, end-to-end and script test
# on the default build (build-test/). Arguments go to the last ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}

bash tests/reliability.sh quick

cmake -S . -B build-test-mpi -DOIGD_MPI=ON -DOIGD_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-test-mpi -j2 --target oigd test_mpi_train test_mpi_serve
ctest --test-dir build-test-mpi --output-on-failure -R '^test_mpi_'

cmake -S . -B build-test -DOIGD_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-test -j2
ctest --test-dir build-test --output-on-failure -j2 "$@"

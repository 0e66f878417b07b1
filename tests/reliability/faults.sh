#!/usr/bin/env bash
# tests/reliability/faults.sh -- fault injection against a real `oigd serve` on loopback: a full
# disk (a 3 MiB tmpfs), a read-only database (the tmpfs remounted read-only, while running and at
# start), a corrupt database file (header overwritten, a page overwritten, file truncated), and
# clients that disconnect mid-upload and mid-event-stream. Each must give a clear error or log
# line, no crash, and no loss of what was acknowledged. Needs root (mount) and OIGD_BIN.
# Prints one PASS/FAIL line per check with the evidence; exit 0 only when every check passed.
set -uo pipefail
BIN=${OIGD_BIN:?set OIGD_BIN to the oigd binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/oigd-faults-XXXXXX")
PID=""
PORT=""
pass=0
fails=0

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# start DB LOG [extra flags]: start the daemon; sets PID and PORT; returns 1 if it exits instead.
start() {
    local db=$1 log=$2; shift 2
    "$BIN" serve --listen 127.0.0.1:0 --db "$db" --workers 1 --blas-threads 1 --checkpoint-seconds 0.2 "$@" 2>"$log" &
    PID=$!
    for _ in $(seq 1 150); do
        PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2>/dev/null || { wait "$PID"; STATUS=$?; PID=""; return 1; }
        sleep 0.1
    done
    return 1
}
stop() {   # stop [SIGNAL]: stop the daemon, STATUS = its exit status
    [ -n "$PID" ] || return 0
    kill -"${1:-TERM}" "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null; STATUS=$?
    PID=""
}
alive() { [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]; }
url() { echo "http://127.0.0.1:$PORT$1"; }
upload() {  # upload FILE: prints "status id"
    curl -s -o "$T/up.json" -w '%{http_code}' -H 'Content-Type: text/csv' --data-binary @"$1" "$(url /v1/datasets?name=f)"
    echo " $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("id",""))' "$T/up.json" 2>/dev/null)"
}
integrity() { sqlite3 "$1" 'PRAGMA integrity_check' 2>&1 | head -1; }
cleanup() { stop KILL; umount "$T/fs" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT

# A dataset of N rows (about 60 bytes a row, stored as 40 bytes of doubles).
python3 - "$T" <<'EOF'
import math, random, sys
random.seed(7)
for name, n in (("small.csv", 300), ("big.csv", 6000), ("spooled.csv", 40000)):
    with open(sys.argv[1] + "/" + name, "w") as f:
        f.write("a,b,c,d,y\n")
        for _ in range(n):
            v = [random.uniform(-1, 1) for _ in range(4)]
            f.write(",".join("%.9f" % x for x in v) + ",%.9f\n" % (math.sin(2 * v[0]) + v[1] * v[2]))
EOF

echo "== full disk: the database on a 3 MiB tmpfs"
mkdir -p "$T/fs"
mount -t tmpfs -o size=3m tmpfs "$T/fs" || { echo "cannot mount a tmpfs (needs root)"; exit 2; }
DB=$T/fs/oigd.db
start "$DB" "$T/full.log" || bad "daemon starts on the small disk"
acked=()
first_fail=""
for i in $(seq 1 40); do
    read -r code id < <(upload "$T/big.csv")
    if [ "$code" = 201 ]; then acked+=("$id"); else first_fail=$code; break; fi
done
check "uploads fill the disk and then fail with a status (${#acked[@]} acknowledged, then HTTP ${first_fail:-none})" \
    '[ -n "$first_fail" ] && [ "$first_fail" -ge 500 ]'
check "the failure is logged: $(grep -m1 -i -E 'disk is full|SQLITE_FULL|No space' "$T/full.log" | head -c 120)" \
    'grep -q -i -E "database or disk is full|disk is full|SQLITE_FULL|No space" "$T/full.log"'
body=$(cat "$T/up.json")
check "the error body is problem+json without internals: ${body:0:100}" \
    '! grep -q -i -E "sqlite|disk is full|/tmp" "$T/up.json" && grep -q "\"status\":5" "$T/up.json"'
check "the daemon is alive and ready after the full disk" 'alive'
n=0; for id in "${acked[@]}"; do [ "$(curl -s -o /dev/null -w '%{http_code}' "$(url /v1/datasets/$id)")" = 200 ] && n=$((n + 1)); done
check "every acknowledged dataset still readable on the full disk ($n of ${#acked[@]})" '[ "$n" = "${#acked[@]}" ]'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"dataset_id\":\"${acked[0]}\",\"hidden_units\":3,\"max_iterations\":5}" "$(url /v1/jobs)")
check "a job request on the full disk: HTTP $code (202 or a 5xx), no crash" '{ [ "$code" = 202 ] || [ "$code" -ge 500 ]; } && alive'
read -r code id < <(upload "$T/spooled.csv")
check "a $(($(stat -c %s "$T/spooled.csv") / 1024)) KiB upload (past 1 MiB: spooled beside the database) on the full disk: HTTP $code, logged" \
    '[ "$code" -ge 500 ] && grep -q "spooling the body: No space left on device" "$T/full.log" && alive'
check "no spool file is left on the full disk" '! ls -A "$T/fs" | grep -q oigd-body'
stop TERM
check "SIGTERM on the full disk exits (status $STATUS)" '[ "$STATUS" = 0 ] || [ "$STATUS" = 1 ]'
mount -o remount,size=64m "$T/fs"
check "integrity_check after the full disk: $(integrity "$DB")" '[ "$(integrity "$DB")" = ok ]'
start "$DB" "$T/full2.log" || bad "restart after space was freed"
n=0; for id in "${acked[@]}"; do [ "$(curl -s -o /dev/null -w '%{http_code}' "$(url /v1/datasets/$id)")" = 200 ] && n=$((n + 1)); done
check "after the restart every acknowledged dataset is there ($n of ${#acked[@]})" '[ "$n" = "${#acked[@]}" ]'
read -r code id < <(upload "$T/small.csv")
check "with space again an upload succeeds (HTTP $code)" '[ "$code" = 201 ]'
acked+=("$id")
read -r code id < <(upload "$T/spooled.csv")
rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("rows"))' "$T/up.json" 2>/dev/null)
check "and a spooled one (HTTP $code, $rows rows of 40000)" '[ "$code" = 201 ] && [ "$rows" = 40000 ]'
acked+=("$id")

echo "== read-only database (the file system remounted read-only under a stopped daemon)"
stop TERM
mount -o remount,ro "$T/fs" || bad "remount read-only"
start "$DB" "$T/ro.log"; rc=$?
if [ $rc = 0 ]; then
    read -r code _ < <(upload "$T/small.csv")
    check "an upload to the read-only database fails with HTTP $code" '[ "$code" -ge 500 ]'
    check "it is logged: $(grep -i -m1 -E 'readonly|read-only|read only' "$T/ro.log" | head -c 120)" \
        'grep -q -i -E "readonly|read-only|read only" "$T/ro.log"'
    n=0; for id in "${acked[@]}"; do [ "$(curl -s -o /dev/null -w '%{http_code}' "$(url /v1/datasets/$id)")" = 200 ] && n=$((n + 1)); done
    check "reads work on the read-only database ($n of ${#acked[@]} datasets) and the daemon is up" \
        '[ "$n" = "${#acked[@]}" ] && alive'
    stop TERM
else
    check "start on a read-only file system refused (status $STATUS): $(grep -v '^$' "$T/ro.log" | tail -1 | head -c 120)" \
        '[ "$STATUS" != 0 ] && [ "$STATUS" -lt 128 ] && [ -s "$T/ro.log" ]'
fi
mount -o remount,rw "$T/fs"
start "$DB" "$T/rw.log" || bad "restart read-write"
n=0; for id in "${acked[@]}"; do [ "$(curl -s -o /dev/null -w '%{http_code}' "$(url /v1/datasets/$id)")" = 200 ] && n=$((n + 1)); done
check "back read-write: every acknowledged dataset is there ($n of ${#acked[@]})" '[ "$n" = "${#acked[@]}" ]'
stop TERM
umount "$T/fs"

echo "== corrupt database file"
DB2=$T/corrupt.db
start "$DB2" "$T/c0.log" && { upload "$T/small.csv" >/dev/null; upload "$T/small.csv" >/dev/null; stop TERM; }
cp "$DB2" "$T/good.db"
printf 'this is not an SQLite database, it was overwritten by a fault injection test....................' |
    dd of="$DB2" bs=1 seek=0 conv=notrunc status=none
start "$DB2" "$T/c1.log"; rc=$?
[ $rc = 0 ] && stop KILL
check "header overwritten: start refused (status ${STATUS:-?}): $(tail -1 "$T/c1.log" | head -c 120)" \
    '[ $rc != 0 ] && [ "$STATUS" -lt 128 ] && grep -q -i -E "not a database|malformed|corrupt" "$T/c1.log"'
cp "$T/good.db" "$DB2"
pages=$(( $(stat -c %s "$DB2") / 4096 ))
dd if=/dev/urandom of="$DB2" bs=4096 seek=$((pages / 2)) count=2 conv=notrunc status=none
start "$DB2" "$T/c2.log"; rc=$?
if [ $rc = 0 ]; then
    codes=""
    for p in /v1/datasets /v1/jobs /v1/models; do codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$(url $p)")"; done
    for id in $(sqlite3 "$T/good.db" 'SELECT id FROM datasets' 2>/dev/null); do
        codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$(url /v1/datasets/$id)")"
    done
    read -r code _ < <(upload "$T/small.csv"); codes="$codes $code"
    check "pages overwritten: the daemon answers (HTTP$codes) and stays up" 'alive'
    check "no 5xx without a log line" '! echo "$codes" | grep -q " 5" || grep -q -i -E "malformed|corrupt|store" "$T/c2.log"'
    stop KILL
else
    check "pages overwritten: start refused (status $STATUS): $(tail -1 "$T/c2.log" | head -c 120)" \
        '[ "$STATUS" -lt 128 ] && [ -s "$T/c2.log" ]'
fi
cp "$T/good.db" "$DB2"
truncate -s $(( $(stat -c %s "$DB2") / 2 )) "$DB2"
start "$DB2" "$T/c3.log"; rc=$?
if [ $rc = 0 ]; then
    codes=""
    for id in $(sqlite3 "$T/good.db" 'SELECT id FROM datasets' 2>/dev/null); do
        codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$(url /v1/datasets/$id)")"
    done
    check "truncated file: the daemon answers (HTTP$codes) and stays up" 'alive'
    stop KILL
else
    check "truncated file: start refused (status $STATUS): $(tail -1 "$T/c3.log" | head -c 120)" \
        '[ "$STATUS" -lt 128 ] && [ -s "$T/c3.log" ]'
fi

echo "== clients that disconnect"
DB3=$T/disc.db
start "$DB3" "$T/d.log" || bad "start"
read -r code ds < <(upload "$T/small.csv")
jid=$(curl -s -H 'Content-Type: application/json' -d "{\"dataset_id\":\"$ds\",\"hidden_units\":6,\"max_iterations\":1000000,\"seed\":3}" \
    "$(url /v1/jobs)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
before=$(curl -s "$(url /v1/datasets)" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
size=$(stat -c %s "$T/big.csv")
for i in $(seq 1 20); do
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'POST /v1/datasets?name=cut HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n' "$size" >&3
    head -c $(( size * i / 25 )) "$T/big.csv" >&3 2>/dev/null
    exec 3>&- 3<&-
done
for i in $(seq 1 20); do   # streams of the running job, each cut after 0.1 to 0.8 s
    curl -s -N --max-time 0.$((RANDOM % 8 + 1)) -o "$T/sse.$i" "$(url /v1/jobs/$jid/events)"
done
sleep 1
after=$(curl -s "$(url /v1/datasets)" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
check "20 uploads cut mid-body stored nothing ($before datasets before, $after after)" '[ "$before" = "$after" ]'
cut_up=$(grep -c 'POST /v1/datasets 0 0b .*(aborted)' "$T/d.log")
cut_sse=$(grep -c "GET /v1/jobs/$jid/events 200 .*(aborted)" "$T/d.log")
got=$(cat "$T"/sse.* | grep -c '^event: progress')
# not every cut upload leaves a line: seen 14 to 20 of 20 (the connection can end before the daemon sees the request)
check "the cuts are logged as aborted: $cut_up of 20 uploads, $cut_sse of 20 event streams (which had received $got progress events)" \
    '[ "$cut_sse" = 20 ] && [ "$got" -gt 0 ]'
streams=$(curl -s "$(url /metrics)" | sed -n 's/^oigd_event_streams \([0-9]*\)/\1/p')
check "no event stream is left open after the cuts (oigd_event_streams ${streams:-?})" '[ "${streams:-x}" = 0 ]'
check "the daemon is alive after 20 cut uploads and 20 cut event streams" 'alive'
st=$(curl -s "$(url /v1/jobs/$jid)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
check "the job kept training under the cut streams: $st" '[ "$st" = running ]'
curl -s -o /dev/null -X POST "$(url /v1/jobs/$jid/cancel)"
for _ in $(seq 1 300); do
    st=$(curl -s "$(url /v1/jobs/$jid)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$st" = queued ] || [ "$st" = running ] || break
    sleep 0.1
done
check "then cancelled on request: $st" '[ "$st" = cancelled ]'
stop TERM
check "SIGTERM exits 0 after the disconnects (status $STATUS)" '[ "$STATUS" = 0 ]'
check "integrity_check: $(integrity "$DB3")" '[ "$(integrity "$DB3")" = ok ]'

echo "faults: $pass passed, $fails failed"
[ "$fails" = 0 ]

# daemon.sh -- sourced by the benchmarks that run `oigd serve`: a free loopback port (or $PORT),
# the daemon started in the background and waited for, and stopped. Uses $OIGD; sets PORT, BASE
# and DAEMON_PID. The caller traps EXIT to call daemon_stop.

PORT=${PORT:-$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
BASE=http://127.0.0.1:$PORT
DAEMON_PID=""

# daemon_start LOG [serve options...]: its output appended to LOG; waits up to 30 s for /healthz
# and exits the script when the daemon does not answer.
daemon_start() {
    local log=$1
    shift
    "$OIGD" serve --listen "127.0.0.1:$PORT" "$@" >> "$log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 1 300); do
        curl -s -m 1 -o /dev/null "$BASE/healthz" && return 0
        kill -0 "$DAEMON_PID" 2> /dev/null || { echo "oigd serve exited; see $log" >&2; exit 1; }
        sleep 0.1
    done
    echo "oigd serve did not answer /healthz in 30 s; see $log" >&2
    exit 1
}

# daemon_stop: SIGTERM, then SIGKILL after 10 s; nothing when no daemon runs.
daemon_stop() {
    [ -n "$DAEMON_PID" ] || return 0
    if kill -0 "$DAEMON_PID" 2> /dev/null; then
        kill -TERM "$DAEMON_PID"
        for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2> /dev/null || break; sleep 0.1; done
        kill -0 "$DAEMON_PID" 2> /dev/null && kill -KILL "$DAEMON_PID"
    fi
    wait "$DAEMON_PID" 2> /dev/null
    DAEMON_PID=""
}

#!/usr/bin/env bash
# Redirect throughput: trackdoc's GET /track/{id} (302 only once the click is committed) on
# SQLite and on PostgreSQL, against nginx answering a bare `return 302`, all driven by wrk with
# the same settings on this machine. Prints req/s, p50, p99, server CPU and the ratio to nginx,
# and checks that every 302 has its click row. Exits 0 when every target ran (slow figures
# included), non-zero when one could not.
#
#   bench/redirect.sh                      # defaults: wrk -t2 -c64 -d10s, 3 s warm-up, 3 rounds
#   BENCH_ROUNDS=3                         # every target is measured this many times, interleaved;
#                                          # the table gives medians over the undisturbed runs
#   BENCH_SYNC_MODES="full normal"         # TRACKDOC_SQLITE_SYNC values to run (default both)
#   BENCH_SERVE_THREADS="2 4 8"            # trackdoc --threads values (default: its own default)
#   BENCH_DURATION=10s BENCH_WARMUP=3s BENCH_CONNECTIONS=64 BENCH_WRK_THREADS=2
#   BENCH_NGINX=0                          # skip nginx (then no ratio)
#   BENCH_PG=0                             # skip PostgreSQL (default: run it; a fresh local
#                                          # server per run from tests/pg/pg-server.sh, with
#                                          # fsync and synchronous_commit on)
#   BENCH_OUTAGE=0                         # skip the run with PostgreSQL stopped (default: run
#                                          # it: redirects answered from the click spool, then
#                                          # the time the spool takes to replay)
#   BENCH_QUIET_WAIT=60                    # seconds to wait for other load to stop before each run
#   BENCH_KEEP=1                           # keep the temporary folder (databases, logs)
#   TRACKDOC=path/to/trackdoc              # default build/trackdoc (release build)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRACKDOC=${TRACKDOC:-$root/build/trackdoc}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
CONNS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SYNC_MODES=${BENCH_SYNC_MODES:-full normal}
SERVE_THREADS=${BENCH_SERVE_THREADS:-default}
RUN_NGINX=${BENCH_NGINX:-1}
RUN_PG=${BENCH_PG:-1}
RUN_OUTAGE=${BENCH_OUTAGE:-1}
PG_SERVER=$root/tests/pg/pg-server.sh
ROUNDS=${BENCH_ROUNDS:-3}
# A run is disturbed when the rest of the machine (not the server, not wrk) used more than this
# many cores: another process was competing for the CPUs.
NOISE_CORES=0.25
DEST=https://calendly.com/x
JOB_ID=5b0c3a3e-0d7e-4c43-9a57-0c6f2b1d8e11

# Goals from the issue.
GOAL_RATIO=0.5
GOAL_P99_MS=5

tmp=
pids=()
pgdir=
pgurl=
pgpid=
PG_SAID=

say() { printf 'redirect: %s\n' "$*" >&2; }
fail() {
    say "cannot run: $*"
    exit 2
}

# Stops one process we started: SIGTERM, then SIGKILL after a grace period. For nginx the
# workers are killed too (they are the master's children; they outlive a SIGKILLed master).
stop_pid() {
    local pid=$1 kids i
    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-40)) did not stop in 15 s after SIGTERM: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
    fi
    wait "$pid" 2>/dev/null || true
}

# Runs on every exit, success or not: nothing we started outlives the script.
# shellcheck disable=SC2317 # called from the trap
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do stop_pid "$p"; done
    [[ -n $pgdir ]] && "$PG_SERVER" stop "$pgdir" >/dev/null 2>&1
    if [[ -n $tmp && -d $tmp ]]; then
        if [[ -n ${BENCH_KEEP:-} ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# Removes a pid from the list once it has been stopped.
forget_pid() {
    local keep=() p
    for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    pids=("${keep[@]+"${keep[@]}"}")
}

# Sum of user+system CPU ticks of processes and their direct children (nginx workers, the
# PostgreSQL server's backends): $1 is one pid or several separated by spaces.
cpu_ticks() {
    local total=0 p f top
    for p in $(for top in $1; do echo "$top"; pgrep -P "$top" 2>/dev/null || true; done); do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        f=${f##*) } # fields after the command name; utime and stime are fields 14 and 15
        read -r -a a <<<"$f"
        total=$((total + a[11] + a[12]))
    done
    echo "$total"
}

# Idle and total jiffies of the whole machine, from /proc/stat.
machine_ticks() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t }' /proc/stat
}

# CPU seconds (user + system) of the children this shell has reaped (wrk, once it has exited).
# `times` must run in this shell, not in a $(...) subshell, which has no reaped children.
children_cpu() {
    times >"$tmp/times.txt"
    awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
        printf "%.3f", t }' "$tmp/times.txt"
}

# Waits (up to BENCH_QUIET_WAIT seconds, default 60) until the machine is idle: on a shared
# machine another process's load would be measured as ours. Busy = more than 0.15 cores.
wait_quiet() {
    local limit=${BENCH_QUIET_WAIT:-60} waited=0 i0 t0 i1 t1 busy
    while :; do
        read -r i0 t0 < <(machine_ticks)
        sleep 1
        read -r i1 t1 < <(machine_ticks)
        busy=$(awk -v i=$((i1 - i0)) -v t=$((t1 - t0)) -v n="$(nproc)" 'BEGIN { printf "%.2f", t ? n * (1 - i / t) : 0 }')
        awk -v b="$busy" 'BEGIN { exit !(b <= 0.15) }' && return 0
        if ((waited >= limit)); then
            say "the machine is still busy ($busy cores) after ${limit} s: measuring anyway"
            return 0
        fi
        ((waited == 0)) && say "the machine is busy ($busy cores used by other processes): waiting up to ${limit} s"
        waited=$((waited + 1))
    done
}

# Converts a wrk duration (850.00us, 1.54ms, 1.02s) to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000;
        else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}

# Counts the rows of link_clicks.
count_clicks() {
    local db=$1 id=$2
    if [[ $db == postgres://* ]]; then
        psql -X -q -A -t -d "$db" -c "SELECT count(*) FROM link_clicks"
    elif command -v python3 >/dev/null; then
        python3 - "$db" <<'EOF'
import sqlite3, sys
con = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(con.execute("SELECT count(*) FROM link_clicks").fetchone()[0])
EOF
    else
        "$TRACKDOC" link show "$id" --db "$db" --json |
            awk -F'[:,]' '/"total_clicks"|"head_requests"/ { n += $2 } END { print n + 0 }'
    fi
}

# Waits until url answers 302 to DEST; fails after about 10 s or when pid dies.
wait_ready() {
    local url=$1 pid=$2 i got
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        got=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$url" 2>/dev/null || true)
        [[ $got == "302 $DEST" ]] && return 0
        sleep 0.1
    done
    say "$url answered \"$got\", expected \"302 $DEST\""
    return 1
}

# A free loopback port (the kernel's choice; a clash before nginx binds is retried by the caller).
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        echo $((20000 + RANDOM % 40000))
    fi
}

# Result fields of one wrk run, read from its output file: sets W_RPS W_REQ W_P50 W_P99 W_BAD W_SOCK.
parse_wrk() {
    local f=$1
    W_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
    W_REQ=$(awk '/ requests in / { print $1 }' "$f")
    W_P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
    W_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
    W_BAD=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
    W_BAD=${W_BAD:-0}
    W_SOCK=$(sed -n 's/^ *Socket errors: //p' "$f")
    [[ -n $W_RPS && -n $W_REQ && -n $W_P99 ]]
}

# Runs wrk in the background and waits for it, so that a signal stops the script (and the trap
# kills wrk and the servers) at once instead of after wrk's run. Output goes to the file $1.
run_wrk() {
    local out=$1 wpid rc=0
    shift
    wrk "$@" >"$out" 2>&1 &
    wpid=$!
    pids+=("$wpid")
    wait "$wpid" || rc=$?
    forget_pid "$wpid"
    return "$rc"
}

# Runs the warm-up and the measured wrk run against url; server pid for CPU accounting.
# Sets the W_* fields plus WARM_REQ WARM_BAD CPU_CORES CPU_US MACHINE_BUSY.
measure() {
    local name=$1 url=$2 pid=$3 c0 c1 m0 m1 m0i m1i w0 w1 hz secs
    hz=$(getconf CLK_TCK)
    run_wrk "$tmp/$name.warmup.txt" -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$url" ||
        fail "wrk warm-up against $name failed: $(tail -3 "$tmp/$name.warmup.txt")"
    WARM_REQ=$(awk '/ requests in / { print $1 }' "$tmp/$name.warmup.txt")
    WARM_BAD=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$tmp/$name.warmup.txt")
    WARM_BAD=${WARM_BAD:-0}
    wait_quiet
    c0=$(cpu_ticks "$pid")
    read -r m0i m0 < <(machine_ticks)
    children_cpu >"$tmp/w0.txt"
    w0=$(cat "$tmp/w0.txt")
    run_wrk "$tmp/$name.wrk.txt" -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" ||
        fail "wrk against $name failed: $(tail -3 "$tmp/$name.wrk.txt")"
    children_cpu >"$tmp/w1.txt"
    w1=$(cat "$tmp/w1.txt")
    c1=$(cpu_ticks "$pid")
    read -r m1i m1 < <(machine_ticks)
    parse_wrk "$tmp/$name.wrk.txt" || fail "cannot read wrk's output for $name: $(cat "$tmp/$name.wrk.txt")"
    # CPU over the run, in cores: the server (all its threads and processes), wrk, and the
    # whole machine (busy = not idle, so it includes the kernel's own threads: jbd2, kworkers).
    secs=$(awk -v d="$DURATION" 'BEGIN { s = d + 0; if (d ~ /m$/) s *= 60; if (d ~ /h$/) s *= 3600; print s }')
    CPU_CORES=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", t / hz / s }')
    CPU_US=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$W_REQ" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    WRK_CORES=$(awk -v a="$w0" -v b="$w1" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / s }')
    MACHINE_CORES=$(awk -v i=$((m1i - m0i)) -v t=$((m1 - m0)) -v n="$(nproc)" 'BEGIN { printf "%.2f", n * (1 - i / t) }')
    if [[ $W_BAD != 0 ]]; then
        say "$name: $W_BAD responses were not 2xx/3xx: the figures are not valid"
        BAD_RUN=1
    fi
    say "$name: $W_REQ requests, $W_RPS req/s, p50 $W_P50 ms, p99 $W_P99 ms (socket errors: ${W_SOCK:-none})"
}

# Records one measured run of target $1 (round $2) from the W_* and CPU fields.
add_result() {
    local other
    other=$(awk -v m="$MACHINE_CORES" -v s="$CPU_CORES" -v w="$WRK_CORES" 'BEGIN { o = m - s - w; printf "%.2f", o < 0 ? 0 : o }')
    echo "$1|$2|$W_RPS|$W_P50|$W_P99|$CPU_CORES|$CPU_US|$WRK_CORES|$other" >>"$tmp/results.txt"
    if awk -v o="$other" -v n="$NOISE_CORES" 'BEGIN { exit !(o > n) }'; then
        say "$1 (round $2): $other cores were busy with other work during the run: disturbed, left out of the medians"
    fi
}

# Prints target|runs used|runs|medians of rps p50 p99 cores us wrk other for each target, in
# the order they were first run. Medians are over undisturbed runs, or over all when none was.
medians() {
    awk -F'|' -v n="$NOISE_CORES" '
        function med(list, k,   a, m, i, j, t) {
            m = split(list, a, " ")
            for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
        }
        { if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 }
          all[$1]++
          for (f = 3; f <= 9; f++) va[$1, f] = va[$1, f] " " $f
          if ($9 + 0 <= n) { clean[$1]++; for (f = 3; f <= 9; f++) vc[$1, f] = vc[$1, f] " " $f } }
        END { for (i = 1; i <= no; i++) { t = order[i]; out = t "|" (clean[t] + 0) "|" all[t]
                for (f = 3; f <= 9; f++) out = out "|" med(clean[t] ? vc[t, f] : va[t, f])
                print out } }' "$tmp/results.txt"
}

# Starts a PostgreSQL server for one run (durable: fsync and synchronous_commit on), fresh like
# the SQLite runs' files: no WAL or checkpoint left by an earlier run; sets pgdir, pgurl and
# pgpid (its postmaster, for CPU accounting).
start_pg() {
    # Not under $tmp: the server's own user (as root, trackdoc-test) must reach its folder.
    pgdir=$(mktemp -d "${TMPDIR:-/tmp}/trackdoc-bench-pg.XXXXXX")
    pgurl=$(PG_SERVER_DURABLE=1 "$PG_SERVER" start "$pgdir") ||
        fail "PostgreSQL did not start (BENCH_PG=0 skips it)"
    pgpid=$(head -n1 "$pgdir/data/postmaster.pid")
    psql -X -q -d "$pgurl" -c "ALTER SYSTEM SET log_checkpoints = on" -c "SELECT pg_reload_conf()" >/dev/null
    [[ -n $PG_SAID ]] && return 0
    PG_SAID=1
    say "PostgreSQL $(psql -X -q -A -t -d "$pgurl" -c 'SHOW server_version') at ${pgurl#*@}: fsync $(psql -X -q -A -t -d "$pgurl" -c 'SHOW fsync'), synchronous_commit $(psql -X -q -A -t -d "$pgurl" -c 'SHOW synchronous_commit')"
}

# Reads a field of the spool in GET /healthz of the server on port $1: "$2" is depth or replayed.
spool_field() {
    curl -s "http://127.0.0.1:$1/healthz" | sed -n "s/.*\"spool\":{[^}]*\"$2\":\([0-9]*\).*/\1/p"
}

# Starts the stopped PostgreSQL server of an outage run and waits until the server on port $1
# has replayed its spool; sets REPLAY_TEXT.
replay_spool() {
    local port=$1 depth t0 t1 i n
    depth=$(spool_field "$port" depth)
    PG_SERVER_DURABLE=1 "$PG_SERVER" resume "$pgdir" || fail "PostgreSQL did not start again"
    t0=$(date +%s.%N)
    for ((i = 0; i < 6000; i++)); do
        [[ $(spool_field "$port" depth) == 0 ]] && break
        sleep 0.1
    done
    t1=$(date +%s.%N)
    n=$(spool_field "$port" replayed)
    [[ $(spool_field "$port" depth) == 0 ]] || fail "the spool did not drain in 10 minutes"
    REPLAY_TEXT=$(awk -v d="$depth" -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN {
        printf "%d spooled, %d replayed in %.1f s after the restart (%.0f clicks/s)", d, n, b - a, n / (b - a) }')
}

# One trackdoc run: fresh database, one link, serve, warm-up, measure, stop, count clicks. $1 is
# a SQLite sync mode (full, normal), "postgres", or "postgres-down" (PostgreSQL stopped once the
# server has followed the link: every redirect is answered from the click spool; then it starts
# again and the spool is replayed, timed). --no-utm: the 302 carries the destination as it is,
# as nginx's does.
run_trackdoc() {
    local sync=$1 threads=$2 round=$3 name dir db id pid port url line clicks stats answered extra i dur target cpupids
    name="trackdoc-$sync${threads:+-t$threads}-r$round"
    dir="$tmp/$name"
    db="$dir/bench.db"
    target="trackdoc sync=$sync${threads:+ threads=$threads}"
    mkdir -p "$dir"
    if [[ $sync == postgres* ]]; then
        start_pg
        db=$pgurl
        target="trackdoc $sync${threads:+ threads=$threads}"
    fi
    id=$(TRACKDOC_SQLITE_SYNC=${sync/postgres*/full} "$TRACKDOC" link create --url "$DEST" --function Calendly \
        --job-id "$JOB_ID" --db "$db" --json | sed -n 's/.*"tracking_id": *"\([^"]*\)".*/\1/p')
    [[ -n $id ]] || fail "trackdoc link create gave no tracking_id"
    TRACKDOC_SQLITE_SYNC=${sync/postgres*/full} "$TRACKDOC" serve --listen 127.0.0.1:0 --db "$db" \
        --rate-limit-track 0 --rate-limit-api 0 ${threads:+--threads "$threads"} \
        --no-utm --spool "$dir/clicks.spool" >"$dir/serve.out" 2>"$dir/serve.err" &
    pid=$!
    pids+=("$pid")
    port=
    for ((i = 0; i < 100; i++)); do
        line=$(head -n1 "$dir/serve.out" 2>/dev/null || true)
        if [[ $line =~ listening\ on\ http://[^:/]+:([0-9]+) ]]; then
            port=${BASH_REMATCH[1]}
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $port ]] || fail "trackdoc serve did not start: $(cat "$dir/serve.err")"
    url="http://127.0.0.1:$port/track/$id"
    wait_ready "$url" "$pid" || fail "trackdoc does not redirect: $(cat "$dir/serve.err")"
    cpupids=$pid
    # On PostgreSQL the server is trackdoc and the database's processes together.
    [[ $sync == postgres ]] && cpupids="$pid $pgpid"
    # The outage: the link is in the server's cache (wait_ready followed it), the database stops.
    [[ $sync == postgres-down ]] && { "$PG_SERVER" halt "$pgdir" || fail "cannot stop PostgreSQL"; }
    measure "$name" "$url" "$cpupids"
    REPLAY_TEXT=
    [[ $sync == postgres-down ]] && replay_spool "$port"
    # Stopping drains: every click of a request the server took is committed before exit.
    stop_pid "$pid"
    forget_pid "$pid"
    stats=$(sed -n 's/.*stopped; \([0-9]*\) clicks committed in \([0-9]*\) batches.*/\1 \2/p' \
        "$dir/serve.err")
    clicks=$(count_clicks "$db" "$id") || fail "cannot count the clicks in $db"
    if [[ $sync == postgres* ]]; then
        cp "$pgdir/server.log" "$dir/postgres.log" 2>/dev/null || true
        "$PG_SERVER" stop "$pgdir" >/dev/null 2>&1 || say "stopping PostgreSQL of $name failed"
        pgdir=
    fi
    # The readiness probe (one or more 302s) + warm-up + measured run, minus non-302 answers.
    answered=$((WARM_REQ - WARM_BAD + W_REQ - W_BAD))
    extra=$((clicks - answered))
    if ((extra < 0)); then
        say "$name: DURABILITY FAILURE: wrk got $answered redirects but only $clicks clicks are stored"
        DURABILITY_FAIL=1
        dur="MISSING $((-extra))"
    else
        dur="ok"
    fi
    if [[ -n $REPLAY_TEXT && -n $stats ]]; then
        stats=$REPLAY_TEXT
    elif [[ -n $stats ]]; then
        stats=$(awk -v s="$stats" 'BEGIN { split(s, a, " "); printf "%d batches, %.1f clicks/batch", a[2], a[2] ? a[1] / a[2] : 0 }')
    else
        # No "stopped; N clicks committed" line: SIGTERM did not stop it and it was killed.
        stats="did not stop on SIGTERM: killed"
        STOP_HANG=1
    fi
    durability+=("$(printf '%-28s %10d %12d  %-10s %s' "$name" "$answered" "$clicks" "$dur" "$stats")")
    add_result "$target" "$round"
}

# The reference: nginx with a static 302, run as the current user from a temporary prefix.
run_nginx() {
    local round=$1 dir="$tmp/nginx-r$1" port pid attempt user_line=""
    mkdir -p "$dir"
    # As root, nginx would switch its workers to "nobody"; keep them as the current user.
    [[ $EUID -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
    for ((attempt = 0; attempt < 5; attempt++)); do
        port=$(free_port)
        cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes auto;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port;
        location / { return 302 $DEST; }
    }
}
EOF
        "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
        pid=$!
        pids+=("$pid")
        if wait_ready "http://127.0.0.1:$port/track/x" "$pid"; then
            measure "nginx-r$round" "http://127.0.0.1:$port/track/x" "$pid"
            stop_pid "$pid"
            forget_pid "$pid"
            add_result "nginx return 302" "$round"
            return 0
        fi
        stop_pid "$pid"
        forget_pid "$pid"
        grep -q "Address already in use" "$dir/error.log" "$dir/nginx.out" 2>/dev/null ||
            fail "nginx did not start: $(cat "$dir/nginx.out" "$dir/error.log" 2>/dev/null)"
    done
    fail "nginx found no free port in 5 attempts"
}

# ---- main ----

[[ -x $TRACKDOC ]] || fail "$TRACKDOC not found: run 'make' (or 'make bench') first"
command -v wrk >/dev/null || fail "wrk not found (Debian package: wrk)"
command -v curl >/dev/null || fail "curl not found (Debian package: curl)"
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [[ $RUN_NGINX != 0 && ! -x $NGINX ]]; then
    fail "nginx not found (Debian package: nginx-light); BENCH_NGINX=0 skips it"
fi
command -v python3 >/dev/null || say "python3 not found: counting clicks with 'trackdoc link show'"
if [[ $RUN_PG != 0 ]]; then
    command -v psql >/dev/null || fail "psql not found (Debian package: postgresql); BENCH_PG=0 skips PostgreSQL"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/trackdoc-bench-redirect.XXXXXX")
durability=()
DURABILITY_FAIL=0
BAD_RUN=0
STOP_HANG=0

printf 'redirect: wrk -t%s -c%s -d%s --latency (after a %s warm-up), %s rounds, %s CPUs, %s\n' \
    "$WRK_THREADS" "$CONNS" "$DURATION" "$WARMUP" "$ROUNDS" "$(nproc)" "$(date -u '+%Y-%m-%d %H:%M UTC')"

: >"$tmp/results.txt"
for ((round = 1; round <= ROUNDS; round++)); do
    for sync in $SYNC_MODES $([[ $RUN_PG != 0 ]] && echo postgres) \
        $([[ $RUN_PG != 0 && $RUN_OUTAGE != 0 ]] && echo postgres-down); do
        for threads in $SERVE_THREADS; do
            [[ $threads == default ]] && threads=
            run_trackdoc "$sync" "$threads" "$round"
        done
    done
    [[ $RUN_NGINX != 0 ]] && run_nginx "$round"
done

medians >"$tmp/medians.txt"
nginx_rps=$(awk -F'|' '$1 == "nginx return 302" { print $4 }' "$tmp/medians.txt")
DISTURBED=0

echo
printf '%-28s %4s %8s %7s %7s %7s | %-26s\n' "" "" "" "" "" "" "CPU during the run (cores)"
printf '%-28s %4s %8s %7s %7s %7s | %6s %7s %5s %5s\n' target runs req/s "p50 ms" "p99 ms" \
    "x nginx" server "us/req" wrk other
while IFS='|' read -r t used all rps p50 p99 cores cpuus wcores other; do
    ratio=-
    [[ -n $nginx_rps ]] && ratio=$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
    mark=
    ((used == 0)) && mark='*' && DISTURBED=1
    printf '%-28s %4s %8.0f %7.2f %7.2f %7s | %6.2f %7.1f %5.2f %5.2f\n' "$t" "$used/$all$mark" \
        "$rps" "$p50" "$p99" "$ratio" "$cores" "$cpuus" "$wcores" "$other"
done <"$tmp/medians.txt"
echo "(medians over the undisturbed runs; runs = undisturbed/all. CPU: server = all its threads or"
echo " processes, us/req = server CPU per completed request, other = the rest of the machine:"
echo " kernel threads and other processes; a run with other > $NOISE_CORES is disturbed)"
if ((DISTURBED)); then
    echo "WARNING: '*' = every run of that target was disturbed by other work on this machine:"
    echo "         those figures are not reliable; rerun when the machine is quiet"
fi

echo
echo "every 302 has its click (clicks stored >= redirects wrk completed, readiness probe included):"
printf '  %-28s %10s %12s  %-10s %s\n' run "302s (wrk)" "click rows" check "group commit (or spool)"
for d in "${durability[@]}"; do echo "  $d"; done

if ((STOP_HANG)); then
    echo "WARNING: trackdoc serve did not exit within 15 s of SIGTERM after a run (it was killed):"
    echo "         its graceful stop hangs when clients closed connections while their clicks"
    echo "         were being committed. The click counts above are unaffected."
fi

echo
printf 'goals: >= %s x nginx req/s with every click durable; p99 < %s ms at %s connections\n' \
    "$GOAL_RATIO" "$GOAL_P99_MS" "$CONNS"
while IFS='|' read -r t used _ rps _ p99 _; do
    [[ $t == trackdoc* ]] || continue
    if [[ -n $nginx_rps ]]; then
        ratio=$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
        rgoal=$(awk -v r="$ratio" -v g="$GOAL_RATIO" 'BEGIN { print (r >= g) ? "met" : "missed" }')
        rtext="$ratio x nginx (goal $GOAL_RATIO: $rgoal)"
    else
        rtext="no nginx run"
    fi
    pgoal=$(awk -v p="$p99" -v g="$GOAL_P99_MS" 'BEGIN { print (p < g) ? "met" : "missed" }')
    note=
    ((used == 0)) && note=" [disturbed runs only]"
    printf 'summary: redirect %-24s %6.0f req/s  %s; p99 %.2f ms (goal < %s ms: %s)%s\n' \
        "$t" "$rps" "$rtext" "$p99" "$GOAL_P99_MS" "$pgoal" "$note"
done <"$tmp/medians.txt"
((STOP_HANG)) && echo "summary: redirect: trackdoc serve did not exit on SIGTERM after a run under load (killed after 15 s)"

if ((DURABILITY_FAIL)); then
    say "some 302s have no stored click"
    exit 1
fi
if ((BAD_RUN)); then
    say "some runs had non-2xx/3xx answers"
    exit 1
fi
exit 0

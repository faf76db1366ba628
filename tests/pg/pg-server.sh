#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: initdb into a folder, listen on a free loopback
# port and on a unix socket inside that folder, stop and remove it all at the end.
#
#   tests/pg/pg-server.sh start DIR      starts a server in DIR (an empty folder; made if
#                                        missing) and prints its URL, postgres://...; exit 1 with
#                                        the server log when it cannot start
#   tests/pg/pg-server.sh stop DIR       stops that server and removes DIR (also half-started)
#   tests/pg/pg-server.sh halt DIR       stops that server, keeping DIR (a database outage)
#   tests/pg/pg-server.sh resume DIR     starts it again on the same port
#   tests/pg/pg-server.sh run CMD ARGS   starts one in a temporary folder, runs CMD with
#                                        TRACKDOC_TEST_DB and TD_TEST_STORE set to its URL,
#                                        stops it (even when CMD fails), exits with CMD's status
#
# initdb refuses to run as root: as root the server runs as the system user trackdoc-test
# (created when missing, no login, no home), or as nobody when that user cannot be made. The
# server trusts local connections: it is for tests only. Durability is off (fsync=off), unless
# PG_SERVER_DURABLE=1 (fsync, synchronous_commit and full_page_writes on, as in production:
# bench/redirect.sh) is set for start and resume.
set -euo pipefail

die() {
    echo "pg-server: $*" >&2
    exit 1
}

# The newest PostgreSQL server programs installed (Debian keeps them out of PATH).
pg_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return 0
    fi
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] && [ -x "$d/initdb" ] || die "initdb not found: install the postgresql package (scripts/install-deps.sh)"
    echo "$d"
}

# The user the server runs as: ourselves, or an unprivileged one when we are root.
server_user() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
        return 0
    fi
    if id trackdoc-test >/dev/null 2>&1 ||
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            trackdoc-test >/dev/null 2>&1; then
        echo trackdoc-test
    else
        echo nobody
    fi
}

# Runs a command as the server's user.
as_user() {
    local user=$1
    shift
    if [ "$user" = "$(id -un)" ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$user" -- "$@"
    else
        setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- "$@"
    fi
}

# A free TCP port on 127.0.0.1 (the kernel picks it; a race with another process is retried).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the server of DIR on port (as its user); returns pg_ctl's status.
pg_start() {
    local dir=$1 port=$2 sync=off
    [ "${PG_SERVER_DURABLE:-0}" = 1 ] && sync=on
    as_user "$(cat "$dir/.user")" "$(pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -t 60 -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
-c fsync=$sync -c synchronous_commit=$sync -c full_page_writes=$sync -c max_connections=300 \
-c shared_buffers=32MB" start >"$dir/pg_ctl.log" 2>&1
}

start() {
    local dir=$1 bin user port url try
    bin=$(pg_bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    user=$(server_user)
    # The server's user must reach the folder: parents of a mktemp folder are world-searchable.
    chown "$user" "$dir" 2>/dev/null || true
    chmod 0700 "$dir"
    echo "$user" >"$dir/.user"
    as_user "$user" "$bin/initdb" -D "$dir/data" -U trackdoc --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed (as $user)"; }
    for try in 1 2 3; do
        port=$(free_port)
        if pg_start "$dir" "$port"; then
            url="postgres://trackdoc@127.0.0.1:$port/trackdoc"
            "$bin/psql" -X -q -v ON_ERROR_STOP=1 "postgres://trackdoc@127.0.0.1:$port/postgres" \
                -c "CREATE DATABASE trackdoc" >/dev/null ||
                die "cannot create the database trackdoc"
            echo "$port" >"$dir/.port"
            echo "$url"
            return 0
        fi
        # A port taken between free_port and the start: try another one.
        grep -q "Address already in use" "$dir/server.log" 2>/dev/null || break
    done
    tail -n 30 "$dir/server.log" "$dir/pg_ctl.log" >&2 2>/dev/null || true
    die "the PostgreSQL server did not start (as $user)"
}

stop() {
    local dir=$1 bin user
    [ -d "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        bin=$(pg_bindir)
        user=$(cat "$dir/.user" 2>/dev/null || id -un)
        as_user "$user" "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            echo "pg-server: pg_ctl stop failed; see $dir/server.log" >&2
    fi
    rm -rf "$dir"
}

RUN_DIR=
run() {
    local url rc=0
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/trackdoc-pg.XXXXXX")
    trap 'stop "$RUN_DIR"' EXIT
    trap 'exit 130' INT TERM
    url=$(start "$RUN_DIR")
    echo "pg-server: $url" >&2
    TRACKDOC_TEST_DB=$url TD_TEST_STORE=$url "$@" || rc=$?
    return "$rc"
}

case "${1:-}" in
start)
    [ $# -eq 2 ] || die "usage: $0 start DIR"
    start "$2"
    ;;
stop)
    [ $# -eq 2 ] || die "usage: $0 stop DIR"
    stop "$2"
    ;;
halt)
    [ $# -eq 2 ] && [ -f "$2/.port" ] || die "usage: $0 halt DIR (of a started server)"
    as_user "$(cat "$2/.user")" "$(pg_bindir)/pg_ctl" -D "$2/data" -m fast -w -t 30 stop \
        >/dev/null || die "pg_ctl stop failed"
    ;;
resume)
    [ $# -eq 2 ] && [ -f "$2/.port" ] || die "usage: $0 resume DIR (of a halted server)"
    pg_start "$2" "$(cat "$2/.port")" || die "the server did not start again; see $2/server.log"
    ;;
run)
    shift
    [ $# -ge 1 ] || die "usage: $0 run COMMAND [ARGS]"
    run "$@"
    ;;
*)
    die "usage: $0 start DIR | stop DIR | halt DIR | resume DIR | run COMMAND [ARGS]"
    ;;
esac

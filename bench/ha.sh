#!/usr/bin/env bash
# KMIP Get and Create throughput and latency of skms in three set-ups, in one
# run, printed as one table (the high-availability performance requirement):
#
#   1 node / SQLite       one `skms serve` with its store in its data directory
#   1 node / PostgreSQL   one node on a throwaway PostgreSQL cluster that this
#                         script creates (initdb, pg_ctl) in a temporary directory
#   3 nodes / PostgreSQL  that node and two more on the same database (root.key
#                         copied), `skms bench kmip` spreading its connections
#                         round-robin over the three
#
# Usage:
#
#   bench/ha.sh                    (from any directory; no arguments)
#   DURATION=5 bench/ha.sh
#
# Settings (environment):
#   DURATION=8      measured seconds of each run
#   WARMUP=2        warm-up seconds of each run (not measured)
#   CONNECTIONS=32  KMIP connections of each run (each one request in flight)
#   SKMS_PG_BIN     directory of initdb, pg_ctl and createdb (default: pg_ctl on
#                   PATH, else the newest /usr/lib/postgresql/*/bin)
#   SKMS_BIN        the skms binary to run (default: the one built here)
#
# It builds skms once (`cargo build --release -p skms`; not with SKMS_BIN set),
# then for each set-up creates an account and an app with the admin CLI (`skms
# account create`, `skms app create`) and runs `skms bench kmip --op get` and
# `--op create`.
# Progress and each run's full report go to standard error; the table goes to
# standard output: ops/s, p50 and p99 (ms) of each set-up and operation, and
# each row's ops/s and p99 against the 1-node SQLite row of the same operation.
#
# Everything listens on 127.0.0.1 only (ports chosen by the system). PostgreSQL
# keeps its default durability (fsync, synchronous_commit on), as SQLite's
# synchronous=FULL: an acknowledged Create is on disk in every set-up. When run
# as root, PostgreSQL runs as the `postgres` system user (runuser), as the
# tests' clusters do. Nodes, PostgreSQL and temporary directories are stopped
# and removed on exit, failure and Ctrl-C included (bench/lib.sh holds the
# helpers it shares with compare.sh). The server, the database and the load
# client share this machine's CPUs: the figures compare set-ups on one machine,
# they are not a capacity figure for any of them.
set -euo pipefail

DURATION="${DURATION:-8}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
for v in DURATION WARMUP CONNECTIONS; do
    if ! [[ "${!v}" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
        echo "usage: [DURATION=8] [WARMUP=2] [CONNECTIONS=32] $0 ($v=${!v} is not a number)" >&2
        exit 2
    fi
done
if [[ $# -gt 0 ]]; then
    echo "usage: [DURATION=8] [WARMUP=2] [CONNECTIONS=32] $0 (no arguments)" >&2
    exit 2
fi

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
keep_only_skms_env SKMS_PG_BIN

PGDIR=""   # the PostgreSQL cluster
PG_STARTED=""

stop_pg() {
    if [[ -n "$PG_STARTED" ]]; then
        pg pg_ctl -D "$PGDIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            pg pg_ctl -D "$PGDIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
}
on_cleanup stop_pg

# ---- build ----

find_skms

temp_dir skms-ha
WORK="$TEMP_DIR"                     # data directories, outputs, CLI config
export SKMS_CONFIG_DIR="$WORK/cli"   # the CLI's login profiles, if it writes any

# ---- runs ----

ROWS=()   # "setup|op|ops/s|p50|p99"

# run SETUP CA ADDR[,ADDR…]: `skms bench kmip` Get then Create; adds two rows.
run() {
    local setup="$1" ca="$2" addrs="$3" op out
    for op in get create; do
        log "$setup: $op against $addrs ($CONNECTIONS connections, ${WARMUP} s warm-up, ${DURATION} s)"
        if ! out="$("$SKMS" bench kmip --addr "$addrs" --ca "$ca" \
            --username "$APP_USER" --password "$APP_SECRET" --op "$op" \
            --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" 2>&1)"; then
            log "$setup: $op failed:"
            echo "$out" >&2
            return 1
        fi
        sed 's/^/    /' <<<"$out" >&2
        ROWS+=("$setup|$op|$(figure 'ops/s:' <<<"$out")|$(figure 'latency p50:' <<<"$out")|$(figure 'latency p99:' <<<"$out")")
    done
}

# ---- (a) one node on SQLite ----

start_node sqlite
provision sqlite "$HTTPS_ADDR"
run "1 node / SQLite" "$WORK/sqlite/ca.crt" "$KMIP_ADDR"

# ---- a throwaway PostgreSQL cluster ----

pg_bin() {
    local d has_all
    has_all() { [[ -x "$1/pg_ctl" && -x "$1/initdb" && -x "$1/createdb" ]]; }
    if [[ -n "${SKMS_PG_BIN:-}" ]]; then
        has_all "$SKMS_PG_BIN" || { log "SKMS_PG_BIN=$SKMS_PG_BIN holds no pg_ctl, initdb and createdb"; return 1; }
        echo "$SKMS_PG_BIN"
        return 0
    fi
    if command -v pg_ctl >/dev/null; then
        d="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
        has_all "$d" && { echo "$d"; return 0; }
    fi
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$d" ]] && has_all "$d"; then
        echo "$d"
        return 0
    fi
    log "PostgreSQL is not installed (Debian: apt-get install postgresql), or set SKMS_PG_BIN"
    return 1
}
PG_BIN="$(pg_bin)"
PG_USER=""
[[ "$(id -u)" == 0 ]] && PG_USER=postgres

# pg PROGRAM ARGS…: a PostgreSQL program, as `postgres` when we are root, in the cluster's directory.
pg() {
    local program="$1"
    shift
    if [[ -n "$PG_USER" ]]; then
        (cd "$PGDIR" && runuser -u "$PG_USER" -- "$PG_BIN/$program" "$@")
    else
        (cd "$PGDIR" && "$PG_BIN/$program" "$@")
    fi
}

temp_dir skms-ha-pg
PGDIR="$TEMP_DIR"
[[ -n "$PG_USER" ]] && chown "$PG_USER:" "$PGDIR"
log "PostgreSQL: initdb in $PGDIR ($PG_BIN${PG_USER:+, as $PG_USER})"
pg initdb -D "$PGDIR/data" -U skms --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
for attempt in 1 2 3 4 5; do
    PG_PORT="$(free_port)"
    PG_STARTED=1
    if pg pg_ctl -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGDIR" start >/dev/null; then
        break
    fi
    PG_STARTED=""
    if [[ $attempt == 5 ]]; then
        log "pg_ctl start failed; the server's log:"
        cat "$PGDIR/server.log" >&2
        exit 1
    fi
done
pg createdb -h 127.0.0.1 -p "$PG_PORT" -U skms skms
PG_URL="postgres://skms@127.0.0.1:$PG_PORT/skms"
log "PostgreSQL listening on 127.0.0.1:$PG_PORT"

# ---- (b) one node on PostgreSQL ----

start_node pg1 --storage-url "$PG_URL"
PG1_KMIP="$KMIP_ADDR"
provision pg1 "$HTTPS_ADDR"
run "1 node / PostgreSQL" "$WORK/pg1/ca.crt" "$PG1_KMIP"

# ---- (c) three nodes on that database: pg1 and two more with its root.key ----

ADDRS="$PG1_KMIP"
for n in pg2 pg3; do
    mkdir -p "$WORK/$n"
    install -m 0600 "$WORK/pg1/root.key" "$WORK/$n/root.key"
    start_node "$n" --storage-url "$PG_URL"
    ADDRS="$ADDRS,$KMIP_ADDR"
done
# The same account and app (one database), the same CA (taken from the database).
run "3 nodes / PostgreSQL" "$WORK/pg1/ca.crt" "$ADDRS"

# ---- the table ----

{
    printf '\nskms bench kmip: %s connections, %s s warm-up, %s s measured per run (%s CPUs: %s)\n\n' \
        "$CONNECTIONS" "$WARMUP" "$DURATION" "$(nproc)" "server(s), PostgreSQL and client share them"
    printf '%s\n' "${ROWS[@]}" | awk -F'|' '
        { setup[NR] = $1; op[NR] = $2; rate[NR] = $3; p50[NR] = $4; p99[NR] = $5
          if ($1 == "1 node / SQLite") { base_rate[$2] = $3; base_p99[$2] = $5 } }
        END {
            fmt = "%-22s %-7s %10s %9s %9s %14s %12s\n"
            printf fmt, "setup", "op", "ops/s", "p50 ms", "p99 ms", "ops/s ratio", "p99 ratio"
            for (pass = 1; pass <= 2; pass++) {
                want = pass == 1 ? "get" : "create"
                for (i = 1; i <= NR; i++) {
                    if (op[i] != want) continue
                    r = base_rate[want] > 0 ? sprintf("%.2fx", rate[i] / base_rate[want]) : "-"
                    q = base_p99[want] > 0 ? sprintf("%.2fx", p99[i] / base_p99[want]) : "-"
                    printf fmt, setup[i], op[i], sprintf("%.0f", rate[i]), sprintf("%.2f", p50[i]), sprintf("%.2f", p99[i]), r, q
                }
            }
            print "\nratio: against the 1 node / SQLite row of the same op (ops/s: higher is better; p99: lower is better)"
        }'
}

#!/usr/bin/env bash
# skms against its performance targets (issue 7), in one run, printed as one
# table: each target, the figure measured here, and whether it is met.
#
# Usage:
#
#   bench/targets.sh               (from any directory; no arguments)
#   BIG_KEYS=100000 DURATION=5 bench/targets.sh
#
# Settings (environment):
#   DURATION=10      measured seconds of each timed run
#   WARMUP=2         warm-up seconds of each timed run (not measured)
#   CONNECTIONS=32   connections of the get, create and vcenter runs
#   HOSTS=2000       hosts of the boot storm
#   IDLE=10000       connections of the idle run
#   SMALL_KEYS=1000  keys in the account of the small scale run
#   BIG_KEYS=1000000 keys in the account of the large scale run (made over
#                    KMIP before it is measured: minutes at this size)
#   SKMS_BIN         the skms binary (default: `cargo build --release -p skms`)
#
# What it measures, each on a node of its own (`skms serve`, SQLite in its data
# directory, its defaults but --max-connections 12000), the load from
# `skms bench kmip` on this same machine, authenticating by a client
# certificate that the node issued to its app (as vCenter):
#
#   get        persistent connections, Get of pre-created AES-256 keys:
#              ≥ 25,000 ops/s, p99 < 5 ms
#   create     durable Creates (acknowledged once committed and synced):
#              ≥ 5,000 ops/s
#   vcenter    vCenter's sequence, a new TLS connection per action with
#              Discover Versions first: ≥ 1,500 actions/s (the load tool
#              resumes TLS sessions as the server allows, as TLS clients do;
#              the share resumed is shown, and a second run without any
#              resumption is shown for information)
#   boot-storm HOSTS connections opened at once, each Discover Versions + Get
#              of one shared key: the last host has its key within 3 s, none
#              refused
#   idle       IDLE connections held without traffic: the node's resident
#              memory grows by less than 200 MiB (read from /proc while they
#              are held)
#   scale      Get and Locate by Name (one workload, half each) in an account
#              of SMALL_KEYS and one of BIG_KEYS keys: p99 at BIG_KEYS within
#              20 % of p99 at SMALL_KEYS, and the big node's resident memory
#              under 1 GiB
#
# Everything listens on 127.0.0.1 only; nodes and temporary directories are
# removed on exit, failure and Ctrl-C included. The server and the load client
# share this machine's CPUs, as the targets say.
set -euo pipefail

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
HOSTS="${HOSTS:-2000}"
IDLE="${IDLE:-10000}"
SMALL_KEYS="${SMALL_KEYS:-1000}"
BIG_KEYS="${BIG_KEYS:-1000000}"
for v in DURATION WARMUP CONNECTIONS HOSTS IDLE SMALL_KEYS BIG_KEYS; do
    if ! [[ "${!v}" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
        echo "usage: [SETTING=value…] $0 ($v=${!v} is not a number; see the header)" >&2
        exit 2
    fi
done
if [[ $# -gt 0 ]]; then
    echo "usage: [SETTING=value…] $0 (no arguments; see the header)" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "$0: python3 is needed to read the JSON reports" >&2; exit 1; }

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
keep_only_skms_env
find_skms
temp_dir skms-targets
WORK="$TEMP_DIR"
export SKMS_CONFIG_DIR="$WORK/cli"

# Both sides hold thousands of connections.
need=$((IDLE > HOSTS ? IDLE : HOSTS))
if (($(ulimit -n) < need + 256)); then
    ulimit -n $((need + 256)) 2>/dev/null || {
        log "open files are limited to $(ulimit -n); $((need + 256)) are needed (ulimit -n)"
        exit 1
    }
fi

# node NAME: a fresh node with an account, an app and a client certificate
# issued to it; sets NODE_PID, NODE_KMIP and BENCH (the bench command line
# against it, without the workload).
node() {
    local name="$1"
    start_node "$name" --max-connections 12000
    NODE_PID=$SPAWNED_PID
    NODE_KMIP=$KMIP_ADDR
    provision "$name" "$HTTPS_ADDR"
    "${ADMIN_CLI[@]}" "$SKMS" app issue-cert bench \
        --out-cert "$WORK/$name.crt" --out-key "$WORK/$name.key" >/dev/null
    BENCH=("$SKMS" bench kmip --addr "$NODE_KMIP" --ca "$WORK/$name/ca.crt"
        --cert "$WORK/$name.crt" --key "$WORK/$name.key" --json)
}

# rss_mib PID: resident memory of PID in MiB.
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# json FILE EXPR: a value of the JSON report in FILE (EXPR in Python, the
# report being r).
json() { python3 -c "import json,sys; r = json.load(open(sys.argv[1])); print($2)" "$1"; }

# bench NAME ARGS…: runs the bench (progress to standard error), its report to
# $WORK/NAME.json; a failed run stops the script.
bench() {
    local name="$1"
    shift
    log "$name: ${*}"
    if ! "${BENCH[@]}" "$@" >"$WORK/$name.json"; then
        log "$name: the run failed:"
        cat "$WORK/$name.json" >&2
        exit 1
    fi
}

ROWS=() # "target|goal|measured|met"
row() { ROWS+=("$1|$2|$3|$4"); }
met() { python3 -c "import sys; print('yes' if $1 else 'NO')"; }

timed=(--connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP")

# ---- get, create, vcenter, boot storm on one node ----

node main
bench get --workload get "${timed[@]}"
rate=$(json "$WORK/get.json" "round(r['actions_per_s'])")
p99=$(json "$WORK/get.json" "r['latency_ms']['p99']")
row "get, $CONNECTIONS persistent connections" "≥ 25,000 ops/s, p99 < 5 ms" \
    "$rate ops/s, p99 $p99 ms" "$(met "$rate >= 25000 and $p99 < 5")"

bench create --workload create "${timed[@]}"
rate=$(json "$WORK/create.json" "round(r['actions_per_s'])")
p99=$(json "$WORK/create.json" "r['latency_ms']['p99']")
row "create (durable), $CONNECTIONS connections" "≥ 5,000 ops/s" \
    "$rate ops/s, p99 $p99 ms" "$(met "$rate >= 5000")"

bench vcenter --workload vcenter --new-connection-per-action "${timed[@]}"
rate=$(json "$WORK/vcenter.json" "round(r['actions_per_s'])")
p99=$(json "$WORK/vcenter.json" "r['latency_ms']['p99']")
resumed=$(json "$WORK/vcenter.json" "round(100 * r['handshakes_resumed'] / max(1, r['handshakes']))")
row "vcenter, a new TLS connection per action" "≥ 1,500 actions/s" \
    "$rate actions/s, p99 $p99 ms, $resumed % resumed" "$(met "$rate >= 1500")"
# The same without any session resumption: every handshake sends and checks
# certificates (a client that keeps no TLS session); for information.
bench vcenter-full --workload vcenter --new-connection-per-action --no-resumption "${timed[@]}"
rate=$(json "$WORK/vcenter-full.json" "round(r['actions_per_s'])")
p99=$(json "$WORK/vcenter-full.json" "r['latency_ms']['p99']")
row "  the same, no TLS session resumed" "(for information)" \
    "$rate actions/s, p99 $p99 ms" "-"

bench boot-storm --workload boot-storm --hosts "$HOSTS"
last=$(json "$WORK/boot-storm.json" "round(r['duration_s'], 2)")
got=$(json "$WORK/boot-storm.json" "r['actions']")
failed=$(json "$WORK/boot-storm.json" "r['error_total']")
row "boot storm, $HOSTS hosts at once" "all keys within 3 s, none refused" \
    "$got keys, the last after $last s, $failed failed" \
    "$(met "$got == $HOSTS and $failed == 0 and $last <= 3")"

# ---- idle connections: the node's memory while they are held ----

node idle
before=$(rss_mib "$NODE_PID")
hold=$(python3 -c "print(max(15, $IDLE / 500))")
log "idle: $IDLE connections held for $hold s (node at $before MiB)"
"${BENCH[@]}" --workload idle --connections "$IDLE" --duration "$hold" \
    >"$WORK/idle.json" 2>"$WORK/idle.err" &
idle_pid=$!
during=""
for _ in $(seq 1200); do
    if grep -q '^holding ' "$WORK/idle.err"; then
        sleep 2
        during=$(rss_mib "$NODE_PID")
        break
    fi
    kill -0 "$idle_pid" 2>/dev/null || break
    sleep 0.5
done
wait "$idle_pid" || { log "idle: the run failed:"; cat "$WORK/idle.err" "$WORK/idle.json" >&2; exit 1; }
[[ -n "$during" ]] || { log "idle: the connections were never all open"; cat "$WORK/idle.err" >&2; exit 1; }
held=$(json "$WORK/idle.json" "r['actions']")
row "$IDLE idle connections" "< 200 MiB of resident memory" \
    "+$((during - before)) MiB ($before → $during MiB), $held answered after" \
    "$(met "$((during - before)) < 200 and $held == $IDLE")"

# ---- scale: Get and Locate among few and among many keys ----

for size in "$SMALL_KEYS" "$BIG_KEYS"; do
    node "keys-$size"
    bench "scale-$size" --workload mix --mix get=1,locate=1 --keys "$size" "${timed[@]}"
    rss=$(rss_mib "$NODE_PID")
    echo "$rss" >"$WORK/scale-$size.rss"
done
for a in get locate; do
    small=$(json "$WORK/scale-$SMALL_KEYS.json" "r['by_action']['$a']['latency_ms']['p99']")
    big=$(json "$WORK/scale-$BIG_KEYS.json" "r['by_action']['$a']['latency_ms']['p99']")
    ratio=$(python3 -c "print(round($big / $small, 2))")
    row "$a p99, $BIG_KEYS keys against $SMALL_KEYS" "within 20 % (ratio ≤ 1.20)" \
        "$big ms against $small ms: ${ratio}x" "$(met "$ratio <= 1.2")"
done
rss=$(cat "$WORK/scale-$BIG_KEYS.rss")
row "resident memory with $BIG_KEYS keys" "< 1 GiB" "$rss MiB" "$(met "$rss < 1024")"

# ---- the table ----

{
    printf '\nskms performance targets: %s CPUs (server and load client share them), %s s measured after %s s of warm-up per timed run\n\n' \
        "$(nproc)" "$DURATION" "$WARMUP"
    printf '%s\n' "${ROWS[@]}" | awk -F'|' '
        { t[NR] = $1; g[NR] = $2; m[NR] = $3; ok[NR] = $4 }
        END {
            fmt = "%-46s %-34s %-48s %s\n"
            printf fmt, "target", "goal", "measured", "met"
            for (i = 1; i <= NR; i++) printf fmt, t[i], g[i], m[i], ok[i]
        }'
}

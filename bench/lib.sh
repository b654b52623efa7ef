# shellcheck shell=bash
# Helpers shared by the benchmark scripts of this directory (ha.sh, compare.sh).
# Source it near the top of a script that runs under `set -euo pipefail`:
#
#   source "$(dirname "$0")/lib.sh"
#
# Sourcing installs the clean-up traps (EXIT, INT, TERM). What it provides:
#
#   log MESSAGE…            to standard error, prefixed with the script's name
#   keep_only_skms_env V…   unsets every SKMS_* variable but SKMS_BIN and V…
#   temp_dir PREFIX         a temporary directory, removed on exit: TEMP_DIR
#   on_cleanup FUNCTION     FUNCTION runs on exit, after the processes stopped
#                           and before the temporary directories go
#   spawn [--stop-signal SIG] NAME OUT ERR CMD…
#                           starts CMD in a process group of its own, stopped
#                           on exit; sets SPAWNED_PID
#   signal SIG PID          SIG to PID's process group (to PID if it leads none)
#   find_skms               sets SKMS: $SKMS_BIN, else builds it (cargo)
#   start_node NAME [serve flags…]
#                           `skms serve` on $WORK/NAME: KMIP_ADDR, HTTPS_ADDR
#   provision NODE HTTPS    an account and an app; sets APP_USER, APP_SECRET,
#                           ADMIN_CLI and SYSADMIN_CLI
#   field LABEL             last word of the first line of stdin holding LABEL
#   figure LABEL            number after LABEL at the start of a line of stdin
#   free_port               a port on 127.0.0.1 that nothing listens on
#
# WORK (the script's own temporary directory, from temp_dir) holds the nodes'
# data directories and outputs.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { echo "$(basename "$0"): $*" >&2; }

# keep_only_skms_env [NAME…]: the settings of the caller's own server or CLI
# must not leak into the nodes a benchmark starts: every SKMS_* variable goes,
# but SKMS_BIN (the binary to benchmark) and the NAMEs given.
keep_only_skms_env() {
    local v k keep
    while read -r v; do
        keep=""
        for k in SKMS_BIN "$@"; do
            [[ "$v" == "$k" ]] && keep=1
        done
        [[ -n "$keep" ]] || unset "$v"
    done < <(compgen -e | grep '^SKMS_' || true)
}

# ---- clean-up, whatever happens ----

WORK=""
TEMP_DIRS=()        # removed last, newest first
CLEANUP_HOOKS=()    # run after the processes stopped
PIDS=()             # each the leader of a process group of its own (spawn)
PID_NAMES=()
PID_SIGNALS=()

temp_dir() {
    TEMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    TEMP_DIRS+=("$TEMP_DIR")
}

on_cleanup() { CLEANUP_HOOKS+=("$1"); }

# alive PID: PID's process group (or PID, when it leads none) is not gone.
alive() { kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null; }

# signal SIG PID: SIG to PID's process group, or to PID when it leads none.
signal() { kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null; }

cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    local i pid hook
    for i in "${!PIDS[@]}"; do
        signal "${PID_SIGNALS[$i]}" "${PIDS[$i]}"
    done
    for i in "${!PIDS[@]}"; do
        pid="${PIDS[$i]}"
        for _ in $(seq 100); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            log "${PID_NAMES[$i]} (pid $pid) did not stop in 10 s after SIG${PID_SIGNALS[$i]}: SIGKILL"
            signal KILL "$pid"
        fi
        wait "$pid" 2>/dev/null
    done
    for hook in "${CLEANUP_HOOKS[@]}"; do
        "$hook"
    done
    for ((i = ${#TEMP_DIRS[@]} - 1; i >= 0; i--)); do
        rm -rf "${TEMP_DIRS[$i]}"
    done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# spawn [--stop-signal SIG] NAME OUT ERR CMD…: runs CMD in the background, its
# standard output to OUT, its errors to ERR, no input, in a session (so a
# process group) of its own: on exit SIG (default TERM) goes to the whole
# group, then SIGKILL after 10 s to whatever is left. Sets SPAWNED_PID.
spawn() {
    local sig=TERM
    if [[ "$1" == --stop-signal ]]; then
        sig="$2"
        shift 2
    fi
    local name="$1" out="$2" err="$3"
    shift 3
    # Without job control (a script), setsid execs CMD itself: $! is CMD.
    setsid "$@" >"$out" 2>"$err" </dev/null &
    SPAWNED_PID=$!
    PIDS+=("$SPAWNED_PID")
    PID_NAMES+=("$name")
    PID_SIGNALS+=("$sig")
}

# ---- the skms binary ----

# find_skms: sets SKMS to $SKMS_BIN when set, else builds skms once
# (`cargo build --release -p skms` in this repository) and takes that binary.
find_skms() {
    if [[ -n "${SKMS_BIN:-}" ]]; then
        SKMS="$SKMS_BIN"
        [[ "$SKMS" == */* ]] || SKMS="$(command -v "$SKMS" || echo "$SKMS")"
        [[ "$SKMS" == /* ]] || SKMS="$PWD/$SKMS"
        log "skms: $SKMS (SKMS_BIN)"
    else
        log "building skms (release)"
        (cd "$ROOT" && cargo build --release -p skms --quiet)
        SKMS="${CARGO_TARGET_DIR:-$ROOT/target}/release/skms"
        [[ "$SKMS" == /* ]] || SKMS="$ROOT/$SKMS"
    fi
    [[ -x "$SKMS" ]] || { log "no binary at $SKMS"; exit 1; }
}

# ---- nodes ----

# start_node NAME [serve flags…]: starts `skms serve` on $WORK/NAME with
# system-chosen loopback ports, waits (60 s at most) until it listens, and sets
# KMIP_ADDR and HTTPS_ADDR.
start_node() {
    local name="$1"
    shift
    local dir="$WORK/$name"
    mkdir -p "$dir"
    spawn "node $name" "$WORK/$name.out" "$WORK/$name.log" \
        "$SKMS" serve --data-dir "$dir" --kmip-addr 127.0.0.1:0 --https-addr 127.0.0.1:0 "$@"
    local pid=$SPAWNED_PID
    for _ in $(seq 600); do
        if grep -q '^KMIP over TLS listening on ' "$WORK/$name.out"; then
            KMIP_ADDR="$(sed -n 's/^KMIP over TLS listening on //p' "$WORK/$name.out")"
            HTTPS_ADDR="$(sed -n 's/^REST API (HTTPS) listening on //p' "$WORK/$name.out")"
            log "node $name (pid $pid): KMIP $KMIP_ADDR, REST https://$HTTPS_ADDR"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    log "node $name did not start; its output and log:"
    cat "$WORK/$name.out" "$WORK/$name.log" >&2
    return 1
}

# The value at the end of the line of `text` (stdin) holding LABEL.
field() { awk -v label="$1" 'index($0, label) { print $NF; exit }'; }

# The first number after LABEL on its line of report (stdin).
figure() { awk -v label="$1" 'index($0, label) == 1 { print $(split(label, words, " ") + 1); exit }'; }

# provision NODE HTTPS: creates an account and an app named bench through
# NODE's REST API (at HTTPS) with the admin CLI, as the sysadmin that NODE
# printed at its first start; sets APP_USER and APP_SECRET (the KMIP username,
# which is the app's UUID, and password), ADMIN_CLI (`"${ADMIN_CLI[@]}" "$SKMS"
# app …` runs the CLI as the account's admin) and SYSADMIN_CLI (as the
# sysadmin).
provision() {
    local node="$1" https="$2"
    local sysadmin_pw
    sysadmin_pw="$(sed -n 's/.*sysadmin login .* with password \([^ ]*\) .*/\1/p' "$WORK/$node.out")"
    [[ -n "$sysadmin_pw" ]] || { log "no sysadmin password in $node's output"; return 1; }
    local cli=(env "SKMS_SERVER=https://$https" "SKMS_CA_CERT=$WORK/$node/ca.crt")
    SYSADMIN_CLI=("${cli[@]}" SKMS_USER=sysadmin "SKMS_PASSWORD=$sysadmin_pw")
    local made
    made="$("${SYSADMIN_CLI[@]}" "$SKMS" account create bench)"
    local admin admin_pw
    admin="$(field 'account admin login' <<<"$made")"
    admin_pw="$(field 'account admin password' <<<"$made")"
    ADMIN_CLI=("${cli[@]}" "SKMS_USER=$admin" "SKMS_PASSWORD=$admin_pw")
    local app
    app="$("${ADMIN_CLI[@]}" "$SKMS" app create --name bench)"
    APP_USER="$(field 'KMIP username' <<<"$app")"
    APP_SECRET="$(field 'KMIP password' <<<"$app")"
    [[ -n "$APP_USER" && -n "$APP_SECRET" ]] || { log "no app credential in: $app"; return 1; }
}

# ---- ports ----

# A port on 127.0.0.1 that nothing listens on (a connection is refused), below
# the range the system takes the local ports of outgoing connections from (one
# of those cannot be listened on, yet refuses connections).
free_port() {
    local p low=32768
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    ((low > 11000)) || low=60000
    for _ in $(seq 100); do
        p=$((10000 + RANDOM % (low - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

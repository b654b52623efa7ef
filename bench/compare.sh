#!/usr/bin/env bash
# skms against another KMIP server, the same `skms bench kmip` workloads on
# both, printed as one table. By default the other server is PyKMIP's (PyPI
# pykmip 0.11.0, the reference implementation our tests talk to), started here;
# any other KMIP server can take its place (OTHER_ADDR, below).
#
# Usage:
#
#   bench/compare.sh               (from any directory; no arguments)
#   WORKLOADS="get create" DURATION=10 ROUNDS=3 bench/compare.sh
#   OTHER_ADDR=127.0.0.1:5696 OTHER_CA=ca.pem OTHER_CERT=client.pem \
#     OTHER_KEY=client.key OTHER_NAME=acme-kms bench/compare.sh
#
# Settings (environment):
#   WORKLOADS="get create locate get-attributes vcenter"
#                        `skms bench kmip --workload` values, run in this order
#                        (any that `skms bench kmip --help` lists: also
#                        boot-storm, mix)
#   DURATION=5           measured seconds of each run
#   WARMUP=1             warm-up seconds of each run (not measured)
#   ROUNDS=2             runs of each workload on each server, alternating:
#                        skms, other, skms, other, …
#   CONNECTIONS=8        KMIP connections of each run against skms
#   PYKMIP_CONNECTIONS=8 KMIP connections of each run against the other server
#                        (PyKMIP or OTHER_ADDR). Both 8 by default: the same
#                        closed-loop load on both. PyKMIP runs one thread per
#                        connection but one request at a time, so more
#                        connections only lengthen its queue (its p99 grows
#                        with them, its actions/s does not). Its listen backlog
#                        is 5: at 32 connections opened at once, dropped SYNs
#                        and their retries made connects outlast the bench's
#                        10 s timeout here (BENCH_FLAGS="--timeout 30" got them
#                        through); 16 went through. The footer says what was
#                        used
#   KMIP_VERSION=1.2     protocol version of every request, on both servers
#                        (PyKMIP 0.11 speaks 1.0 to 2.0, skms 1.0 to 2.1)
#   BENCH_FLAGS          more `skms bench kmip` flags for every run, e.g.
#                        "--keys 100 --hosts 8" (split on spaces)
#   SKMS_BIN             the skms binary (default: `cargo build --release -p
#                        skms` in this repository, then target/release/skms)
#   PYKMIP_PYTHON        a Python that imports pykmip 0.11.0 (default: what
#                        tools/pykmip-python prints, which makes a venv under
#                        target/ the first time)
#
#   The other server instead of PyKMIP (then no PyKMIP is started):
#   OTHER_ADDR=HOST:PORT its KMIP over TLS listener
#   OTHER_CA=FILE        CA certificate (PEM) its server certificate chains to
#   OTHER_CERT, OTHER_KEY  client certificate and key (PEM) it accepts, if any
#   OTHER_USERNAME, OTHER_PASSWORD  KMIP credential it wants, if any
#   OTHER_SERVER_NAME    TLS name to verify (default: OTHER_ADDR's host)
#   OTHER_NAME=other     its label in the table
#   ALLOW_REMOTE=1       let OTHER_ADDR be off this machine (`--allow-remote`);
#                        without it only loopback addresses are loaded, and
#                        `skms bench kmip` refuses any other. Load only servers
#                        you are allowed to load.
#
# What it does: builds or takes skms, starts one `skms serve` node (SQLite
# store in its data directory, as ha.sh's first set-up), creates an account and
# an app named bench with the admin CLI, makes a throwaway CA with the openssl
# command line (EC P-256) that issues PyKMIP's server certificate (SAN
# 127.0.0.1 and localhost, serverAuth) and one client certificate (clientAuth)
# whose CN is the app's UUID, and trusts that CA for the app (`skms app
# trust-ca`, which also switches the app to certificate authentication). The
# same client certificate and key authenticate against both servers; skms
# presents its own server certificate (its data directory's ca.crt is trusted
# for it). PyKMIP gets a config file, an SQLite database and a log in the
# temporary directory (auth_suite TLS1.2, TLS client authentication required,
# logging_level WARNING so that it does not log every request) and listens on
# 127.0.0.1 on a free port.
#
# Then, for each workload, ROUNDS times: `skms bench kmip --workload W --json`
# against skms, then against the other server, same duration, warm-up and
# KMIP version. A run that ends with failed actions (exit status 1) is a
# result like any other, its errors counted and named; only a server that
# cannot be started (or an OTHER_ADDR that does not answer) stops the script.
# Objects made by a run stay (the read workloads make --keys 100 named keys
# before each run, create and vcenter make one per action): later runs and
# workloads meet a store that grew, by more on the faster server. The log and
# the footer say how many objects each store held when each workload began;
# it matters to PyKMIP, whose Locate reads every object of its store.
#
# Output: progress and a one-line summary of each run on standard error; on
# standard output the table: for each workload and server, actions/s (the
# report's actions_per_s: actions that succeeded; an action is one Get,
# Create, …; for vcenter one of its three connections' worth of requests),
# p99 of an action's latency in ms (latency_ms.p99) and errors (error_total:
# failed actions and failures the bench tolerates), each the mean of the
# rounds (errors: their sum); then skms/other of actions/s (above 1: skms does
# more) and of p99 (below 1: skms answers faster). The footer names the
# connections, the KMIP version, the store sizes and every kind of error; a
# ratio marked * has notes there. An action counts when it ends inside the
# measured time, and one still in flight at the end is not counted: when a
# server's p99 is a sizable part of DURATION its actions/s is imprecise, and
# the footer says so (raise DURATION).
#
# PyKMIP 0.11 has no Add Attribute: it cannot even parse a message that holds
# one and answers vcenter's batch of three Add Attributes with a single
# Invalid Message error, which the bench counts as a tolerated failure ("wrong
# number of batch items (tolerated, as vCenter does)"): vCenter carries on.
#
# Everything started here listens on 127.0.0.1 only (ports chosen by the
# system); servers and temporary directories are stopped and removed on exit,
# failure and Ctrl-C included. Both servers and the load client share this
# machine's CPUs, and PyKMIP is a reference implementation in Python (one
# engine lock serializes all its requests): the table compares the two on one
# machine, it is not a capacity figure for either.
set -euo pipefail

WORKLOADS="${WORKLOADS:-get create locate get-attributes vcenter}"
DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-1}"
ROUNDS="${ROUNDS:-2}"
CONNECTIONS="${CONNECTIONS:-8}"
PYKMIP_CONNECTIONS="${PYKMIP_CONNECTIONS:-8}"
KMIP_VERSION="${KMIP_VERSION:-1.2}"
BENCH_FLAGS="${BENCH_FLAGS:-}"
OTHER_ADDR="${OTHER_ADDR:-}"
ALLOW_REMOTE="${ALLOW_REMOTE:-}"

usage() {
    echo "usage: [WORKLOADS=…] [DURATION=5] [WARMUP=1] [ROUNDS=2] [CONNECTIONS=8] [PYKMIP_CONNECTIONS=8]" \
        "[KMIP_VERSION=1.2] [OTHER_ADDR=host:port OTHER_CA=… …] $0 ($1; the header of $0 lists the settings)" >&2
    exit 2
}
[[ $# -eq 0 ]] || usage "no arguments"
for v in DURATION WARMUP; do
    [[ "${!v}" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage "$v=${!v} is not a number"
done
for v in ROUNDS CONNECTIONS PYKMIP_CONNECTIONS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || usage "$v=${!v} is not a whole number above 0"
done
[[ "$KMIP_VERSION" =~ ^[0-9]+[.][0-9]+$ ]] || usage "KMIP_VERSION=$KMIP_VERSION is not MAJOR.MINOR"
read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
[[ ${#WORKLOAD_LIST[@]} -gt 0 ]] || usage "WORKLOADS is empty"
read -r -a EXTRA_FLAGS <<<"$BENCH_FLAGS"
if [[ -n "$OTHER_ADDR" ]]; then
    [[ -n "${OTHER_CA:-}" ]] || usage "OTHER_ADDR needs OTHER_CA"
    [[ -z "${OTHER_CERT:-}" && -z "${OTHER_KEY:-}" || -n "${OTHER_CERT:-}" && -n "${OTHER_KEY:-}" ]] ||
        usage "OTHER_CERT and OTHER_KEY go together"
    [[ -z "${OTHER_USERNAME:-}" && -z "${OTHER_PASSWORD:-}" || -n "${OTHER_USERNAME:-}" && -n "${OTHER_PASSWORD:-}" ]] ||
        usage "OTHER_USERNAME and OTHER_PASSWORD go together"
    for v in OTHER_CA OTHER_CERT OTHER_KEY; do
        [[ -z "${!v:-}" || -r "${!v}" ]] || usage "$v=${!v} cannot be read"
    done
    OTHER_NAME="${OTHER_NAME:-other}"
    OTHER_HOST="${OTHER_ADDR%:*}"
    OTHER_HOST="${OTHER_HOST#[}"
    OTHER_HOST="${OTHER_HOST%]}"
    [[ "$OTHER_ADDR" == *:* && "${OTHER_ADDR##*:}" =~ ^[0-9]+$ && -n "$OTHER_HOST" ]] ||
        usage "OTHER_ADDR=$OTHER_ADDR is not HOST:PORT"
    # Not even a connection attempt to another machine without ALLOW_REMOTE=1.
    [[ -n "$ALLOW_REMOTE" || "$OTHER_HOST" =~ ^(127[.][0-9.]+|localhost|::1)$ ]] ||
        usage "OTHER_ADDR=$OTHER_ADDR is not a loopback address (ALLOW_REMOTE=1 if you may load it)"
else
    OTHER_NAME="${OTHER_NAME:-pykmip}"
fi
[[ "$ALLOW_REMOTE" == "" || "$ALLOW_REMOTE" == 1 ]] || usage "ALLOW_REMOTE is 1 or unset"

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2119 # (no SKMS_ variable to keep but SKMS_BIN)
keep_only_skms_env

command -v openssl >/dev/null || { log "the openssl command line is needed (Debian: apt-get install openssl)"; exit 1; }
command -v python3 >/dev/null || { log "python3 is needed (it reads the runs' JSON)"; exit 1; }

if [[ -n "$OTHER_ADDR" ]] && ! (exec 3<>"/dev/tcp/$OTHER_HOST/${OTHER_ADDR##*:}") 2>/dev/null; then
    log "$OTHER_NAME: nothing answers at $OTHER_ADDR"
    exit 1
fi

find_skms
if ! "$SKMS" bench kmip --help 2>/dev/null | grep -q -- '--workload'; then
    log "$SKMS has no \`skms bench kmip --workload\` (and --json, --cert): too old for this script"
    exit 1
fi
# The workloads this skms knows: the "- NAME:" lines of its help.
for w in "${WORKLOAD_LIST[@]}"; do
    "$SKMS" bench kmip --help | grep -q -- "^ *- $w: " || usage "$SKMS knows no workload $w"
done

temp_dir skms-compare
WORK="$TEMP_DIR"                     # data directory, certificates, PyKMIP, outputs
export SKMS_CONFIG_DIR="$WORK/cli"   # the CLI's login profiles, if it writes any
mkdir -p "$WORK/pki" "$WORK/runs"

# ---- skms: one node, an account, an app ----

start_node skms
SKMS_KMIP="$KMIP_ADDR"
provision skms "$HTTPS_ADDR"
log "skms: app bench, KMIP username (app UUID) $APP_USER"

# ---- throwaway certificates ----

PKI="$WORK/pki"

# ossl ARGS…: the openssl command line, quiet unless it fails.
ossl() {
    local out
    out="$(openssl "$@" 2>&1)" || { log "openssl $1 failed: $out"; exit 1; }
}

# new_key_csr NAME SUBJECT: NAME.key (EC P-256) and a request NAME.csr for it.
new_key_csr() {
    ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$2"
}

# issue NAME EXTENSIONS: NAME.crt from NAME.csr, signed by the CA, 2 days.
issue() {
    printf '%b' "$2" >"$PKI/$1.ext"
    ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
        -CAcreateserial -days 2 -out "$PKI/$1.crt" -extfile "$PKI/$1.ext"
}

ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 2 -subj "/CN=compare.sh throwaway CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
new_key_csr client "/CN=$APP_USER"
issue client 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'
if [[ -z "$OTHER_ADDR" ]]; then
    new_key_csr server "/CN=127.0.0.1"
    issue server 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
fi
log "certificates: a throwaway CA; from it a client certificate, CN=$APP_USER (clientAuth)$([[ -n "$OTHER_ADDR" ]] ||
    echo ", and PyKMIP's server certificate (127.0.0.1, localhost)")"

"${ADMIN_CLI[@]}" "$SKMS" app trust-ca bench --pem "$PKI/ca.crt" | sed 's/^/    /' >&2
# trust-ca switches the app to certificate authentication; make sure of it.
if [[ "$("${ADMIN_CLI[@]}" "$SKMS" app show bench)" != *"authentication: certificate"* ]]; then
    "${ADMIN_CLI[@]}" "$SKMS" app set-auth-method bench certificate >/dev/null
fi

# ---- the other server: PyKMIP, started here, or OTHER_ADDR ----

if [[ -z "$OTHER_ADDR" ]]; then
    PY="${PYKMIP_PYTHON:-}"
    [[ -n "$PY" ]] || PY="$("$ROOT/tools/pykmip-python")"
    PYKMIP_VERSION="$("$PY" -c 'import kmip; print(kmip.__version__)')"
    PYDIR="$WORK/pykmip"
    mkdir -p "$PYDIR/policies"
    for attempt in 1 2 3 4 5; do
        PYKMIP_PORT="$(free_port)"
        cat >"$PYDIR/server.conf" <<EOF
[server]
hostname = 127.0.0.1
port = $PYKMIP_PORT
certificate_path = $PKI/server.crt
key_path = $PKI/server.key
ca_path = $PKI/ca.crt
auth_suite = TLS1.2
enable_tls_client_auth = True
policy_path = $PYDIR/policies
logging_level = WARNING
database_path = $PYDIR/pykmip.db
EOF
        # SIGINT: PyKMIP's accept loop leaves at once (SIGTERM waits for its 10 s accept timeout).
        spawn --stop-signal INT "PyKMIP" "$WORK/pykmip.out" "$WORK/pykmip.err" \
            "$PY" -W ignore -c 'from kmip.services.server.server import main; main()' \
            -f "$PYDIR/server.conf" -l "$PYDIR/server.log"
        # Listening once its port takes a connection. A PyKMIP that could not
        # bind says so and hangs (its policy monitor process lives on): next port.
        started=""
        for _ in $(seq 600); do
            if grep -q 'failed to bind' "$WORK/pykmip.err"; then
                break
            fi
            if (exec 3<>"/dev/tcp/127.0.0.1/$PYKMIP_PORT") 2>/dev/null; then
                started=1
                break
            fi
            kill -0 "$SPAWNED_PID" 2>/dev/null || break
            sleep 0.1
        done
        [[ -n "$started" ]] && break
        if [[ $attempt == 5 ]] || ! grep -q 'failed to bind' "$WORK/pykmip.err"; then
            log "PyKMIP did not start; its output, errors and log:"
            cat "$WORK/pykmip.out" "$WORK/pykmip.err" "$PYDIR/server.log" >&2
            exit 1
        fi
        log "PyKMIP could not bind 127.0.0.1:$PYKMIP_PORT; another port"
        signal KILL "$SPAWNED_PID"
        wait "$SPAWNED_PID" 2>/dev/null || true
    done
    log "PyKMIP $PYKMIP_VERSION (pid $SPAWNED_PID, $PY): KMIP 127.0.0.1:$PYKMIP_PORT"
    OTHER_FLAGS=(--addr "127.0.0.1:$PYKMIP_PORT" --ca "$PKI/ca.crt" --server-name localhost
        --cert "$PKI/client.crt" --key "$PKI/client.key")
    OTHER_ABOUT="PyKMIP $PYKMIP_VERSION (SQLite through SQLAlchemy, TLS 1.2)"
    OTHER_AUTH="the same client certificate"
else
    OTHER_FLAGS=(--addr "$OTHER_ADDR" --ca "$OTHER_CA" --server-name "${OTHER_SERVER_NAME:-$OTHER_HOST}")
    [[ -n "${OTHER_CERT:-}" ]] && OTHER_FLAGS+=(--cert "$OTHER_CERT" --key "$OTHER_KEY")
    [[ -n "${OTHER_USERNAME:-}" ]] && OTHER_FLAGS+=(--username "$OTHER_USERNAME" --password "$OTHER_PASSWORD")
    [[ -n "$ALLOW_REMOTE" ]] && OTHER_FLAGS+=(--allow-remote)
    OTHER_AUTH="nothing but TLS"
    [[ -n "${OTHER_CERT:-}" ]] && OTHER_AUTH="OTHER_CERT"
    [[ -n "${OTHER_USERNAME:-}" ]] && OTHER_AUTH="${OTHER_CERT:+OTHER_CERT and }OTHER_USERNAME"
    OTHER_ABOUT="$OTHER_ADDR"
    log "$OTHER_NAME: KMIP $OTHER_ADDR (not started here)"
fi
SKMS_FLAGS=(--addr "$SKMS_KMIP" --ca "$WORK/skms/ca.crt" --server-name localhost
    --cert "$PKI/client.crt" --key "$PKI/client.key")

# ---- runs ----

RESULTS="$WORK/results.tsv"   # workload, side, round, exit status, JSON file
: >"$RESULTS"

# run WORKLOAD SIDE ROUND CONNECTIONS FLAGS…: one `skms bench kmip` run; its
# JSON report and status go to RESULTS. A run with failed requests (status 1)
# is a result like any other.
run() {
    local workload="$1" side="$2" round="$3" conns="$4"
    shift 4
    local out="$WORK/runs/$workload.$side.$round"
    local label=skms
    [[ "$side" == skms ]] || label="$OTHER_NAME"
    log "$workload, round $round/$ROUNDS: $label ($conns connections, ${WARMUP} s warm-up, ${DURATION} s)"
    local status=0
    # In the background, waited for: a signal to this script is handled at
    # once (the clean-up stops the run too), not after the run.
    spawn "skms bench kmip" "$out.json" "$out.err" \
        "$SKMS" bench kmip "$@" --workload "$workload" --connections "$conns" \
        --duration "$DURATION" --warmup "$WARMUP" --version "$KMIP_VERSION" --json --quiet \
        "${EXTRA_FLAGS[@]}"
    wait "$SPAWNED_PID" || status=$?
    local summary
    if summary="$(python3 - "$out.json" <<'EOF' 2>/dev/null
import json, sys
r = json.load(open(sys.argv[1]))
kinds = ", ".join(f"{k} {v}" for k, v in sorted((r.get("errors") or {}).items()))
setup = f", set-up {r['setup_s']:.1f} s" if r.get("setup_s") else ""
print(f"{r['actions']} actions in {r['duration_s']:.2f} s{setup}: {r['actions_per_s']:.1f} actions/s, "
      f"p50 {r['latency_ms']['p50']:.2f} ms, p99 {r['latency_ms']['p99']:.2f} ms, "
      f"{r['error_total']} errors" + (f" ({kinds})" if kinds else ""))
EOF
    )"; then
        log "    $summary"
    else
        log "    $label: no report (exit status $status); its errors:"
        sed 's/^/      /' "$out.err" >&2
    fi
    if [[ -s "$out.err" && -n "$summary" ]]; then
        sed 's/^/      /' "$out.err" >&2
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$workload" "$side" "$round" "$status" "$out.json" >>"$RESULTS"
}

# objects SIDE: how many objects the side's store holds, "?" when unknown
# (skms: the account's usage; PyKMIP: rows of its database; OTHER_ADDR: ?).
objects() {
    local n=""
    if [[ "$1" == skms ]]; then
        n="$("${SYSADMIN_CLI[@]}" "$SKMS" account usage bench 2>/dev/null |
            sed -n 's/^objects by state: *//p' | tr ',' '\n' | awk '{ n += $NF } END { print n + 0 }')" || n=""
    elif [[ -z "$OTHER_ADDR" ]]; then
        n="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from managed_objects").fetchone()[0])' \
            "$PYDIR/pykmip.db" 2>/dev/null)" || n=""
    fi
    echo "${n:-?}"
}

STORES="$WORK/stores.tsv"   # workload, objects in skms's store, in the other's, when it began
: >"$STORES"
for workload in "${WORKLOAD_LIST[@]}"; do
    so="$(objects skms)"
    oo="$(objects other)"
    log "$workload: the stores hold $so (skms) and $oo ($OTHER_NAME) objects"
    printf '%s\t%s\t%s\n' "$workload" "$so" "$oo" >>"$STORES"
    for round in $(seq "$ROUNDS"); do
        run "$workload" skms "$round" "$CONNECTIONS" "${SKMS_FLAGS[@]}"
        run "$workload" other "$round" "$PYKMIP_CONNECTIONS" "${OTHER_FLAGS[@]}"
    done
done

# ---- the table ----

printf '\n'
SKMS_VERSION="$("$SKMS" --version 2>/dev/null | awk '{ print $NF }')" \
    OTHER_NAME="$OTHER_NAME" OTHER_ABOUT="$OTHER_ABOUT" OTHER_ADDR="$OTHER_ADDR" OTHER_AUTH="$OTHER_AUTH" \
    WORKLOADS="$WORKLOADS" \
    ROUNDS="$ROUNDS" DURATION="$DURATION" WARMUP="$WARMUP" KMIP_VERSION="$KMIP_VERSION" \
    CONNECTIONS="$CONNECTIONS" PYKMIP_CONNECTIONS="$PYKMIP_CONNECTIONS" CPUS="$(nproc)" \
    python3 - "$RESULTS" "$STORES" <<'EOF'
import json, os, statistics, sys

e = os.environ
other = e["OTHER_NAME"]
runs = {}   # (workload, side) -> list of reports (None: no report)
for line in open(sys.argv[1]):
    workload, side, _round, status, path = line.rstrip("\n").split("\t")
    try:
        report = json.load(open(path))
        report["actions_per_s"], report["latency_ms"]["p99"]  # present
    except Exception:
        report = None
    runs.setdefault((workload, side), []).append(report)

def figures(workload, side):
    reports = runs.get((workload, side), [])
    got = [r for r in reports if r is not None]
    if not got:
        return None
    kinds = {}
    for r in got:
        for k, v in (r.get("errors") or {}).items():
            kinds[k] = kinds.get(k, 0) + v
    timed = [r for r in got if r.get("actions", 1) > 0]   # p99 of no action is no figure
    return {
        "rate": statistics.mean(r["actions_per_s"] for r in got),
        "p99": statistics.mean(r["latency_ms"]["p99"] for r in timed) if timed else None,
        "idle": len(got) - len(timed),
        "errors": sum(r.get("error_total", 0) for r in got),
        "kinds": kinds,
        "missing": len(reports) - len(got),
    }

def num(v, fmt):
    return "-" if v is None else fmt.format(v)

fmt = "{:<15} {:>11} {:>9} {:>8}   {:>11} {:>9} {:>8}   {:>12} {:>10}"
print(fmt.format("", "skms", "", "", other, "", "", "skms/" + other, ""))
print(fmt.format("workload", "actions/s", "p99 ms", "errors", "actions/s", "p99 ms", "errors",
                 "actions/s ", "p99 "))
notes = []
for w in e["WORKLOADS"].split():
    s, o = figures(w, "skms"), figures(w, "other")
    before = len(notes)
    for label, f in (("skms", s), (other, o)):
        if f is None:
            notes.append(f"{w} on {label}: no run gave a report (see the log above)")
            continue
        if f["idle"]:
            notes.append(f"{w} on {label}: in {f['idle']} of its runs no action finished within the measured"
                         " time (one still in flight at the end is not counted; raise DURATION, or lower the"
                         " connections: each action waits for those of the others)")
        if f["p99"] is not None and f["p99"] > float(e["DURATION"]) * 1000 / 10:
            notes.append(f"{w} on {label}: its p99 is {f['p99'] / 10 / float(e['DURATION']):.0f}% of the measured"
                         " time; an action counts only when it ends within that time and one in flight"
                         " at the end is lost, so its actions/s is imprecise by up to about that much"
                         " (raise DURATION)")
        if f["missing"]:
            notes.append(f"{w} on {label}: {f['missing']} of its runs gave no report; figures of the others")
        if f["errors"]:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(f["kinds"].items()))
            notes.append(f"{w} on {label}: {f['errors']} errors ({kinds})")
    mark = "*" if len(notes) > before else " "
    rate = p99 = None
    if s and o:
        if o["rate"] > 0:
            rate = s["rate"] / o["rate"]
        if s["p99"] is not None and o["p99"]:
            p99 = s["p99"] / o["p99"]
    print(fmt.format(
        w,
        num(s and s["rate"], "{:.0f}"), num(s and s["p99"], "{:.2f}"), num(s and s["errors"], "{}"),
        num(o and o["rate"], "{:.0f}"), num(o and o["p99"], "{:.2f}"), num(o and o["errors"], "{}"),
        num(rate, "{:.2f}x") + mark, num(p99, "{:.2f}x") + mark))

print()
print(f"skms {e['SKMS_VERSION']}: 1 node, SQLite store; {e['CONNECTIONS']} connections a run (CONNECTIONS).")
if e["OTHER_ADDR"]:
    print(f"{other}: {e['OTHER_ABOUT']}; {e['PYKMIP_CONNECTIONS']} connections a run (PYKMIP_CONNECTIONS).")
else:
    print(f"{other}: {e['OTHER_ABOUT']}; {e['PYKMIP_CONNECTIONS']} connections a run (PYKMIP_CONNECTIONS);"
          " it serves one request at a time, one Python thread per connection.")
rounds = "one round" if e["ROUNDS"] == "1" else f"the mean of {e['ROUNDS']} rounds (errors: their sum)"
auth = ("the same client certificate on both" if not e["OTHER_ADDR"]
        else f"skms authenticated by a client certificate, {other} by {e['OTHER_AUTH']}")
print(f"Each figure: {rounds} of {e['DURATION']} s measured after"
      f" {e['WARMUP']} s of warm-up, runs alternating skms, {other}; KMIP {e['KMIP_VERSION']} on both;"
      f" {auth}.")
print(f"actions/s: actions that succeeded, higher is better; p99: latency of an action, lower is better;"
      f" ratios: skms / {other} (*: read the notes below).")
print(f"The servers and the load client share this machine's {e['CPUS']} CPUs.")
stores = [line.rstrip("\n").split("\t") for line in open(sys.argv[2])]
if stores:
    print(f"Objects in the stores (skms / {other}; ?: unknown) when each workload began: "
          + ", ".join(f"{w} {a} / {b}" for w, a, b in stores) + ".")
if not e["OTHER_ADDR"]:
    print("PyKMIP's Locate reads every object of its store, so its Locate slows down as the store grows"
          " (runs before it leave objects).")
if notes:
    print()
    print("Notes (a run with errors still counts its figures):")
    for n in notes:
        print("  " + n)
EOF

#!/usr/bin/env bash
# Schemathesis against the REST API's own OpenAPI document: a real `skms serve`
# on loopback (fresh data directory), an account and a REST-enabled app made
# with the CLI, then property-based requests built from /v1/openapi.json, with
# a bounded number of examples per operation. CI fails on any 5xx
# (not_a_server_error) and on any answer that breaks the document
# (response_schema_conformance).
#
# Three passes, each with the credentials its operations are for:
#   1. the app      -> POST /kmip (KMIP over HTTPS: random TTLV, JSON and XML bodies)
#   2. the account admin -> every operation (groups and apps really change)
#   3. the sysadmin -> the accounts operations
#
# Usage: .ci/schemathesis.sh [max examples per operation, default 100]
# Needs python3 (venv, pip) and PyPI; the venv is kept under target/.
set -euo pipefail

cd "$(dirname "$0")/.."

MAX_EXAMPLES=${1:-100}
VENV=$PWD/target/schemathesis-venv
CHECKS=not_a_server_error,response_schema_conformance
# Schemathesis 4.32.5 and everything it pulls in, pinned (Python 3.11), so a new
# release of a dependency cannot change what CI checks. `pip freeze` of the venv.
PINS="anyio==4.16.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
click==8.5.1
graphql-core==3.3.2
harfile==0.6.0
hypothesis==6.170.27
hypothesis-graphql==0.13.5
idna==3.20
iniconfig==2.3.1
jsonschema_rs==0.60.3
markdown-it-py==4.3.0
MarkupSafe==3.0.4
mdurl==0.1.2
packaging==26.4
pluggy==1.7.0
Pygments==2.21.0
pyrate-limiter==4.6.0
pytest==9.2.0
PyYAML==6.0.4
requests==2.34.2
rich==15.0.0
schemathesis==4.32.5
sortedcontainers==2.4.0
typing_extensions==4.16.0
urllib3==2.8.0
Werkzeug==3.1.9"

if [ "$(cat "$VENV/pins.txt" 2>/dev/null)" != "$PINS" ]; then
    echo "installing schemathesis into $VENV"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip
            python3 -m venv "$VENV"
        else
            echo "python3 cannot make a venv (install python3-venv)" >&2
            exit 1
        fi
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        -c <(printf '%s\n' "$PINS") "$(grep '^schemathesis==' <<<"$PINS")"
    printf '%s' "$PINS" >"$VENV/pins.txt"
fi
"$VENV/bin/schemathesis" --version

cargo build -p skms
SKMS=$PWD/target/debug/skms

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
KMIP_PORT=$(free_port)
HTTPS_PORT=$(free_port)

env -u SKMS_CONFIG SKMS_LOG=info "$SKMS" serve --data-dir "$WORK/data" \
    --kmip-addr "127.0.0.1:$KMIP_PORT" --https-addr "127.0.0.1:$HTTPS_PORT" \
    >"$WORK/stdout" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 120); do
    grep -q "KMIP over TLS listening on" "$WORK/stdout" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/stdout" "$WORK/server.log"; exit 1; }
    sleep 0.5
done
grep -q "KMIP over TLS listening on" "$WORK/stdout" || { echo "skms serve did not start"; exit 1; }

# The sysadmin's password, printed once at first start (as tests/common parses it).
SYSADMIN_PASSWORD=$(sed -n 's/.*sysadmin login.*with password \([^ ]*\).*/\1/p' "$WORK/stdout")
[ -n "$SYSADMIN_PASSWORD" ] || { echo "no sysadmin password in the output"; exit 1; }

export SKMS_SERVER="https://127.0.0.1:$HTTPS_PORT" SKMS_CA_CERT="$WORK/data/ca.crt"
# The value after the last space of the line that has $1.
after() { grep -F "$1" | head -n1 | awk '{print $NF}'; }

made=$(SKMS_USER=sysadmin SKMS_PASSWORD=$SYSADMIN_PASSWORD "$SKMS" account create schemathesis)
ADMIN=$(after "account admin login" <<<"$made")
ADMIN_PASSWORD=$(after "account admin password" <<<"$made")
app=$(SKMS_USER=$ADMIN SKMS_PASSWORD=$ADMIN_PASSWORD "$SKMS" app create --name fuzz \
    --interface kmip --interface rest)
APP=$(after "KMIP username" <<<"$app")
APP_PASSWORD=$(after "KMIP password" <<<"$app")

# PEM bodies (application/x-pem-file) are text: schemathesis sends them as it sends text/plain.
mkdir -p "$WORK/hooks"
cat >"$WORK/hooks/skms_hooks.py" <<'PY'
import schemathesis

schemathesis.serializer.alias("application/x-pem-file", "text/plain")
PY

SCHEMA="https://127.0.0.1:$HTTPS_PORT/v1/openapi.json"
status=0
pass() {
    local name=$1 auth=$2
    shift 2
    echo
    echo "---- schemathesis as $name: ${*:-every operation} ----"
    # One worker: with several, hypothesis describes its lambdas from several
    # threads at once and CPython 3.11's ast.parse fails ("AST constructor
    # recursion depth mismatch"), an error of the tool, not of the server.
    # Run in $WORK so that schemathesis's cache (.schemathesis/) stays out of the tree.
    (cd "$WORK" && SCHEMATHESIS_HOOKS=skms_hooks PYTHONPATH="$WORK/hooks" \
        "$VENV/bin/schemathesis" run "$SCHEMA" \
        --tls-verify "$WORK/data/ca.crt" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" \
        --seed 1 \
        --request-timeout 30 \
        --workers 1 \
        --suppress-health-check all \
        --warnings off \
        --auth "$auth" \
        "$@") || status=1
}

started=$(date +%s)
pass app "$APP:$APP_PASSWORD" --include-path /kmip
pass "account admin" "$ADMIN:$ADMIN_PASSWORD"
pass sysadmin "sysadmin:$SYSADMIN_PASSWORD" --include-tag accounts
echo
echo "schemathesis: $(( $(date +%s) - started )) s, at most $MAX_EXAMPLES examples per operation and pass"

# A 5xx leaves a warning in the server's log: show them to whoever reads the failure.
if grep -E "WARN|ERROR" "$WORK/server.log" | grep -v "REST authentication failed" | head -20 | grep .; then
    echo "(server warnings above)"
fi
if [ "$status" != 0 ]; then
    echo "schemathesis found failures"
    exit 1
fi
echo "schemathesis: no failures"

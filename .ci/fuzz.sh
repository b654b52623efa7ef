#!/usr/bin/env bash
# Fuzzes the binary TTLV decoder for a bounded time.
#
#   .ci/fuzz.sh [SECONDS]     (default 120)
#
# Uses the nightly toolchain when it is installed, else stable with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags). Exits non-zero when the fuzzer
# finds a crash; the input that crashed is left in fuzz/artifacts/decode_binary/.
# New inputs that the fuzzer finds go to fuzz/target/corpus (not to the
# checked-in seeds in fuzz/corpus).
set -euo pipefail

secs="${1:-120}"
if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi
cd "$(dirname "$0")/../fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: installing it"
    cargo install cargo-fuzz --locked
fi

toolchain=()
if [[ -z "${SKMS_FUZZ_STABLE:-}" ]] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
    echo "fuzzing with the nightly toolchain"
else
    export RUSTC_BOOTSTRAP=1
    echo "fuzzing with the stable toolchain (RUSTC_BOOTSTRAP=1)"
fi

work=target/corpus/decode_binary
mkdir -p "$work"
# -a: debug assertions and overflow checks, so that arithmetic overflow is a crash too.
# The first corpus directory receives new inputs; the seeds are only read.
status=0
cargo "${toolchain[@]}" fuzz run -a decode_binary "$work" corpus/decode_binary -- \
    -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    || status=$?
if [[ $status -ne 0 ]]; then
    echo "fuzzing FAILED (status $status); inputs that crashed, as hex:" >&2
    for f in artifacts/decode_binary/*; do
        [[ -f "$f" ]] || continue
        echo "$f:" >&2
        od -An -v -tx1 "$f" | tr -d ' \n' | head -c 8192 >&2
        echo >&2
    done
    exit "$status"
fi
echo "fuzzing: no crash in ${secs}s"

#!/usr/bin/env bash
# Fuzzes the decoders of outside input for a bounded time.
#
#   .ci/fuzz.sh [SECONDS]     (default 120; two thirds to the binary decoder,
#                              one third to the JSON/XML decoders)
#
# Uses the nightly toolchain when it is installed, else stable with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags). Exits non-zero when the fuzzer
# finds a crash; the input that crashed is left in fuzz/artifacts/<target>/ and
# printed as hex. New inputs that the fuzzer finds go to fuzz/target/corpus (not
# to the checked-in seeds in fuzz/corpus).
set -euo pipefail

secs="${1:-120}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [[ "$secs" -lt 3 ]]; then
    echo "usage: $0 [SECONDS >= 3]" >&2
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

run_target() {
    local target=$1 secs=$2
    local work=target/corpus/$target
    mkdir -p "$work"
    echo "fuzzing $target for ${secs}s"
    # -a: debug assertions and overflow checks, so that arithmetic overflow is a crash too.
    # The first corpus directory receives new inputs; the seeds are only read.
    local status=0
    cargo "${toolchain[@]}" fuzz run -a "$target" "$work" "corpus/$target" -- \
        -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        || status=$?
    if [[ $status -ne 0 ]]; then
        echo "fuzzing $target FAILED (status $status); inputs that crashed, as hex:" >&2
        for f in "artifacts/$target"/*; do
            [[ -f "$f" ]] || continue
            echo "$f:" >&2
            od -An -v -tx1 "$f" | tr -d ' \n' | head -c 8192 >&2
            echo >&2
        done
        exit "$status"
    fi
    echo "fuzzing $target: no crash in ${secs}s"
}

run_target decode_binary $((secs * 2 / 3))
run_target decode_text $((secs - secs * 2 / 3))

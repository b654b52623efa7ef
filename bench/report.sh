#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: runs bench/compare.sh (skms against PyKMIP) and
# bench/targets.sh (skms against its performance targets) with one skms
# binary, and writes their tables, the machine and the commit into
# BENCHMARKS.md at the repository's root, between the method text below.
#
# Usage:
#
#   bench/report.sh                (from any directory; no arguments)
#
# Settings: those of compare.sh and targets.sh (DURATION, WARMUP, ROUNDS,
# BIG_KEYS, …), passed through; SKMS_BIN as theirs. Takes about 20 minutes
# with the defaults (most of it making the 1,000,000 keys of the scale run).
# The file is written only when both runs finished.
set -euo pipefail

if [[ $# -gt 0 ]]; then
    echo "usage: $0 (no arguments; settings in the environment, see the header)" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
find_skms
export SKMS_BIN="$SKMS"
temp_dir skms-report
out="$TEMP_DIR"

log "bench/compare.sh (progress in $out/compare.err)"
"$here/compare.sh" >"$out/compare.txt" 2>"$out/compare.err" ||
    { log "compare.sh failed:"; tail -20 "$out/compare.err" >&2; exit 1; }
log "bench/targets.sh (progress in $out/targets.err)"
"$here/targets.sh" >"$out/targets.txt" 2>"$out/targets.err" ||
    { log "targets.sh failed:"; tail -20 "$out/targets.err" >&2; exit 1; }

cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
mem="$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo unknown)"
commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | head -c1)"

{
    cat <<'EOF'
# Benchmarks

Figures of one run on one machine, written by `bench/report.sh` (do not edit by hand:
run it again). What is measured and how:

- **The load tool** is `skms bench kmip` (see the README): binary KMIP over TLS, N
  connections each with one action in flight (closed loop), every answer checked. An
  action counts when it succeeds and ends in the measured time, after a warm-up.
  Latency is per action, from its first byte sent (with a new connection per action, from
  the TCP connect) to its last answer read. The load tool runs on the same machine as the
  server and shares its CPUs: the figures are what the machine does as a whole.
- **skms** runs with its embedded defaults (SQLite in its data directory with
  `synchronous=FULL`, so an acknowledged Create is on disk; a software root key; every
  operation audited in the hash-chained log), on 127.0.0.1, from a release build. The
  app authenticates by a client certificate that the server issued, as vCenter does.
- **PyKMIP** 0.11.0 (`pykmip-server`, its SQLite store) runs with a throwaway CA, a
  server certificate and the same client certificate, TLS 1.2. It serves one request at
  a time; it cannot parse Add Attribute (its vCenter actions carry on without it, as
  vCenter does) and reads every object for each Locate.
- `bench/compare.sh` alternates the two servers for each workload (two rounds each) at
  the same number of connections and KMIP version; `bench/targets.sh` gives each target
  a fresh node.

EOF
    printf '## Machine\n\n'
    printf -- '- %s CPUs: %s; %s of memory; Linux %s\n' "$(nproc)" "$cpu" "$mem" "$(uname -r)"
    printf -- '- skms at commit %s%s, built by %s\n' "$commit" "${dirty:+ (with uncommitted changes)}" \
        "$(rustc --version 2>/dev/null || echo 'an unknown rustc')"
    printf -- '- run on %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf '## skms against PyKMIP (`bench/compare.sh`)\n\n```\n'
    cat "$out/compare.txt"
    printf '```\n\n## skms against its targets (`bench/targets.sh`)\n\n```\n'
    cat "$out/targets.txt"
    printf '```\n'
} >"$out/BENCHMARKS.md"
mv "$out/BENCHMARKS.md" "$ROOT/BENCHMARKS.md"
log "wrote $ROOT/BENCHMARKS.md"

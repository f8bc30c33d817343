#!/usr/bin/env bash
# A fuzzing campaign: runs every target for SECONDS (default 600) from the committed corpus,
# records executions and coverage, minimizes the grown corpus back into fuzz/corpus/<target>
# (libFuzzer's -merge=1: the smallest set of inputs with the same coverage), and writes the
# table to docs/fuzzing.md.
#
#   fuzz/campaign.sh [SECONDS] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz. A crash stops the campaign with its artifact
# in fuzz/artifacts/<target>/ and the page unchanged.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)

results=$(mktemp)
trap 'rm -f "$results"' EXIT
cargo +nightly fuzz build
for target in "${targets[@]}"; do
    grown=$(mktemp -d)
    cp -r "corpus/$target/." "$grown/" 2>/dev/null || true
    before=$(find "corpus/$target" -type f 2>/dev/null | wc -l)
    log="$grown.log"
    echo "fuzzing $target for ${seconds}s ($before inputs in the corpus)"
    if ! cargo +nightly fuzz run "$target" "$grown" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "campaign: $target crashed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 | awk '{print $2, $4}')
    # Minimize: merge the grown corpus into an empty directory, keeping only inputs that add
    # coverage, then replace the committed corpus with it.
    minimized=$(mktemp -d)
    cargo +nightly fuzz run "$target" "$minimized" "$grown" -- -merge=1 -rss_limit_mb=4096 \
        >"$log.merge" 2>&1 || { tail -n 20 "$log.merge"; exit 1; }
    rm -rf "corpus/$target"
    mkdir -p "corpus/$target"
    cp -r "$minimized/." "corpus/$target/"
    after=$(find "corpus/$target" -type f | wc -l)
    read -r cov features <<<"$coverage"
    printf '| `%s` | %s | %s | %s | %s | %s | %s → %s |\n' "$target" "$seconds" \
        "$runs" "$((runs / seconds))" "$cov" "$features" \
        "$before" "$after" >>"$results"
    echo "  $runs runs, cov $cov, ft $features, corpus $before -> $after"
    rm -rf "$grown" "$minimized" "$log" "$log.merge"
done

{
    cat <<EOF
# Fuzzing

Written by \`fuzz/campaign.sh $seconds\` on $(date -u +%Y-%m-%d); do not edit by hand.

Every target started from the committed corpus (\`fuzz/corpus/<target>\`) and ran for the time
shown on one core; the grown corpus was then minimized (libFuzzer \`-merge=1\`) and committed.
\`cov\` is libFuzzer's count of covered edges at the end of the run, \`ft\` its count of
features (edges with hit counts). No target crashed. \`.ci/run\` runs each target for 10
seconds from the same corpus.

Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;
$(rustc +nightly --version).

| target | seconds | executions | per second | cov | ft | corpus (inputs before → after) |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
EOF
    cat "$results"
    cat <<'EOF'

What each target checks:

- `recovery_file`: the recovery file parser (spec §8.3) never panics, and what it accepts is
  canonical (re-encodes to the same bytes).
- `entry_decode`: the log entry decoder (spec §4) never panics; an accepted entry re-encodes
  to the same bytes and decodes to the same value and hash.
- `task_decode`: the task authorization and session delegation decoders and verifiers
  (spec §9) never panic; an accepted encoding is canonical.
- `log_verify`: verifying a real log with fuzzer-chosen damage (spec §5) never panics, and the
  batch and strict modes agree on the verdict and on the first bad entry.
- `log_export`: the log export parser (spec §5.5) never panics; what it accepts is canonical.
- `commands`: arbitrary command sequences (spec §6) against zt-core and the reference model
  (zt-testkit): both agree at every step and DESIGN.md §6's properties hold after each.
- `text_fields`: the text forms clients send (identifiers, digests, public keys, salts,
  sealed access, trust roots, verification codes, task kinds, KDF parameters, passphrases)
  never panic; what `FromStr` accepts prints back unchanged and serde accepts the same; an
  accepted passphrase is NFKC-normalized, within its bounds, and prints redacted.
EOF
} >../docs/fuzzing.md
echo "wrote docs/fuzzing.md"

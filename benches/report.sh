#!/usr/bin/env bash
# Runs every benchmark and the memory measurements, and writes docs/performance.md.
#
#   benches/report.sh
#
# Takes 20 to 30 minutes on 2 cores (the first run builds the 100,000-agent organization and
# imports it into SQLite and PostgreSQL: a few minutes more). Run it on a quiet machine: the
# ratios are measured side by side, but a busy core still adds noise. PostgreSQL is measured
# at $ZT_TEST_POSTGRES_URL (default: the local server, database `test`).
set -euo pipefail
cd "$(dirname "$0")/.."

export ZT_TEST_POSTGRES_URL="${ZT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_isready -h 127.0.0.1 -p 5432 -q || {
    echo "report: PostgreSQL is not reachable; start it (see README) and run again" >&2
    exit 1
}
work=target/zt-bench
mkdir -p "$work"
export ZT_BENCH_RESULTS="$PWD/$work/results.md"
rm -f "$ZT_BENCH_RESULTS"
log="$work/report.log"
: >"$log"

for bench in task_verify log_replay kdf store_scale http; do
    echo "== cargo bench --bench $bench" | tee -a "$log"
    cargo bench --quiet -p zt-benches --bench "$bench" -- --noplot 2>&1 | tee -a "$log" \
        | grep -E 'ratio|median|p99' || true
done

echo "== memory" | tee -a "$log"
cargo build --quiet --release -p zt-server --bin zt-server
cargo build --quiet --release -p zt-benches --examples
# shellcheck disable=SC2046
set -- $(target/release/examples/scale_fixture "$work")
org=$2 root=$4
database="sqlite://$work/scale-100k.sqlite"
server() { target/release/zt-server "$@" --database-url "$database" --host-key-file "$work/scale-host.key"; }
token=$(server agent add --org "$org" --email "memory-$(date +%s%N)@example.test" --role admin \
    | sed -n 's/^token //p')
port=7979
target/release/zt-server serve --listen "127.0.0.1:$port" --database-url "$database" \
    --host-key-file "$work/scale-host.key" --outbox-interval 3600 >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 1; done
kib() { awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"; }
idle=$(kib "$pid" VmRSS)
started=$(date +%s%N)
# The first request loads and verifies the organization. Where that takes longer than a
# request may (10 s), it is answered 503 and the next request goes on with the load.
requests=0
status=
while [ "$status" != 200 ] && [ "$requests" -lt 30 ]; do
    requests=$((requests + 1))
    status=$(curl -sS -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" \
        "http://127.0.0.1:$port/v1/org")
    case "$status" in 200 | 503) ;; *) echo "report: GET /v1/org answered $status" >&2; exit 1 ;; esac
done
[ "$status" = 200 ] || { echo "report: the organization did not load in $requests requests" >&2; exit 1; }
loaded_in=$(awk -v ns=$(($(date +%s%N) - started)) 'BEGIN { printf "%.1f", ns / 1e9 }')
over=
[ "$requests" = 1 ] || over=" over $requests requests (each answered 503 after 10 s until the last)"
curl -fsS -H "authorization: Bearer $token" "http://127.0.0.1:$port/v1/status?limit=100" >/dev/null
resident=$(kib "$pid" VmRSS)
peak=$(kib "$pid" VmHWM)
kill "$pid"
wait "$pid" || true
trap - EXIT
mib() { awk -v kib="$1" 'BEGIN { printf "%.1f", kib / 1024 }'; }
entries=$(grep -c . "$work/scale-100k.log")
entries=$((entries - 1))
echo "zt-server: idle $(mib "$idle") MiB; holding the organization $(mib "$resident") MiB, peak $(mib "$peak") MiB; first request (load and verify) ${loaded_in}s$over" | tee -a "$log"
memory_rows="| zt-server (SQLite) holding the 100,000-agent organization ($entries log entries, verified state cached) | $(mib "$resident") MiB | $(mib "$peak") MiB | $(mib "$idle") MiB before the organization was loaded; loading and verifying it took $loaded_in s$over |"
device=$(target/release/examples/device_memory "$root" "$work/scale-100k.log")
value() { echo "$device" | awk -v key="$1" '$1 == key { print $2 }'; }
echo "device: $device" | tr '\n' ' ' | tee -a "$log"
echo
memory_rows="$memory_rows
| device-side verifier (\`examples/device.rs\`) holding the same log, verified from its root | $(mib "$(value rss_kib)") MiB | $(mib "$(value peak_kib)") MiB | $(mib "$(value rss_before_kib)") MiB before reading its copy; reading and verifying it took $(value seconds) s |"

# Why a goal is missed: one paragraph per known cause, matched on the row's name. A miss with
# no paragraph here says so, rather than being explained away.
explain() {
    case "$1" in
    *"HTTP task verification"*"zt-server"*)
        cat <<'EOF'
zt-server answers a verification only once the authorization's replay key is committed
durably, so that neither a restart nor a second instance can accept it twice (spec §9.4),
and only once the store confirmed that its cached state of the log is current, so that a key
revoked a moment ago on another instance is refused. The bare handler does neither. The
durable-floor rows measure what the first obligation alone costs on this machine, without
zt: the same bare handler, waiting after its `verify_strict` until a random key is
recorded by the cheapest group commit of each medium (`benches/floors.rs`). Raw SQLite
(rusqlite on a thread of its own, WAL, `synchronous = FULL`, no pool) and an append-only
file with one `fdatasync` a group, which no database can beat, reach about half to two
thirds of the bare handler (their rows above). Here a flush costs CPU of its own, not only waiting: measured with
getrusage on 2026-12-01, a 10-key SQLite commit spent about 210 µs of kernel time with
`synchronous = FULL` against 110 µs with `OFF`, and a bare write plus `fdatasync` about
55 µs, on two cores that the load generator shares. So no server that keeps §9.4 can do
better than the file floor, and one that also runs zt's router (the router-alone rows: the
memory store records nothing durably) would land near the product of the two. zt-server reaches 0.7 to 0.85 of the raw
SQLite floor; by the profiles of earlier runs, most of the rest is sqlx's hand-offs between
threads, and the freshness query costs at most 5%.
Variants built on this machine only to measure, then reverted: a dedicated synchronous
SQLite writer instead of sqlx, about 10 to 20% more; an append-only replay journal inside
SQLite with each server's index of unexpired keys in memory, about 20% more; skipping the
freshness query (unsafe), at most 5%; the replay store swapped for a set in memory (not
durable: a ceiling, never a mode), 0.75 to 0.95 of the bare handler.
What would reach the goal is a change of guarantee: keep each server's replay keys in
memory, write them behind, and write ahead only a durable horizon (the approach of RFC 8446
§8.2 for 0-RTT data), taking the durable path for any authorization issued after the
server's own clock. A clean shutdown loses nothing; after a crash the server must refuse
every authorization issued before the last horizon, which is every task signed before the
crash and, for a while, those of clients whose clocks lag; and only one server per database
could take this path. That trades availability after a crash for throughput, a decision
for the product rather than for this benchmark. Accepting before the commit, or trusting
the cache without asking the store, would break the guarantees above. The goal stays
missed: as written it compares a verifier that must record durably with a handler that
records nothing. In every run so far the durable record alone took 42% or more of the bare
handler's throughput in raw SQLite (one minus the floor's ratio), and 27% or more in a bare
file, before any of zt's own work; the goal allows 30% for everything.
EOF
        ;;
    *"verify one task authorization in-process"*)
        cat <<'EOF'
zt's `verify_task` is the same `verify_strict` plus a few comparisons and an insert into the
in-memory replay guard, and that code has not changed since runs that gave 0.95. On this
shared machine the ratio of one unchanged binary falls in two bands from run to run: six
runs of `cargo bench -p zt-benches --bench task_verify` one after another on 2026-12-01 gave
0.86, 0.97, 0.87, 0.87, 1.00 and 0.97. The goal's margin lies inside that spread, so a run in
the lower band is reported as missed, as it should be.
EOF
        ;;
    *"HTTP task verification"*"the zt-http router alone"*)
        cat <<'EOF'
The router-alone rows split zt-server's cost; they are not zt-server's goal, but they carry
the same bar. Their ratio moves with the machine more than the others: in the rounds of one
run on 2026-12-01 the bare handler's own rate ranged from 16,258 to 27,558 requests a second,
and the router over the memory store measured from 0.67 to 0.97 of the bare handler of its
round. A level whose median round lands under 0.70 is reported as missed.
EOF
        ;;
    *"commit one transition, SQLite"* | *"approve through the ledger, SQLite"*)
        cat <<'EOF'
The floor is one statement that commits by itself. An approval is a transaction of about
eight statements (BEGIN, the entry, the check that it chains to the stored one, the requester's
status, the closed request, the key-history lines, the outbox row, then the commit), and
they land in five tables with fifteen B-trees (tables and indexes) that, in the
100,000-agent database, are far larger than SQLite's page cache: each reads and dirties pages of its own, all written to the WAL
and flushed by the one commit. Through the ledger, the freshness check and zt-core's
decision are added. Statements through sqlx cost little each on a small table; the page
work of indexed views is the cost here, and those views are what let the status page and
the pending list of the same database answer in about a millisecond. Not addressed yet.
EOF
        ;;
    *"commit one transition, PostgreSQL"* | *"approve through the ledger, PostgreSQL"*)
        cat <<'EOF'
On PostgreSQL every statement is a round trip to the server, and an approval's transaction
is about nine (BEGIN, the entry, the check that it chains to the stored one, the
requester's status, the closed request, the key-history lines, the outbox row, COMMIT, and
the pool's liveness check), against one for the floor, which commits by itself. Sending the
append as one statement (data-modifying common table expressions) would remove most of
them, at the price of SQL that is no longer shared with SQLite; not done yet.
EOF
        ;;
    *)
        echo "No explanation has been written for this miss yet: read the criterion report and \`$log\`."
        ;;
    esac
}

# One paragraph per cause, after the names of every missed row it explains.
explain_misses() {
    local row what text
    local -a texts=() names=()
    while IFS= read -r row; do
        case "$row" in
        *"**missed**"*)
            what=$(echo "$row" | cut -d'|' -f2 | sed 's/^ *//; s/ *$//')
            text=$(explain "$what")
            local i found=0
            for i in "${!texts[@]}"; do
                if [ "${texts[$i]}" = "$text" ]; then
                    names[i]="${names[$i]}; $what"
                    found=1
                fi
            done
            [ "$found" = 1 ] || { texts+=("$text"); names+=("$what"); }
            ;;
        esac
    done <"$ZT_BENCH_RESULTS"
    [ "${#texts[@]}" -gt 0 ] || { echo "Every goal was met in this run."; return; }
    for i in "${!texts[@]}"; do
        printf '**%s.** %s\n\n' "${names[$i]}" "${texts[$i]}"
    done
}

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
{
    cat <<EOF
# Performance

Written by \`benches/report.sh\` on $(date -u +%Y-%m-%d); do not edit by hand (the
explanations at the end are part of the script). Fuzzing figures are in
[fuzzing.md](fuzzing.md).

Machine: $cpu, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) of memory;
$(uname -sr); $(rustc --version); SQLite from libsqlite3-sys (bundled), PostgreSQL
$(psql "$ZT_TEST_POSTGRES_URL" -Atc 'show server_version' 2>/dev/null || echo '(version unknown)') on the same machine.
Release profile. These are shared machines: absolute times drift from run to run, so every
zt figure is measured beside the primitive underneath it, in alternating rounds of the same
run, and the ratio (zt's throughput over the floor's, the median of the rounds' ratios) is
the figure to read. The run's full output is in \`target/zt-bench/report.log\`, criterion's
reports under \`target/criterion\`.

## Speed

| what | zt | compared with | ratio | goal | |
| --- | --- | --- | ---: | --- | --- |
EOF
    cat "$ZT_BENCH_RESULTS"
    cat <<EOF

## Memory

Resident memory, read from \`/proc/PID/status\` (\`VmRSS\`, and \`VmHWM\` for the peak).

| process | resident | peak | notes |
| --- | ---: | ---: | --- |
$memory_rows

## Where a goal is missed, and why

$(explain_misses)
EOF
} >docs/performance.md
echo "wrote docs/performance.md"

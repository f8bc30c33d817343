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
On SQLite zt-server is its database's one verifier (spec §9.5): it spends a replay key in
memory behind a horizon committed about every two seconds, and confirms that its cached log
is current by a point read on a connection of its own (spec §9.4). On top of the bare
handler's one `verify_strict` it parses the JSON body, the base64 and the authorization,
looks up the API token, answers in JSON and counts the request; the router-alone rows carry
most of that without the store. Its CPU time a request is within about 10% of the router
alone, and its ratio moves with the machine from round to round: in the three rounds at 64
connections of one run on 2026-12-02 it was 0.67, 0.97 and 0.68. A level whose median round
lands under 0.70 is reported as missed.
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
    cat <<'EOF'

The task-verification rows: `zt-server serve` on SQLite is its database's one verifier,
holding a lock, and spends replay keys in memory behind a durable horizon (spec §9.5): an
authorization is never accepted twice, also across a crash, and the cost of a crash is that
authorizations signed before it are signed again. Servers sharing a database (PostgreSQL)
must commit each key before answering (spec §9.4); the row "committed one by one" measures
that mode on SQLite, and the durable floors show what such a commit costs here without zt
(rusqlite on a thread of its own with `synchronous = FULL`; an append-only file with one
`fdatasync` a group, which no database can beat). That mode has no goal on this page: at 16
connections not even the file floor reaches 0.70 of the bare handler.
EOF
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

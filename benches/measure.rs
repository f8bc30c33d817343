//! Measuring zt beside its floor, and recording the figures for `docs/performance.md`.
//!
//! An operation is written once as a *timed* closure, the shape criterion's `iter_custom`
//! takes: given `iters`, it runs the operation that many times (doing any untimed setup
//! itself) and returns the time the operations took. Criterion reports each closure on its
//! own; [`compare`] then runs the zt closure and its floor in alternating rounds, so both see
//! the same machine at the same moment, and the ratio is the median of the rounds' ratios.
//!
//! With `ZT_BENCH_RESULTS=FILE` set (`benches/report.sh` sets it), every figure is appended to
//! FILE as a Markdown table row; otherwise figures are only printed.

#![allow(clippy::print_stderr, reason = "a benchmark reports on stderr")]

use std::io::Write as _;
use std::time::{Duration, Instant};

/// Wraps `operation` into a timed closure that runs it `iters` times.
pub fn timed<O>(mut operation: impl FnMut() -> O) -> impl FnMut(u64) -> Duration {
    move |iters| {
        let started = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(operation());
        }
        started.elapsed()
    }
}

/// What is compared, and the goal: zt's throughput at least `goal` times the floor's.
#[derive(Clone, Copy, Debug)]
pub struct Comparison<'a> {
    /// The row's name in the table, e.g. "verify one task authorization in-process".
    pub what: &'a str,
    /// The floor's name, e.g. "one raw `verify_strict`".
    pub floor: &'a str,
    /// The smallest acceptable ratio of zt's throughput to the floor's.
    pub goal: f64,
    /// Alternating rounds to run.
    pub rounds: usize,
    /// Operations per round, each side.
    pub iters: u64,
}

/// The outcome of [`compare`].
#[derive(Clone, Copy, Debug)]
pub struct Ratio {
    /// zt's median time per operation over the rounds.
    pub zt: Duration,
    /// The floor's median time per operation over the rounds.
    pub floor: Duration,
    /// The median over rounds of floor time / zt time: zt's throughput relative to the floor.
    pub ratio: f64,
}

/// Runs `zt` and `floor` in alternating rounds (which goes first alternates too), prints
/// and records the ratio of their throughputs.
pub fn compare(
    comparison: Comparison<'_>,
    mut zt: impl FnMut(u64) -> Duration,
    mut floor: impl FnMut(u64) -> Duration,
) -> Ratio {
    let (mut zt_times, mut floor_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let per_op = |total: Duration| total / u32::try_from(comparison.iters).unwrap_or(u32::MAX);
    for round in 0..comparison.rounds {
        let (z, f) = if round % 2 == 0 {
            let z = zt(comparison.iters);
            (z, floor(comparison.iters))
        } else {
            let f = floor(comparison.iters);
            (zt(comparison.iters), f)
        };
        zt_times.push(per_op(z));
        floor_times.push(per_op(f));
        ratios.push(f.as_secs_f64() / z.as_secs_f64());
    }
    let ratio = Ratio {
        zt: median(&mut zt_times),
        floor: median(&mut floor_times),
        ratio: median_f64(&mut ratios),
    };
    let met = ratio.ratio >= comparison.goal;
    eprintln!(
        "{}: zt {} vs {} {}: ratio {:.2} (goal >= {:.2}, {}) [{} rounds of {}]",
        comparison.what,
        format_duration(ratio.zt),
        comparison.floor,
        format_duration(ratio.floor),
        ratio.ratio,
        comparison.goal,
        if met { "met" } else { "MISSED" },
        comparison.rounds,
        comparison.iters,
    );
    record(&[
        comparison.what,
        &format_duration(ratio.zt),
        &format!("{} {}", comparison.floor, format_duration(ratio.floor)),
        &format!("{:.2}", ratio.ratio),
        &format!("≥ {:.2}", comparison.goal),
        if met { "met" } else { "**missed**" },
    ]);
    ratio
}

/// Prints and records an absolute figure: the median of `samples` against `goal`.
pub fn absolute(what: &str, samples: &mut [Duration], goal: Duration) -> Duration {
    let median = median(samples);
    let p90 = percentile(samples, 0.9);
    let met = median < goal;
    eprintln!(
        "{what}: median {}, p90 {} over {} runs (goal median < {}, {})",
        format_duration(median),
        format_duration(p90),
        samples.len(),
        format_duration(goal),
        if met { "met" } else { "MISSED" },
    );
    record(&[
        what,
        &format!(
            "median {}, p90 {}",
            format_duration(median),
            format_duration(p90)
        ),
        "(absolute)",
        "",
        &format!("median < {}", format_duration(goal)),
        if met { "met" } else { "**missed**" },
    ]);
    median
}

/// Appends a row to `ZT_BENCH_RESULTS`, if set.
pub fn record(cells: &[&str]) {
    let Some(path) = std::env::var_os("ZT_BENCH_RESULTS") else {
        return;
    };
    let row = format!("| {} |\n", cells.join(" | "));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(row.as_bytes()));
    if let Err(error) = written {
        eprintln!("cannot append to {}: {error}", path.to_string_lossy());
    }
}

/// The median of `samples` (sorted in place). Zero when empty.
pub fn median(samples: &mut [Duration]) -> Duration {
    percentile(samples, 0.5)
}

/// The `q` quantile of `samples` (sorted in place), nearest rank. Zero when empty.
pub fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A duration with three significant digits and a unit: "48.2 µs", "1.02 ms", "0.451 s".
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    let (value, unit) = if seconds >= 0.1 {
        (seconds, "s")
    } else if seconds >= 1e-4 {
        (seconds * 1e3, "ms")
    } else if seconds >= 1e-7 {
        (seconds * 1e6, "µs")
    } else {
        (seconds * 1e9, "ns")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else if value >= 1.0 {
        2
    } else {
        3
    };
    format!("{value:.decimals$} {unit}")
}

/// A process's memory, in KiB, from `/proc/<pid>/status` (Linux).
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub resident: u64,
    /// The peak resident (`VmHWM`).
    pub peak: u64,
}

/// The memory of process `pid` (a number, or `self`); `None` where `/proc` is not there.
pub fn memory_kib(pid: &str) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Memory {
        resident: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// CPU time this process has used, user and system, from `/proc/self/stat` (Linux, in the
/// kernel's user-visible ticks of 1/100 s); `None` where it cannot be read.
pub fn process_cpu() -> Option<Duration> {
    cpu_of_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// `utime + stime` of a `/proc/PID/stat` line. The command name, in parentheses, may hold
/// spaces, so the fields are counted after its closing parenthesis.
fn cpu_of_stat(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: state (3), ..., utime (14), stime (15), counting from the pid as 1.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_nanos(48_213)), "48.2 µs");
        assert_eq!(format_duration(Duration::from_micros(1_020)), "1.02 ms");
        assert_eq!(format_duration(Duration::from_millis(451)), "0.451 s");
        assert_eq!(format_duration(Duration::from_nanos(640)), "0.640 µs");
        assert_eq!(format_duration(Duration::from_nanos(64)), "64.0 ns");
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 37 0 0 20 0 4 0";
        assert_eq!(cpu_of_stat(stat), Some(Duration::from_millis(2_870)));
        assert_eq!(cpu_of_stat("4242 (x) S 1"), None);
        if cfg!(target_os = "linux") {
            assert!(process_cpu().is_some());
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=11).rev().map(Duration::from_millis).collect();
        assert_eq!(median(&mut samples), Duration::from_millis(6));
        assert_eq!(percentile(&mut samples, 0.9), Duration::from_millis(10));
        assert_eq!(median(&mut []), Duration::ZERO);
    }

    #[test]
    fn reads_this_process_memory() {
        let memory = memory_kib("self").expect("Linux /proc");
        assert!(memory.resident > 0 && memory.peak >= memory.resident);
    }
}

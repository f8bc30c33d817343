//! The resident memory of a device-side verifier holding its log: `device_memory ROOT COPY`
//! deploys `zt_examples::device::Device` from the copy at COPY (reading it and verifying every
//! entry from ROOT, as after a restart), then prints the process's resident memory before and
//! after, and its peak, from `/proc/self/status` (Linux).

#![allow(clippy::print_stdout, reason = "a tool that prints")]

use std::time::Instant;

use zt_core::TrustRoot;
use zt_examples::device::Device;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: device_memory ROOT COPY";
    let root: TrustRoot = args
        .next()
        .expect(usage)
        .parse()
        .expect("a zt-root-v1 root");
    let copy = std::path::PathBuf::from(args.next().expect(usage));
    let before = zt_benches::measure::memory_kib("self").expect("/proc/self/status");
    let started = Instant::now();
    let device = Device::deploy(root, &copy).expect("the copy verifies");
    let elapsed = started.elapsed();
    let after = zt_benches::measure::memory_kib("self").expect("/proc/self/status");
    println!("entries {}", device.next_seq().0);
    println!("seconds {:.1}", elapsed.as_secs_f64());
    println!("rss_before_kib {}", before.resident);
    println!("rss_kib {}", after.resident);
    println!("peak_kib {}", after.peak);
    drop(device);
}

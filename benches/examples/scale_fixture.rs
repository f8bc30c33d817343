//! Prepares the 100,000-agent organization for the memory figures of `benches/report.sh`.
//!
//! `scale_fixture DIR` stores the organization in `DIR/scale-100k.sqlite` (reusing it when
//! `store_scale` already did), writes the host key zt-server needs for it to
//! `DIR/scale-host.key`, and the organization's log, as a device keeps it (spec §5.5), to
//! `DIR/scale-100k.log`. Prints `org ID` and `root ROOT`.

#![allow(clippy::print_stdout, reason = "a tool that prints")]

use std::io::Write as _;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: scale_fixture DIR"));
    std::fs::create_dir_all(&dir).expect("directory");
    let world = zt_benches::scale_organization();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt
        .block_on(zt_store_sqlite::open(dir.join("scale-100k.sqlite")))
        .expect("sqlite");
    zt_benches::populate_scale_store(&rt, &store, &world);

    // zt-server's host key file format (zt-server/src/host_key.rs).
    let host_key = dir.join("scale-host.key");
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    let mut file = file.open(&host_key).expect("host key file");
    writeln!(
        file,
        "zt-host-key-v1\n{}",
        hex::encode(world.host.seed().expose_secret())
    )
    .expect("host key written");

    let log = zt_core::encode_log_export(&world.log);
    std::fs::write(dir.join("scale-100k.log"), log).expect("log written");
    println!("org {}", world.org);
    println!("root {}", world.state.trust_root().expect("root"));
}

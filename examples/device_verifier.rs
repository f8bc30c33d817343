//! A device-side verifier's command line (see `device.rs`).
//!
//! ```text
//! cargo run -p zt-examples --example device_verifier -- \
//!     --server http://127.0.0.1:7878 --token ztk_… --root zt-root-v1:… --copy device.log \
//!     verify task.json payload.bin
//! ```
//!
//! `sync` brings the device's copy up to date; `verify DOCUMENT PAYLOAD` syncs if the
//! server answers (offline, the copy decides alone) and then accepts or refuses the task
//! authorization `zt task sign` wrote, for the task whose payload is PAYLOAD.
//! Exit codes: 0 accepted (or synced), 1 refused or history not trustworthy, 2 usage.

use std::process::ExitCode;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zt_core::{PayloadDigest, TaskBinding, TaskKind, TrustRoot, UnixTime};
use zt_examples::device::{Device, SyncError};
use zt_examples::http_source::HttpLogSource;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("error: {message}");
            if code == 2 {
                eprintln!("usage: device_verifier --server URL --token TOKEN --root ROOT --copy FILE (sync | verify DOCUMENT PAYLOAD)");
            }
            ExitCode::from(code)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), (u8, String)> {
    let usage = |message: &str| (2, message.to_owned());
    let flag = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|index| args.get(index + 1))
            .cloned()
            .ok_or_else(|| usage(&format!("missing {name}")))
    };
    let (server, token, copy) = (flag("--server")?, flag("--token")?, flag("--copy")?);
    let root: TrustRoot = flag("--root")?
        .parse()
        .map_err(|_| usage("--root is not a zt-root-v1 root"))?;
    let rest: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(index, arg)| {
            !arg.starts_with("--")
                && !args
                    .get(index.wrapping_sub(1))
                    .is_some_and(|flag| flag.starts_with("--"))
        })
        .map(|(_, arg)| arg)
        .collect();
    let mut device = Device::deploy(root, copy.as_ref()).map_err(|error| (1, error.to_string()))?;
    let mut source = HttpLogSource::new(&server, &token).map_err(|error| (1, error))?;
    match rest.as_slice() {
        [command] if command.as_str() == "sync" => {
            let added = device
                .sync(&mut source)
                .map_err(|error| (1, error.to_string()))?;
            println!("synced: {added} new entries, next {}", device.next_seq());
            Ok(())
        }
        [command, document, payload] if command.as_str() == "verify" => {
            match device.sync(&mut source) {
                Ok(_) => {}
                Err(SyncError::Unreachable(why)) => {
                    eprintln!("offline ({why}): verifying from the copy")
                }
                Err(error) => return Err((1, error.to_string())),
            }
            if device.needs_redeploy() {
                return Err((
                    1,
                    "the organization was reset: redeploy this device with the new root".into(),
                ));
            }
            let document: serde_json::Value = std::fs::read(document)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .ok_or_else(|| usage("the document is not JSON from `zt task sign`"))?;
            let field = |name: &str| {
                document
                    .get(name)
                    .and_then(|value| value.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let authorization = STANDARD
                .decode(field("authorization"))
                .map_err(|_| usage("the authorization is not base64"))?;
            let payload = std::fs::read(payload).map_err(|error| usage(&error.to_string()))?;
            let binding = TaskBinding {
                kind: TaskKind::new(&field("kind")).map_err(|_| usage("invalid task kind"))?,
                payload: PayloadDigest::of(&payload),
            };
            let now = UnixTime(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_secs()),
            );
            let task = device
                .verify_task(&authorization, &binding, now)
                .map_err(|error| (1, format!("refused: {error}")))?;
            println!("accepted: agent {} key {}", task.agent, task.key);
            Ok(())
        }
        _ => Err(usage("expected `sync` or `verify DOCUMENT PAYLOAD`")),
    }
}

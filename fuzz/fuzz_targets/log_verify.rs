//! Log verification (spec §5) of a real log with fuzzer-chosen damage: never panics, and the
//! batch and strict modes agree on the verdict and on the first bad entry.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use zt_core::{verify_encoded_log, VerifyMode};
use zt_testkit::world::{agent, World};

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut world = World::new(4);
        world.set_role(agent(0), zt_core::Role::Admin).expect("role");
        world.first_key(agent(0)).expect("first key");
        for member in 1..4 {
            let request = world.request(agent(member)).expect("request");
            world.approve(agent(0), request).expect("approve");
        }
        world.change(agent(2)).expect("change");
        let registration = world.register_recovery(agent(3)).expect("register");
        world.recovery_reset(agent(3), registration).expect("reset");
        world.revoke(agent(0), agent(1), false).expect("revoke");
        world
    })
}

#[derive(Arbitrary, Debug)]
enum Damage {
    SetByte { entry: u8, position: u16, value: u8 },
    Truncate { entry: u8, length: u16 },
    Drop { entry: u8 },
    Duplicate { entry: u8 },
    Swap { a: u8, b: u8 },
    Append { bytes: Vec<u8> },
}

fuzz_target!(|damages: Vec<Damage>| {
    let world = world();
    let root = world.state.trust_root().expect("root");
    let mut log: Vec<Vec<u8>> = world.log.iter().map(|e| e.encoded().to_vec()).collect();
    for damage in damages.iter().take(4) {
        let n = log.len();
        if n == 0 {
            break;
        }
        match damage {
            Damage::SetByte { entry, position, value } => {
                let bytes = &mut log[usize::from(*entry) % n];
                if !bytes.is_empty() {
                    let at = usize::from(*position) % bytes.len();
                    bytes[at] = *value;
                }
            }
            Damage::Truncate { entry, length } => {
                let bytes = &mut log[usize::from(*entry) % n];
                let keep = usize::from(*length) % (bytes.len() + 1);
                bytes.truncate(keep);
            }
            Damage::Drop { entry } => {
                log.remove(usize::from(*entry) % n);
            }
            Damage::Duplicate { entry } => {
                let copy = log[usize::from(*entry) % n].clone();
                log.insert(usize::from(*entry) % n, copy);
            }
            Damage::Swap { a, b } => log.swap(usize::from(*a) % n, usize::from(*b) % n),
            Damage::Append { bytes } => log.push(bytes.clone()),
        }
    }
    let batch = verify_encoded_log(&root, &log, VerifyMode::Batch);
    let strict = verify_encoded_log(&root, &log, VerifyMode::Strict);
    match (batch, strict) {
        (Ok(batch), Ok(strict)) => assert_eq!(batch.active_keys(), strict.active_keys()),
        (Err(batch), Err(strict)) => assert_eq!(batch, strict),
        (batch, strict) => panic!("modes disagree: batch {batch:?}, strict {strict:?}"),
    }
});

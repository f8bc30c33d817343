//! Runs one replay of a log, zt's or the raw batch, for instruction-level profiling:
//! `valgrind --tool=callgrind target/release/examples/replay_once zt|raw [entries]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "zt".into());
    let entries: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let world = zt_benches::organization_with_log(entries);
    let log = zt_benches::log_of(&world);
    let root = world.state.trust_root().expect("root");
    let triples = zt_benches::signatures_of(log);
    let messages: Vec<&[u8]> = triples.iter().map(|(m, _, _)| m.as_slice()).collect();
    let signatures: Vec<ed25519_dalek::Signature> = triples
        .iter()
        .map(|(_, s, _)| ed25519_dalek::Signature::from_bytes(&s.to_bytes()))
        .collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = triples
        .iter()
        .map(|(_, _, k)| ed25519_dalek::VerifyingKey::from_bytes(k.as_bytes()).expect("key"))
        .collect();
    match which.as_str() {
        "raw" => {
            for ((m, s), k) in messages
                .chunks(1024)
                .zip(signatures.chunks(1024))
                .zip(keys.chunks(1024))
            {
                ed25519_dalek::verify_batch(m, s, k).expect("valid");
            }
        }
        _ => {
            zt_core::verify_log(&root, log).expect("valid");
        }
    }
}

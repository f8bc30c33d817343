//! The task-authorization and session-delegation decoders and verifiers (spec §9): never
//! panics; an accepted encoding is canonical; verification of anything decoded returns a
//! result, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zt_core::{InMemoryReplayGuard, PayloadDigest, Role, SessionDelegation, TaskAuthorization, TaskBinding, TaskKind};
use zt_testkit::world::{agent, World};

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut world = World::new(3);
        world.set_role(agent(0), Role::Admin).expect("role");
        world.first_key(agent(0)).expect("first key");
        world
    })
}

fuzz_target!(|data: &[u8]| {
    // A session delegation sent on its own (spec §9.2): canonical when accepted, and its
    // check returns a result.
    if let Ok(delegation) = SessionDelegation::decode(data) {
        assert_eq!(delegation.encode(), data, "an accepted delegation must be canonical");
        let _ = world().state.check_delegation(&delegation, world().now);
    }
    let Ok(authorization) = TaskAuthorization::decode(data) else { return };
    assert_eq!(authorization.encode(), data, "an accepted authorization must be canonical");
    let world = world();
    let binding = TaskBinding { kind: TaskKind::new("remote-execution").expect("kind"), payload: PayloadDigest::of(b"x") };
    let _ = world.state.verify_task(&authorization, &binding, world.now, &mut InMemoryReplayGuard::default());
    let _ = world.state.verify_task(&authorization, &authorization.binding, world.now, &mut InMemoryReplayGuard::default());
});

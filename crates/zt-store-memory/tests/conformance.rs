//! The conformance suite, against the in-memory store.

use zt_core::{OrgId, Seq};
use zt_store::conformance::StoreFactory;
use zt_store_memory::MemoryStore;

struct Memory;

impl StoreFactory for Memory {
    type Store = MemoryStore;

    async fn create(&self) -> MemoryStore {
        MemoryStore::new()
    }

    async fn another_handle(&self, store: &MemoryStore) -> MemoryStore {
        store.clone()
    }

    async fn corrupt_entry(&self, store: &MemoryStore, org: OrgId, seq: Seq, bytes: Vec<u8>) {
        store.corrupt_entry(org, seq, bytes);
    }
}

zt_store::conformance_tests!(Some(Memory));

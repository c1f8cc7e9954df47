// SPDX-License-Identifier: GPL-2.0

//! The tracked connections of one namespace and family, for 100,000 and more: every
//! change and look-up costs about the same whatever the size, because the table is changed
//! under a lock that keeps interrupts off (the packet path reads it).
//!
//! - Entries live in slots of fixed chunks ([`CHUNK`] each), allocated outside the lock
//!   and charged to the registering user's memory cgroup; an entry never moves, so growing
//!   copies no entries (only the chunks' handles and the index heads, a few hundred
//!   kilobytes at 100,000).
//! - Two indexes ([`Chains`], linear hashing: no rehash of the whole table) find an entry
//!   by its socket and the entries with given ports (the exchange messages name a
//!   connection by its ports and one of its pairs; two connections may only conflict on a
//!   pair if their ports are equal).
//! - Each user's count is kept, so the quota check is a binary search, not a scan.

#![forbid(unsafe_code)]

use kernel::prelude::*;

use crate::logic::chains::{heads_for, Chains, Links, LinksMut, NIL};

/// Slots per chunk.
pub(super) const CHUNK: usize = 64;
/// Index by socket ([`Keyed::sock_hash`]) and by ports ([`Keyed::ports_hash`]).
pub(super) const BY_SOCK: usize = 0;
pub(super) const BY_PORTS: usize = 1;

/// What the table needs to know of an entry.
pub(super) trait Keyed {
    /// Fixed while the entry is in the table.
    fn sock_hash(&self) -> u32;
    /// Fixed while the entry is in the table.
    fn ports_hash(&self) -> u32;
    /// Whose quota it counts against.
    fn uid(&self) -> u32;
}

pub(super) struct Slot<T> {
    entry: Option<T>,
    /// The next slot in each index's chain; a vacant slot's `next[BY_SOCK]` links the
    /// free list instead.
    next: [u32; 2],
}

type Chunk<T> = KVVec<Slot<T>>;

/// The table.
pub(super) struct Table<T> {
    chunks: KVec<Chunk<T>>,
    heads: [KVVec<u32>; 2],
    chains: [Chains; 2],
    /// The first vacant slot ([`NIL`]: none).
    free: u32,
    /// (uid, entries), sorted by uid.
    users: KVec<(u32, u32)>,
}

/// Room for one more entry, allocated outside the lock ([`Table::needs`],
/// [`Table::grow`]).
pub(super) struct Growth<T> {
    chunk: Option<Chunk<T>>,
    chunks: Option<KVec<Chunk<T>>>,
    heads: Option<[KVVec<u32>; 2]>,
    users: Option<KVec<(u32, u32)>>,
}

/// What [`Table::grow`] replaced: freed by the caller after the lock.
pub(super) struct Replaced<T> {
    _chunks: Option<KVec<Chunk<T>>>,
    _heads: Option<[KVVec<u32>; 2]>,
    _users: Option<KVec<(u32, u32)>>,
    _unused: Growth<T>,
}

/// What a table lacks for one more entry (sizes to allocate).
#[derive(Clone, Copy, Default)]
pub(super) struct Needs {
    chunk: bool,
    chunks: usize,
    heads: usize,
    users: usize,
}

impl Needs {
    pub(super) fn none(&self) -> bool {
        !self.chunk && self.chunks == 0 && self.heads == 0 && self.users == 0
    }
}

impl<T> Growth<T> {
    /// Allocates what `needs` says, charged to the caller's memory cgroup.
    pub(super) fn new(needs: Needs) -> Result<Self> {
        let flags = GFP_KERNEL_ACCOUNT;
        let chunk = if needs.chunk {
            let mut chunk = KVVec::with_capacity(CHUNK, flags)?;
            for _ in 0..CHUNK {
                // Within the capacity just allocated.
                let _ = chunk.push_within_capacity(Slot {
                    entry: None,
                    next: [NIL; 2],
                });
            }
            Some(chunk)
        } else {
            None
        };
        let chunks = match needs.chunks {
            0 => None,
            n => Some(KVec::with_capacity(n, flags)?),
        };
        let heads = match needs.heads {
            0 => None,
            n => Some([
                KVVec::from_elem(NIL, n, flags)?,
                KVVec::from_elem(NIL, n, flags)?,
            ]),
        };
        let users = match needs.users {
            0 => None,
            n => Some(KVec::with_capacity(n, flags)?),
        };
        Ok(Self {
            chunk,
            chunks,
            heads,
            users,
        })
    }
}

/// One index's links, read.
struct View<'a, T> {
    which: usize,
    heads: &'a [u32],
    chunks: &'a [Chunk<T>],
}

/// One index's links, changed.
struct Edit<'a, T> {
    which: usize,
    heads: &'a mut [u32],
    chunks: &'a mut [Chunk<T>],
}

fn slot_of<T>(chunks: &[Chunk<T>], slot: u32) -> Option<&Slot<T>> {
    let at = slot as usize;
    chunks.get(at / CHUNK)?.get(at % CHUNK)
}

fn slot_of_mut<T>(chunks: &mut [Chunk<T>], slot: u32) -> Option<&mut Slot<T>> {
    let at = slot as usize;
    chunks.get_mut(at / CHUNK)?.get_mut(at % CHUNK)
}

fn hash_of<T: Keyed>(chunks: &[Chunk<T>], which: usize, slot: u32) -> u32 {
    match slot_of(chunks, slot).and_then(|s| s.entry.as_ref()) {
        Some(e) if which == BY_SOCK => e.sock_hash(),
        Some(e) => e.ports_hash(),
        None => 0,
    }
}

impl<T: Keyed> Links for View<'_, T> {
    fn head(&self, bucket: usize) -> u32 {
        self.heads.get(bucket).copied().unwrap_or(NIL)
    }
    fn next(&self, slot: u32) -> u32 {
        slot_of(self.chunks, slot).map_or(NIL, |s| s.next[self.which])
    }
    fn hash(&self, slot: u32) -> u32 {
        hash_of(self.chunks, self.which, slot)
    }
    fn room(&self) -> usize {
        self.heads.len()
    }
}

impl<T: Keyed> Links for Edit<'_, T> {
    fn head(&self, bucket: usize) -> u32 {
        self.heads.get(bucket).copied().unwrap_or(NIL)
    }
    fn next(&self, slot: u32) -> u32 {
        slot_of(self.chunks, slot).map_or(NIL, |s| s.next[self.which])
    }
    fn hash(&self, slot: u32) -> u32 {
        hash_of(self.chunks, self.which, slot)
    }
    fn room(&self) -> usize {
        self.heads.len()
    }
}

impl<T: Keyed> LinksMut for Edit<'_, T> {
    fn set_head(&mut self, bucket: usize, slot: u32) {
        if let Some(h) = self.heads.get_mut(bucket) {
            *h = slot;
        }
    }
    fn set_next(&mut self, slot: u32, next: u32) {
        if let Some(s) = slot_of_mut(self.chunks, slot) {
            s.next[self.which] = next;
        }
    }
}

impl<T: Keyed> Table<T> {
    pub(super) const fn new() -> Self {
        Self {
            chunks: KVec::new(),
            heads: [KVVec::new(), KVVec::new()],
            chains: [Chains::new(), Chains::new()],
            free: NIL,
            users: KVec::new(),
        }
    }

    /// Entries (every one is in both indexes).
    pub(super) fn len(&self) -> usize {
        self.chains[BY_SOCK].len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots, vacant or not: entries are at `0..slots()`.
    pub(super) fn slots(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    pub(super) fn get(&self, slot: usize) -> Option<&T> {
        let slot = u32::try_from(slot).ok()?;
        slot_of(&self.chunks, slot)?.entry.as_ref()
    }

    pub(super) fn get_mut(&mut self, slot: usize) -> Option<&mut T> {
        let slot = u32::try_from(slot).ok()?;
        slot_of_mut(&mut self.chunks, slot)?.entry.as_mut()
    }

    /// The slots in `range` that hold an entry.
    pub(super) fn used_in(
        &self,
        range: core::ops::Range<usize>,
    ) -> impl Iterator<Item = usize> + '_ {
        range.filter(move |&at| self.get(at).is_some())
    }

    /// The slots of the index `which` whose entries may have `hash`: every one that has
    /// is among them (the caller compares keys).
    pub(super) fn chain(&self, which: usize, hash: u32) -> impl Iterator<Item = usize> + '_ {
        let view = View {
            which,
            heads: &self.heads[which],
            chunks: &self.chunks,
        };
        Chains::slots_of(&self.chains[which], view, hash).map(|at| at as usize)
    }

    /// Entries `uid` has in the table.
    pub(super) fn user_count(&self, uid: u32) -> usize {
        match self.users.binary_search_by_key(&uid, |&(u, _)| u) {
            Ok(at) => self.users.get(at).map_or(0, |&(_, n)| n as usize),
            Err(_) => 0,
        }
    }

    /// What one more entry needs allocated first (nothing, mostly).
    pub(super) fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        if self.free == NIL {
            needs.chunk = true;
            if self.chunks.len() == self.chunks.capacity() {
                needs.chunks = (self.chunks.capacity() * 2).max(4);
            }
        }
        // Heads for twice the slots once the index would want more than it has: they
        // grow geometrically, so their copies add up to a few times the final size.
        let slots = self.slots() + if needs.chunk { CHUNK } else { 0 };
        if heads_for(slots) > self.heads[BY_SOCK].len() {
            needs.heads = heads_for(slots * 2);
        }
        if self.users.len() == self.users.capacity() {
            needs.users = (self.users.capacity() * 2).max(4);
        }
        needs
    }

    /// Takes in what `growth` brings (under the lock: moves handles and copies the index
    /// heads, never an entry). What it replaces, and what it did not need because the
    /// table changed meanwhile, goes back to be freed after the lock.
    pub(super) fn grow(&mut self, mut growth: Growth<T>) -> Replaced<T> {
        let mut old_chunks = None;
        if let Some(mut bigger) = growth.chunks.take() {
            if bigger.capacity() > self.chunks.capacity() {
                for c in self.chunks.drain_all() {
                    // Within capacity: it is larger than the old one.
                    let _ = bigger.push_within_capacity(c);
                }
                old_chunks = Some(core::mem::replace(&mut self.chunks, bigger));
            } else {
                growth.chunks = Some(bigger);
            }
        }
        if self.free == NIL && self.chunks.len() < self.chunks.capacity() {
            if let Some(chunk) = growth.chunk.take() {
                self.add_chunk(chunk);
            }
        }
        let mut old_heads = None;
        if let Some(mut bigger) = growth.heads.take() {
            if bigger[0].len() > self.heads[0].len() {
                for (new, old) in bigger.iter_mut().zip(self.heads.iter()) {
                    if let Some(prefix) = new.get_mut(..old.len()) {
                        prefix.copy_from_slice(old);
                    }
                }
                old_heads = Some(core::mem::replace(&mut self.heads, bigger));
            } else {
                growth.heads = Some(bigger);
            }
        }
        let mut old_users = None;
        if let Some(mut bigger) = growth.users.take() {
            if bigger.capacity() > self.users.capacity() {
                for u in self.users.drain_all() {
                    let _ = bigger.push_within_capacity(u);
                }
                old_users = Some(core::mem::replace(&mut self.users, bigger));
            } else {
                growth.users = Some(bigger);
            }
        }
        Replaced {
            _chunks: old_chunks,
            _heads: old_heads,
            _users: old_users,
            _unused: growth,
        }
    }

    fn add_chunk(&mut self, chunk: Chunk<T>) {
        let base = self.slots() as u32;
        if self.chunks.push_within_capacity(chunk).is_err() {
            return;
        }
        // Vacant slots are linked from the first to the last, in front of the old list.
        let Some(chunk) = self.chunks.last_mut() else {
            return;
        };
        let count = chunk.len() as u32;
        for (i, slot) in chunk.iter_mut().enumerate() {
            let i = i as u32;
            slot.next[BY_SOCK] = if i + 1 < count {
                base + i + 1
            } else {
                self.free
            };
        }
        if count > 0 {
            self.free = base;
        }
    }

    /// Puts `entry` in a vacant slot and indexes it; gives it back without room (the
    /// caller grows the table first, [`Table::needs`]).
    pub(super) fn insert(&mut self, entry: T) -> core::result::Result<usize, T> {
        let uid = entry.uid();
        let at_user = self.users.binary_search_by_key(&uid, |&(u, _)| u);
        if at_user.is_err() && self.users.len() == self.users.capacity() {
            return Err(entry);
        }
        let slot = self.free;
        let Some(s) = slot_of_mut(&mut self.chunks, slot) else {
            return Err(entry);
        };
        self.free = s.next[BY_SOCK];
        s.entry = Some(entry);
        s.next = [NIL; 2];
        for which in [BY_SOCK, BY_PORTS] {
            let mut links = Edit {
                which,
                heads: &mut self.heads[which],
                chunks: &mut self.chunks,
            };
            self.chains[which].insert(&mut links, slot);
        }
        match at_user {
            Ok(at) => {
                if let Some(u) = self.users.get_mut(at) {
                    u.1 += 1;
                }
            }
            Err(at) => {
                // Room checked above.
                let _ = self.users.insert_within_capacity(at, (uid, 1));
            }
        }
        Ok(slot as usize)
    }

    /// Takes the entry out of `slot` (its references go after the caller's lock).
    pub(super) fn remove(&mut self, slot: usize) -> Option<T> {
        let slot = u32::try_from(slot).ok()?;
        slot_of(&self.chunks, slot)?.entry.as_ref()?;
        for which in [BY_SOCK, BY_PORTS] {
            let mut links = Edit {
                which,
                heads: &mut self.heads[which],
                chunks: &mut self.chunks,
            };
            self.chains[which].remove(&mut links, slot);
        }
        let free = self.free;
        let s = slot_of_mut(&mut self.chunks, slot)?;
        let entry = s.entry.take()?;
        s.next = [free, NIL];
        self.free = slot;
        if let Ok(at) = self.users.binary_search_by_key(&entry.uid(), |&(u, _)| u) {
            let last = self.users.get_mut(at).is_some_and(|u| {
                u.1 -= 1;
                u.1 == 0
            });
            if last {
                let _ = self.users.remove(at);
            }
        }
        Some(entry)
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A hash index over the slots of a table that grows to 100,000 entries and more without
//! ever rehashing it all at once (the switchover's tracked connections: the table is
//! changed under a lock that keeps interrupts off, so no single change may cost in
//! proportion to the table).
//!
//! Chained buckets grown by linear hashing (Litwin): the bucket count grows by one
//! whenever the entries outnumber [`LOAD`] per bucket, and only the one bucket being split
//! is relinked. A bucket's chain runs through links kept per slot. The storage (bucket
//! heads and links) is the caller's, through [`Links`], so that the kernel side can
//! allocate it outside its lock and never move the entries themselves.

/// No slot: an empty bucket, the end of a chain.
pub(crate) const NIL: u32 = u32::MAX;
/// Buckets of an empty index (a power of two).
pub(crate) const FIRST_BUCKETS: usize = 16;
/// Entries per bucket, on average, beyond which a bucket is split.
pub(crate) const LOAD: usize = 2;

/// Where an index keeps its chains.
pub(crate) trait Links {
    /// The first slot of bucket `bucket` ([`NIL`]: empty).
    fn head(&self, bucket: usize) -> u32;
    /// The slot after `slot` in its bucket's chain.
    fn next(&self, slot: u32) -> u32;
    /// The hash of the entry in `slot` (fixed while it is indexed).
    fn hash(&self, slot: u32) -> u32;
    /// Buckets there is room for (heads beyond those in use are [`NIL`]).
    fn room(&self) -> usize;
}

impl<L: Links> Links for &L {
    fn head(&self, bucket: usize) -> u32 {
        (**self).head(bucket)
    }
    fn next(&self, slot: u32) -> u32 {
        (**self).next(slot)
    }
    fn hash(&self, slot: u32) -> u32 {
        (**self).hash(slot)
    }
    fn room(&self) -> usize {
        (**self).room()
    }
}

/// [`Links`] that can be changed.
pub(crate) trait LinksMut: Links {
    fn set_head(&mut self, bucket: usize, slot: u32);
    fn set_next(&mut self, slot: u32, next: u32);
}

/// A 32-bit hash of a key whose low bits pick the bucket: multiplicative hashing, the
/// high half of the product (its best-mixed bits).
pub(crate) fn mix(key: u64) -> u32 {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
}

/// Buckets an index may use when it holds `entries`: what its storage should have room
/// for (with less, chains only grow longer).
pub(crate) fn heads_for(entries: usize) -> usize {
    (entries / LOAD + 1).max(FIRST_BUCKETS)
}

/// The state of one index: how far linear hashing went, and how many entries it holds.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Chains {
    /// Doublings of [`FIRST_BUCKETS`] completed.
    level: u32,
    /// The next bucket to split (below `FIRST_BUCKETS << level`).
    split: usize,
    len: usize,
}

impl Chains {
    pub(crate) const fn new() -> Self {
        Self {
            level: 0,
            split: 0,
            len: 0,
        }
    }

    /// Entries indexed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Buckets in use.
    pub(crate) fn buckets(&self) -> usize {
        (FIRST_BUCKETS << self.level) + self.split
    }

    /// The bucket of `hash`.
    pub(crate) fn bucket(&self, hash: u32) -> usize {
        let low = FIRST_BUCKETS << self.level;
        let at = hash as usize & (low - 1);
        if at < self.split {
            // Split already: one more bit tells which half.
            hash as usize & (2 * low - 1)
        } else {
            at
        }
    }

    /// Adds the entry in `slot` (not indexed yet), then splits one bucket if the index is
    /// over its load and `links` has room for one more.
    pub(crate) fn insert(&mut self, links: &mut impl LinksMut, slot: u32) {
        let bucket = self.bucket(links.hash(slot));
        links.set_next(slot, links.head(bucket));
        links.set_head(bucket, slot);
        self.len += 1;
        if self.len > self.buckets() * LOAD && links.room() > self.buckets() {
            self.split_one(links);
        }
    }

    /// Removes the entry in `slot`; false if it was not indexed.
    pub(crate) fn remove(&mut self, links: &mut impl LinksMut, slot: u32) -> bool {
        let bucket = self.bucket(links.hash(slot));
        let mut prev = NIL;
        let mut at = links.head(bucket);
        // At most every entry: a corrupted chain cannot loop forever.
        for _ in 0..=self.len {
            if at == NIL {
                return false;
            }
            if at == slot {
                let after = links.next(slot);
                if prev == NIL {
                    links.set_head(bucket, after);
                } else {
                    links.set_next(prev, after);
                }
                links.set_next(slot, NIL);
                self.len -= 1;
                return true;
            }
            prev = at;
            at = links.next(at);
        }
        false
    }

    /// The slots in the chain where entries with `hash` are: every entry indexed with
    /// that hash is among them, so may be others (the caller compares their keys).
    pub(crate) fn slots_of<L: Links>(&self, links: L, hash: u32) -> Chain<L> {
        Chain {
            at: links.head(self.bucket(hash)),
            left: self.len,
            links,
        }
    }

    /// Splits bucket `split` into itself and bucket `split + (FIRST_BUCKETS << level)`:
    /// each entry of its chain goes to the one the next bit of its hash names.
    fn split_one(&mut self, links: &mut impl LinksMut) {
        let low = FIRST_BUCKETS << self.level;
        let (old, new) = (self.split, self.split + low);
        let mut at = links.head(old);
        links.set_head(old, NIL);
        links.set_head(new, NIL);
        for _ in 0..=self.len {
            if at == NIL {
                break;
            }
            let after = links.next(at);
            let to = if links.hash(at) as usize & low != 0 {
                new
            } else {
                old
            };
            links.set_next(at, links.head(to));
            links.set_head(to, at);
            at = after;
        }
        self.split += 1;
        if self.split == low {
            self.level += 1;
            self.split = 0;
        }
    }
}

/// The slots of one chain ([`Chains::slots_of`]).
pub(crate) struct Chain<L> {
    links: L,
    at: u32,
    /// Steps left: no more than the entries, whatever the links say.
    left: usize,
}

impl<L: Links> Iterator for Chain<L> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.at == NIL || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let at = self.at;
        self.at = self.links.next(at);
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Storage as the kernel side keeps it: heads with fixed room, a link and a key per
    /// slot.
    struct Store {
        heads: Vec<u32>,
        next: Vec<u32>,
        keys: Vec<u64>,
    }

    impl Links for Store {
        fn head(&self, bucket: usize) -> u32 {
            self.heads[bucket]
        }
        fn next(&self, slot: u32) -> u32 {
            self.next[slot as usize]
        }
        fn hash(&self, slot: u32) -> u32 {
            mix(self.keys[slot as usize])
        }
        fn room(&self) -> usize {
            self.heads.len()
        }
    }

    impl LinksMut for Store {
        fn set_head(&mut self, bucket: usize, slot: u32) {
            self.heads[bucket] = slot;
        }
        fn set_next(&mut self, slot: u32, next: u32) {
            self.next[slot as usize] = next;
        }
    }

    fn store(slots: usize, room: usize) -> Store {
        Store {
            heads: std::vec![NIL; room],
            next: std::vec![NIL; slots],
            keys: std::vec![0; slots],
        }
    }

    fn find(c: &Chains, s: &Store, key: u64) -> Vec<u32> {
        c.slots_of(s, mix(key))
            .filter(|&at| s.keys[at as usize] == key)
            .collect()
    }

    /// 100,000 entries (ports of connections: many to one server port, some keys
    /// repeated), removals and re-insertions in random order: every entry is found in
    /// its chain, removed ones are not, and chains stay short.
    #[test]
    fn finds_every_entry_at_scale() {
        const N: usize = 100_000;
        let mut next = crate::logic::xorshift(0x5ca1e);
        let mut s = store(N, heads_for(N));
        let mut c = Chains::new();
        let mut present = std::vec![false; N];
        for slot in 0..N {
            let lport = 1024 + (next() % 64000) as u64;
            s.keys[slot] = (lport << 16) | 443;
        }
        for slot in 0..N {
            c.insert(&mut s, slot as u32);
            present[slot] = true;
        }
        assert_eq!(c.len(), N);
        assert!(c.buckets() >= N / LOAD && c.buckets() <= heads_for(N));
        for round in 0..3 {
            for _ in 0..N / 3 {
                let slot = (next() % N as u64) as usize;
                if present[slot] {
                    assert!(c.remove(&mut s, slot as u32), "round {round}: {slot}");
                    present[slot] = false;
                } else {
                    c.insert(&mut s, slot as u32);
                    present[slot] = true;
                }
            }
            let mut longest = 0;
            for slot in 0..N {
                let key = s.keys[slot];
                let found = find(&c, &s, key);
                assert_eq!(found.contains(&(slot as u32)), present[slot], "{slot}");
                longest = longest.max(c.slots_of(&s, mix(key)).count());
            }
            assert_eq!(c.len(), present.iter().filter(|&&p| p).count());
            // Far below a scan of the table.
            assert!(longest <= 24, "longest chain {longest}");
        }
        // Removing what is not there changes nothing.
        let gone = (0..N).find(|&i| !present[i]).unwrap();
        let len = c.len();
        assert!(!c.remove(&mut s, gone as u32));
        assert_eq!(c.len(), len);
    }

    /// Without room for more buckets the index still finds everything (chains grow).
    #[test]
    fn works_without_room_to_split() {
        let mut s = store(1000, FIRST_BUCKETS);
        let mut c = Chains::new();
        for slot in 0..1000u32 {
            s.keys[slot as usize] = u64::from(slot);
            c.insert(&mut s, slot);
        }
        assert_eq!(c.buckets(), FIRST_BUCKETS);
        for slot in 0..1000u32 {
            assert_eq!(find(&c, &s, u64::from(slot)), [slot]);
        }
        for slot in (0..1000u32).step_by(2) {
            assert!(c.remove(&mut s, slot));
        }
        for slot in 0..1000u32 {
            assert_eq!(find(&c, &s, u64::from(slot)).len(), (slot % 2) as usize);
        }
    }

    /// Equal keys share a chain, and each is found and removed on its own.
    #[test]
    fn equal_keys() {
        let mut s = store(64, heads_for(64));
        let mut c = Chains::new();
        for slot in 0..64u32 {
            s.keys[slot as usize] = 7;
            c.insert(&mut s, slot);
        }
        assert_eq!(find(&c, &s, 7).len(), 64);
        assert!(c.remove(&mut s, 10));
        let found = find(&c, &s, 7);
        assert_eq!(found.len(), 63);
        assert!(!found.contains(&10));
    }

    /// Splitting follows the bits of the hash: the bucket of every entry is where the
    /// chain for its hash starts, at every step of growth.
    #[test]
    fn bucket_of_every_hash_is_consistent_while_growing() {
        let mut s = store(4096, heads_for(4096));
        let mut c = Chains::new();
        for slot in 0..4096u32 {
            s.keys[slot as usize] = u64::from(slot).wrapping_mul(0x1234_5678_9abc);
            c.insert(&mut s, slot);
            assert!(c.bucket(mix(s.keys[slot as usize])) < c.buckets());
            if slot % 97 == 0 {
                for earlier in 0..=slot {
                    assert_eq!(find(&c, &s, s.keys[earlier as usize]), [earlier]);
                }
            }
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Kernel TLS keys used on demand (issue 19, `net.ipv4.sitemh_lf.ktls`,
//! `net.ipv6.sitemh_lf.ktls`): a TCP connection whose application handed its TLS keys to
//! the kernel (`TCP_ULP` "tls", `TLS_TX` and `TLS_RX`) is protected in the strong mode
//! without any call.
//!
//! The packet path (LOCAL_OUT) notes the first packets a socket with the "tls" upper-layer
//! protocol sends (a hint read without its lock, then remembered by socket so that the
//! rest of its packets cost one load); the work item reads the socket's kTLS state under
//! its lock and derives the exchange keys from the two directions' key material with a
//! label of sitemh's (`logic::kdf::ktls_key_block`). Both ends hold the same two secrets,
//! crossed, so they derive the same keys without a message; nothing secret leaves the
//! kernel. The route lists follow (`lists.rs`) and a notice moves the connection as one
//! registered with `SITEMH_SO_SEQPARAM`. A socket whose cipher is not one the module
//! derives from is counted (`ktls_unusable`) and left alone (to `auto`, if it opened the
//! connection). A connection tracked already (an application's keys, or `auto`'s agreed
//! ones) keeps what it has: both ends must use the same keys, and `auto` takes a
//! connection up when it is established, before any TLS handshake.

#![forbid(unsafe_code)]

use core::sync::atomic::AtomicUsize;

use super::{agree::Opening, *};
use crate::logic::{kdf::ktls_key_block, switchover::LIST_FIRST_MS};

/// Sockets the packet path remembers as noted (a slot each, by address): one whose slot
/// another took is noted again, which costs a look of the work item, nothing more.
pub(super) const KTLS_SEEN: usize = 64;

/// The memory of noted kTLS sockets: a socket's slot follows from its address and holds
/// its address mixed with its peer's initial sequence number, so that a socket allocated
/// later at the same address (a new connection) is not taken for the old one.
pub(super) struct KtlsSeen([AtomicUsize; KTLS_SEEN]);

impl KtlsSeen {
    pub(super) const fn new() -> Self {
        Self([const { AtomicUsize::new(0) }; KTLS_SEEN])
    }

    fn slot(&self, id: usize) -> &AtomicUsize {
        // Sockets are cache-line aligned: the low bits say nothing.
        &self.0[(id >> 6) % KTLS_SEEN]
    }

    fn mark(id: usize, peer_isn: u32) -> usize {
        id ^ (peer_isn as usize).rotate_left(16)
    }

    /// Remembers the socket at `id` whose peer started at `peer_isn`; false if it was
    /// remembered already.
    fn note(&self, id: usize, peer_isn: u32) -> bool {
        let mark = Self::mark(id, peer_isn);
        let slot = self.slot(id);
        // Read first: every packet of a noted socket reads the slot, none writes it (no
        // cache line bouncing between the CPUs that send).
        slot.load(Ordering::Relaxed) != mark && slot.swap(mark, Ordering::Relaxed) != mark
    }

    /// Forgets that socket (its next packet is noted again).
    fn forget(&self, id: usize, peer_isn: u32) {
        let mark = Self::mark(id, peer_isn);
        let _ = self
            .slot(id)
            .compare_exchange(mark, 0, Ordering::Relaxed, Ordering::Relaxed);
    }
}

impl<F: SwitchFamily> Switchover<F> {
    /// `ktls` on or off.
    pub(super) fn set_ktls(&self, on: bool) {
        self.ktls.store(u32::from(on), Ordering::Relaxed);
        self.watch_changed();
    }

    /// The packet path (LOCAL_OUT): a packet of a socket with kernel TLS queues the
    /// socket for the work item, once.
    pub(super) fn note_ktls(&self, packet: &Packet<'_>) {
        let Some(sock) = packet.tls_sock() else {
            return;
        };
        let (id, isn) = (sock.id(), sock.peer_isn());
        if !self.ktls_seen.note(id, isn) {
            return;
        }
        // No room now: a later packet tries again.
        if !self.queue_opening(Opening::ktls(sock)) {
            self.ktls_seen.forget(id, isn);
        }
    }

    /// The work item: protects the kTLS connection of `sock` with keys derived from its
    /// kTLS state.
    pub(super) fn protect_ktls(&self, sock: SockRef, now: u64) {
        if self.ktls.load(Ordering::Relaxed) == 0 {
            return;
        }
        let secrets = match sock.ktls_secrets() {
            Ok(secrets) => secrets,
            Err(e) if e == EOPNOTSUPP => {
                self.counters.ktls_unusable.fetch_add(1, Ordering::Relaxed);
                return;
            }
            // Not kTLS in both directions yet (the library sets one, then the other):
            // the socket's next packet is noted again.
            Err(_) => {
                self.ktls_seen.forget(sock.id(), sock.peer_isn());
                return;
            }
        };
        let derived = secrets
            .tx
            .get(..secrets.len)
            .zip(secrets.rx.get(..secrets.len))
            .and_then(|(tx, rx)| ktls_key_block(tx, rx));
        drop(secrets);
        let Some((mut block, is_client)) = derived else {
            self.counters.ktls_unusable.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let keys = Keys::from_key_block(&block, is_client);
        wipe(&mut block);
        let Ok(set) = KeySet::new(&keys) else {
            return;
        };
        drop(keys);
        let Ok(keys) = Arc::new(set, GFP_KERNEL_ACCOUNT) else {
            return;
        };
        let Ok(tuple) = F::tuple(&sock) else {
            return;
        };
        let own = IdPcb::of_tuple(&tuple);
        let Some(routes) = Routes::new(&[(own.laddr, own.faddr)]) else {
            return;
        };
        let mut t = Tracked::new(Conn::new(own, routes), sock);
        t.keys = Some(keys);
        t.carried = Some(Carried::new());
        t.list_due_ms = now + LIST_FIRST_MS;
        match self.track_new(t) {
            Ok(()) => {
                self.carries_lists.store(true, Ordering::Relaxed);
                self.counters.ktls_protected.fetch_add(1, Ordering::Relaxed);
                self.arm(LIST_FIRST_MS as u32);
            }
            // Tracked already: it keeps its keys.
            Err(e) if e == EEXIST => {}
            Err(_) => {
                self.counters.auto_skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A router inside the site relays the notices it accepts onto its other links, for the
//! hosts behind it that the CE's broadcast (IPv4) or multicast (IPv6) does not reach.

#![forbid(unsafe_code)]

use super::*;

/// A notice to relay: who sent it (an IPv4 address as a number below 2^32), its family,
/// where it arrived, its octets.
#[derive(Clone, Copy)]
pub(super) struct PendingRelay {
    src: u128,
    ipv6: bool,
    iif: i32,
    message: [u8; NOTICE6_MAX],
    len: usize,
}

impl PendingRelay {
    /// Whether `self` is the same notice from the same router as `other`.
    fn same(&self, other: &PendingRelay) -> bool {
        self.src == other.src && self.ipv6 == other.ipv6 && self.octets() == other.octets()
    }

    fn octets(&self) -> &[u8] {
        self.message.get(..self.len).unwrap_or(&[])
    }
}

/// Relays waiting for the work item, and the notices relayed in the last
/// [`RELAY_QUIET_MS`]: two routers relaying between the same two links would otherwise
/// hand a notice back and forth.
#[derive(Default)]
pub(super) struct RelayQueue {
    pending: [Option<PendingRelay>; 4],
    recent: [Option<(PendingRelay, u64)>; 4],
}

/// How long the same notice from the same router is not relayed again.
pub(super) const RELAY_QUIET_MS: u64 = 1000;

impl LinkFail {
    /// Queues a notice from `src` (IPv6 if `ipv6`; arrived on `iif`) for relaying, if this
    /// router relays and has not relayed the same one lately. The work item sends it:
    /// sending needs process context.
    pub(super) fn queue_relay(&self, src: u128, ipv6: bool, iif: i32, message: &[u8]) {
        if self.relay.iter().all(|i| i.load(Ordering::Relaxed) == 0) {
            return;
        }
        let mut relay = PendingRelay {
            src,
            ipv6,
            iif,
            message: [0; NOTICE6_MAX],
            len: message.len(),
        };
        match relay.message.get_mut(..message.len()) {
            Some(room) => room.copy_from_slice(message),
            // Longer than any notice: nothing of ours.
            None => return,
        }
        let now = now_ms();
        let queued = {
            let mut queue = self.relays.lock();
            let seen = queue
                .recent
                .iter()
                .flatten()
                .any(|(r, at)| r.same(&relay) && now.saturating_sub(*at) < RELAY_QUIET_MS);
            let free = queue.pending.iter().position(Option::is_none);
            match (seen, free) {
                (false, Some(slot)) => {
                    queue.pending[slot] = Some(relay);
                    // Remember it in place of the oldest.
                    let oldest = (0..queue.recent.len())
                        .min_by_key(|&i| queue.recent[i].as_ref().map_or(0, |r| r.1));
                    if let Some(oldest) = oldest {
                        queue.recent[oldest] = Some((relay, now));
                    }
                    true
                }
                _ => false,
            }
        };
        if queued {
            self.arm(0);
        }
    }

    /// Sends the queued relays: each notice on every relay interface but the one it came
    /// in on, under its router's address (hop limit 255, as if the CE were on that link).
    pub(super) fn send_relays(&self) {
        let pending = core::mem::take(&mut self.relays.lock().pending);
        let net = self.net.get();
        for relay in pending.iter().flatten() {
            for ifindex in self.relay.iter().map(|i| i.load(Ordering::Relaxed)) {
                if ifindex == 0 || ifindex == relay.iif {
                    continue;
                }
                let message = relay.octets();
                let sent = if relay.ipv6 {
                    inet::relay_icmp6(net, relay.src, ALL_NODES, ifindex, message)
                } else {
                    // An IPv4 source was stored as a number below 2^32.
                    inet::send_icmp4_broadcast(net, ifindex, relay.src as u32, message)
                };
                match sent {
                    Ok(()) if relay.ipv6 => {
                        self.relayed6.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(()) => {
                        self.relayed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if net_ratelimit() {
                            pr_warn!(
                                "could not relay a notice on interface {}: {:?}\n",
                                ifindex,
                                e
                            );
                        }
                    }
                }
            }
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A router inside the site relays the notices it accepts onto its other links, for the
//! hosts behind it that the CE's broadcast does not reach (IPv4).

#![forbid(unsafe_code)]

use super::*;

/// A notice to relay: who sent it, where it arrived, its octets.
#[derive(Clone, Copy)]
pub(super) struct PendingRelay {
    src: u32,
    iif: i32,
    message: [u8; NOTICE_MAX],
    len: usize,
}

/// Relays waiting for the work item, and the notices relayed in the last
/// [`RELAY_QUIET_MS`]: two routers relaying between the same two links would otherwise
/// hand a notice back and forth.
pub(super) struct RelayQueue {
    pending: [Option<PendingRelay>; 4],
    recent: [(u32, [u8; NOTICE_MAX], u64); 4],
}

impl Default for RelayQueue {
    fn default() -> Self {
        Self {
            pending: [None; 4],
            recent: [(0, [0; NOTICE_MAX], 0); 4],
        }
    }
}

/// How long the same notice from the same router is not relayed again.
pub(super) const RELAY_QUIET_MS: u64 = 1000;

impl LinkFail {
    /// Queues an accepted notice from `src` (arrived on `iif`) for relaying, if this router
    /// relays and has not relayed the same one lately. The work item sends it: sending
    /// needs process context.
    pub(super) fn queue_relay(&self, src: u32, iif: i32, message: [u8; NOTICE_MAX], len: usize) {
        if self.relay.iter().all(|i| i.load(Ordering::Relaxed) == 0) {
            return;
        }
        let now = now_ms();
        let queued = {
            let mut queue = self.relays.lock();
            let seen = queue.recent.iter().any(|&(s, m, at)| {
                s == src && m == message && at != 0 && now.saturating_sub(at) < RELAY_QUIET_MS
            });
            let free = queue.pending.iter().position(|p| p.is_none());
            match (seen, free) {
                (false, Some(slot)) => {
                    queue.pending[slot] = Some(PendingRelay {
                        src,
                        iif,
                        message,
                        len,
                    });
                    // Remember it in place of the oldest.
                    if let Some(oldest) = (0..queue.recent.len()).min_by_key(|&i| queue.recent[i].2)
                    {
                        queue.recent[oldest] = (src, message, now.max(1));
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
    /// in on, under its router's address.
    pub(super) fn send_relays(&self) {
        let pending = core::mem::take(&mut self.relays.lock().pending);
        for relay in pending.iter().flatten() {
            for ifindex in self.relay.iter().map(|i| i.load(Ordering::Relaxed)) {
                if ifindex == 0 || ifindex == relay.iif {
                    continue;
                }
                let message = relay.message.get(..relay.len).unwrap_or(&[]);
                match inet::send_icmp4_broadcast(self.net.get(), ifindex, relay.src, message) {
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

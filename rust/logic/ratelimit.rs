// SPDX-License-Identifier: GPL-2.0

//! Per-peer rate limits for the link-failure messages (ICMP type 41), beyond the draft: a
//! peer that floods us, or that we would flood, is held to `rate` messages a second after
//! a burst of `burst`, while other peers keep theirs.
//!
//! A token bucket per peer, in a fixed table of `N` buckets (no allocation on the packet
//! path). A peer not in the table takes a free bucket, or the one used least recently; a
//! source that cycles through more addresses than the table holds therefore escapes the
//! per-peer limit, which is why the callers also bound their total work (the receive queue
//! of the exchange, the retries of a request).

/// Tokens are counted in thousandths, so that a rate of a few messages a second refills
/// exactly at millisecond resolution.
const MILLI: u64 = 1000;

#[derive(Clone, Copy)]
struct Bucket<A> {
    peer: A,
    /// Thousandths of a message that may still be sent now.
    tokens: u64,
    /// When `tokens` was last brought up to date.
    at_ms: u64,
}

/// Token buckets for up to `N` peers.
pub(crate) struct PeerLimiter<A: Copy + Eq, const N: usize> {
    buckets: [Option<Bucket<A>>; N],
    rate_per_s: u64,
    burst: u64,
}

impl<A: Copy + Eq, const N: usize> PeerLimiter<A, N> {
    /// `rate_per_s` messages a second per peer, after a burst of `burst` (at least 1).
    pub(crate) const fn new(rate_per_s: u32, burst: u32) -> Self {
        let burst = if burst == 0 { 1 } else { burst };
        Self {
            buckets: [None; N],
            rate_per_s: rate_per_s as u64,
            burst: burst as u64,
        }
    }

    /// Whether one more message to or from `peer` is within its limit at `now_ms` (taken
    /// from its bucket if so). `now_ms` never goes back; if it seems to, nothing refills.
    pub(crate) fn allow(&mut self, peer: A, now_ms: u64) -> bool {
        let full = self.burst * MILLI;
        let slot = match self
            .buckets
            .iter()
            .position(|b| b.is_some_and(|b| b.peer == peer))
        {
            Some(i) => i,
            None => {
                let i = self.vacant_or_least_recent();
                self.buckets[i] = Some(Bucket {
                    peer,
                    tokens: full,
                    at_ms: now_ms,
                });
                i
            }
        };
        let Some(bucket) = self.buckets[slot].as_mut() else {
            return false;
        };
        let elapsed = now_ms.saturating_sub(bucket.at_ms);
        bucket.tokens = bucket
            .tokens
            .saturating_add(elapsed.saturating_mul(self.rate_per_s))
            .min(full);
        bucket.at_ms = bucket.at_ms.max(now_ms);
        if bucket.tokens >= MILLI {
            bucket.tokens -= MILLI;
            true
        } else {
            false
        }
    }

    fn vacant_or_least_recent(&self) -> usize {
        let mut best = 0;
        let mut best_at = u64::MAX;
        for (i, bucket) in self.buckets.iter().enumerate() {
            match bucket {
                None => return i,
                Some(b) if b.at_ms < best_at => {
                    best = i;
                    best_at = b.at_ms;
                }
                Some(_) => {}
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let mut limiter = PeerLimiter::<u32, 4>::new(10, 5);
        let allowed = (0..20).filter(|_| limiter.allow(1, 1000)).count();
        assert_eq!(allowed, 5);
        // 10 a second: one more every 100 ms, never more than the burst.
        assert!(!limiter.allow(1, 1099));
        assert!(limiter.allow(1, 1100));
        assert!(!limiter.allow(1, 1100));
        let allowed = (0..20).filter(|_| limiter.allow(1, 100_000)).count();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn peers_do_not_share_a_bucket() {
        let mut limiter = PeerLimiter::<u32, 4>::new(1, 2);
        assert!(limiter.allow(1, 0) && limiter.allow(1, 0) && !limiter.allow(1, 0));
        assert!(limiter.allow(2, 0) && limiter.allow(2, 0) && !limiter.allow(2, 0));
    }

    #[test]
    fn a_full_table_gives_up_the_least_recently_used_bucket() {
        let mut limiter = PeerLimiter::<u32, 2>::new(1, 1);
        assert!(limiter.allow(1, 0));
        assert!(limiter.allow(2, 5));
        assert!(!limiter.allow(2, 6));
        // Peer 3 takes peer 1's bucket (the older); peer 2 is still limited.
        assert!(limiter.allow(3, 7));
        assert!(!limiter.allow(2, 8));
    }

    #[test]
    fn time_going_back_refills_nothing() {
        let mut limiter = PeerLimiter::<u32, 1>::new(1000, 1);
        assert!(limiter.allow(1, 1000));
        assert!(!limiter.allow(1, 10));
        assert!(!limiter.allow(1, 1000));
        assert!(limiter.allow(1, 1001));
    }

    /// No peer ever gets more than `burst + rate * t` messages in `t`, whatever the mix of
    /// peers (as many as the table holds) and timing.
    #[test]
    fn no_peer_exceeds_burst_plus_rate_over_any_run() {
        let mut next = crate::logic::xorshift(0x2545_f491_4f6c_dd1d);
        for (rate, burst) in [(1u32, 1u32), (10, 5), (100, 50), (1000, 3)] {
            let mut limiter = PeerLimiter::<u8, 8>::new(rate, burst);
            let mut allowed = [0u64; 8];
            let mut now = 0u64;
            for _ in 0..20_000 {
                now += next() % 7;
                let peer = (next() % 8) as u8;
                if limiter.allow(peer, now) {
                    allowed[usize::from(peer)] += 1;
                }
            }
            for count in allowed {
                assert!(
                    count <= u64::from(burst) + u64::from(rate) * now / 1000,
                    "rate {rate} burst {burst}: {count} in {now} ms"
                );
            }
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! IPv6 domains learned from router advertisements (`net.ipv6.sitemh_auto=1`): the packet
//! hook keeps the RAs the stack takes, the ticker learns from them in process context
//! (publishing a table sleeps) and drops learned domains as their lifetimes lapse.

#![forbid(unsafe_code)]

use core::sync::atomic::{
    AtomicBool,
    AtomicU64, //
};

use super::*;
use crate::{
    family::V6,
    ffi::{
        events, inet,
        netfilter::Packet,
        work::{
            now_ms,
            Tick, //
        },
    },
    logic::{
        ipv6,
        linkfail::icmpv6_checksum,
        router_adv::{
            parse_router_advert,
            LearnedDomain,
            RouterAdvert,
            ND_ROUTER_ADVERT, //
        },
    },
};

/// IPPROTO_ICMPV6.
const ICMPV6: u8 = 58;
/// The longest RA read: 16 prefix options and some others.
const ADVERT_MAX: usize = 768;
/// RAs waiting for the ticker: more in one tick's time are dropped (and counted).
const QUEUED: usize = 4;

/// RAs heard: (router, interface, what it says).
#[derive(Default)]
pub(crate) struct AdvertQueue {
    queued: [Option<(u128, i32, RouterAdvert)>; QUEUED],
}

/// Whether learning is on, for the packet hook (the configuration's `auto` under its lock).
pub(crate) type AutoFlag = AtomicBool;

/// Counters of learning (`/proc/net/sitemh`, line `ra6`).
#[derive(Default)]
pub(crate) struct RaCounts {
    /// RAs taken (well-formed, from a link-local router, hop limit 255, on an interface
    /// that accepts RAs).
    heard: AtomicU64,
    /// Prefixes that found no room: the 16-domain table was full.
    no_room: AtomicU64,
    /// RAs dropped because too many waited.
    dropped: AtomicU64,
}

impl FamilyState<V6> {
    /// LOCAL_IN: keeps a router advertisement the stack will take for the ticker. Never
    /// drops it: the stack's neighbour discovery needs it as much.
    pub(crate) fn hear_router_advert(&self, packet: &Packet<'_>) {
        if !self.config_auto() {
            return;
        }
        let mut message = [0u8; ADVERT_MAX];
        let Some(transport) = packet.ipv6_transport(ICMPV6, &mut message) else {
            return;
        };
        if transport.proto != ICMPV6
            || transport.len < 16
            || transport.len > ADVERT_MAX
            || message[0] != ND_ROUTER_ADVERT
            // RFC 4861 6.1.2: hop limit 255 (from the link itself) and a link-local source.
            || transport.ttl != 255
        {
            return;
        }
        let (src, dst) = packet.ipv6_addrs();
        let message = &message[..transport.len];
        if !ipv6::is_link_local(src)
            || icmpv6_checksum(src, dst, message) != 0
            || !inet::ipv6_accepts_ra(packet.net(), transport.iif)
        {
            return;
        }
        let Some(advert) = parse_router_advert(message) else {
            return;
        };
        let queued = {
            let mut queue = self.adverts.lock();
            match queue.queued.iter_mut().find(|slot| slot.is_none()) {
                Some(slot) => {
                    *slot = Some((src, transport.iif, advert));
                    true
                }
                None => false,
            }
        };
        if queued {
            self.ra_counts.heard.fetch_add(1, Ordering::Relaxed);
            self.ticker.arm(0);
        } else {
            self.ra_counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn config_auto(&self) -> bool {
        self.auto.load(Ordering::Relaxed)
    }

    /// The `learned6` lines of `/proc/net/sitemh`: one per learned domain, then `ra6`.
    pub(crate) fn show_learned(&self, m: &SeqFile) {
        let auto = self.config_auto();
        let learned = *self.learned.lock();
        let now = now_ms();
        for learned in learned.iter() {
            let mut text = [0u8; 96];
            let mut out = FixedBuf::new(&mut text);
            let _ = write!(
                out,
                "{}/{} {}",
                ipv6::Canonical(learned.prefix.addr()),
                learned.prefix.prefix_len(),
                ipv6::Canonical(learned.router)
            );
            let _ = netdev::with_ifname(self.net.get(), learned.ifindex, |name| {
                let name = name.and_then(|n| core::str::from_utf8(n).ok());
                write!(out, "%{}", name.unwrap_or("?"))
            });
            seq_print!(
                m,
                "learned6 {} expires_s {}\n",
                core::str::from_utf8(out.as_bytes()).unwrap_or("?"),
                learned.expires_ms.saturating_sub(now) / 1000
            );
        }
        seq_print!(
            m,
            "ra6 auto {} learned {} heard {} no_room {} dropped {}\n",
            u8::from(auto),
            learned.len(),
            self.ra_counts.heard.load(Ordering::Relaxed),
            self.ra_counts.no_room.load(Ordering::Relaxed),
            self.ra_counts.dropped.load(Ordering::Relaxed)
        );
    }
}

/// Announces a learned domain's arrival or departure.
fn announce(net: &Net, kind: events::Kind, d: &LearnedDomain) {
    events::Event::new::<u128>(kind)
        .addr(events::Addr::Prefix, d.prefix.addr())
        .prefix_len(d.prefix.prefix_len())
        .addr(events::Addr::Router, d.router)
        .ifindex(d.ifindex)
        .announce(net);
}

impl<F: Family> FamilyState<F> {
    /// `sitemh_auto`: learning on (the LOCAL_IN hook then reads RAs) or off (the learned
    /// domains go).
    pub(super) fn set_auto(&self, on: bool) -> Result {
        if on {
            self.hooks.want(crate::hook_user::RA_V6, true)?;
        }
        self.update(|config| {
            config.auto = on;
            if !on {
                // Published by `update` right after, without them.
                self.learned
                    .lock()
                    .clear(|d| announce(self.net.get(), events::Kind::DomainExpired, d));
            }
            Ok(())
        })?;
        self.auto.store(on, Ordering::Relaxed);
        if !on {
            self.hooks.want(crate::hook_user::RA_V6, false)?;
        }
        Ok(())
    }

    /// Starts the ticker (the state is in its final place).
    pub(crate) fn start(self: &Arc<Self>) -> Result {
        self.ticker.start(self)
    }

    /// Stops learning: the namespace goes.
    pub(crate) fn stop(&self) {
        self.ticker.stop();
        *self.adverts.lock() = AdvertQueue::default();
    }
}

impl<F: Family> Tick for FamilyState<F> {
    /// Learns from the RAs heard, one at a time (each is some hundred octets), and drops
    /// the learned domains that lapsed; publishes a table only if the domains changed, and
    /// comes back when the next one lapses.
    fn tick(&self) {
        let now = now_ms();
        let config = self.config.lock();
        let room = MAX_DOMAINS - config.count.min(MAX_DOMAINS);
        let mut changed = false;
        let next_expiry = {
            let mut learned = self.learned.lock();
            while let Some((router, ifindex, advert)) = self.next_advert() {
                if !config.auto {
                    continue;
                }
                let done = learned.learn(&advert, router, ifindex, now, room, |added, d| {
                    changed = true;
                    let kind = if added {
                        events::Kind::DomainLearned
                    } else {
                        events::Kind::DomainExpired
                    };
                    announce(self.net.get(), kind, d);
                });
                self.count_no_room::<F>(done.no_room);
            }
            let lapsed = learned.expire(now, |d| {
                announce(self.net.get(), events::Kind::DomainExpired, d)
            });
            changed |= lapsed > 0;
            learned.next_expiry()
        };
        // Refreshed lifetimes need no new table: only this ticker reads them. If the
        // table cannot be published now, the next tick (soon) tries again.
        let published = !changed || self.publish(&config).is_ok();
        drop(config);
        match (published, next_expiry) {
            (false, _) => self.ticker.arm(1000),
            (true, Some(at)) => self
                .ticker
                .arm(at.saturating_sub(now).min(u64::from(u32::MAX)) as u32),
            (true, None) => {}
        }
        if changed {
            self.hooks.notify();
        }
    }
}

impl<F: Family> FamilyState<F> {
    /// The oldest RA waiting, taken off the queue.
    fn next_advert(&self) -> Option<(u128, i32, RouterAdvert)> {
        let mut queue = self.adverts.lock();
        let first = queue.queued.iter().position(Option::is_some)?;
        queue.queued[first].take()
    }

    /// Counts (and logs) prefixes that found no room.
    fn count_no_room<G: Family>(&self, no_room: usize) {
        if no_room == 0 {
            return;
        }
        self.ra_counts
            .no_room
            .fetch_add(no_room as u64, Ordering::Relaxed);
        if crate::ffi::net::net_ratelimit() {
            pr_info!(
                "{}: {} advertised prefixes find no room among the 16 domains\n",
                G::NAME,
                no_room
            );
        }
    }
}

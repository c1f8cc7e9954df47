// SPDX-License-Identifier: GPL-2.0

//! Link-failure notices (draft 2.1.2), the CE router's side and the receiving host's side.
//!
//! A CE router is configured per namespace under `net.ipv4.sitemh_ce.`: `uplink` (the
//! CE-PE interface), `pe_addr` (the PE's IPv4 and/or IPv6 address, reported in the
//! notice) and `lan` (the
//! interfaces to broadcast on, space-separated). When the uplink goes down or loses its
//! carrier the CE broadcasts ICMP type 41 code 1 (`ICMP_LINKFAILURE_CE_PE_LINK`) with the PE
//! address in the gateway field on every LAN interface; when it works again, code 5 (sitemh's
//! `ICMP_LINKFAILURE_LINK_RESTORED`: the draft is silent on recovery).
//!
//! Peer CE routers watch each other (`peers`, up to 4 addresses; `keepalive_ms`, default
//! 100, 0: off; `keepalive_misses`, default 3): each sends its peers a keepalive (type 41
//! code 6, sitemh's addition, unicast with TTL 255) every interval; a peer not heard for
//! `keepalive_misses` intervals is announced failed on the LAN (code 2, its address in the
//! gateway field), and announced again with code 5 when it is heard again. Broadcasts come
//! from the LAN interface's primary address: hosts must know the CE by that address (it is
//! their `def_router`).
//!
//! With `pe_probe_ms` (default 0: off) the CE also echo-probes its PE; `keepalive_misses`
//! unanswered probes in a row on an uplink that is up count as a failed uplink (code 1),
//! for failures that leave the link up (a dead PE, a cut further along); an answer after
//! that as its recovery (code 5).
//!
//! Every announcement (codes 1, 2 and 5) carries sitemh's state extension
//! (`logic/announce.rs`: the CE's random boot number, a sequence number per state change,
//! a lifetime) and goes more than once: repeated `repeats` times (default 3) after
//! `repeat_ms` (default 200), twice that, four times that..., and a failure is announced
//! again every `refresh_ms` (default 10000, 0: never) while it lasts, with a lifetime of
//! three refreshes. A host keeps the last notice of each CE about each gateway: a copy only
//! refreshes it, an older one is ignored (`stale`), and a failure nobody refreshed within
//! its lifetime lapses, so one lost datagram neither stops a failover nor keeps a provider
//! ranked last for good.
//!
//! A CE whose LAN interfaces have IPv6 addresses also multicasts each notice but keepalives
//! to all nodes (`ff02::1`) as ICMPv6 (type `icmp6_type`, hop limit 255), once from each
//! of those addresses (hosts may know it by its link-local or a global address); the
//! gateway field then holds 16 octets, the IPv4-mapped PE or peer address. IPv6 hosts
//! match such a notice against their IPv6 domains' default routers in the same way (a copy
//! from a link-local address that is none of them is only counted as `ignored`). A
//! failed peer CE (code 2) is named by the IPv6 address `peers6` gives it (the peers'
//! addresses that IPv6 hosts know them by, in the order of `peers`); without one, IPv6
//! hosts cannot tell which of their domains it served. A peer is one slot of `peers` and
//! `peers6`: it is watched by keepalives in each family it has an address in (IPv6 ones
//! unicast from each of this CE's addresses towards it), so an IPv6-only site's CEs watch
//! each other by `peers6` alone; an IPv6-only PE is probed over IPv6. Relays relay both
//! families (IPv6: copies from a global address only).
//!
//! Every host and router listens. A notice counts only if it arrived with TTL 255 (so it
//! was sent on the link, like neighbour discovery) from the default router of one of the
//! host's IPv4 domains; then the domains of the router the notice names (code 2, and code 5
//! naming a router) or else of the sender are marked down (code 1, 2) or up again (code 5),
//! which address selection uses (its pairs rank last). Anything else is refused and
//! counted. Notices are not authenticated, so they change nothing else: moving live
//! connections takes the authenticated exchange.

#![deny(unsafe_code)]

mod ce;
mod host;
mod relay;
mod sysctl;

pub(crate) use host::HostFamily;
use host::HostSide;
use relay::RelayQueue;
pub(crate) use sysctl::CeKnob;

use core::{
    fmt::Write,
    sync::atomic::{
        AtomicBool,
        AtomicI32,
        AtomicU32,
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    new_mutex, new_spinlock_irq,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{Arc, Mutex, SpinLockIrq},
};

use crate::{
    domains::{
        FamilyState, //
    },
    family::{
        Family,
        V4,
        V6, //
    },
    ffi::{
        inet,
        net::{
            current_is_net_admin,
            net_ratelimit,
            Net,
            NetRef, //
        },
        netdev::{
            self,
            DeviceBatch, //
        },
        netfilter::{
            Packet,
            Transport,
            Verdict, //
        },
        sysctl::{
            NetSysctlText,
            TextKnob, //
        },
        work::{
            now_ms,
            random_u32,
            real_ns,
            LongWork,
            OwnedLongWork,
            OwnedTicker,
            Tick, //
        },
    },
    hook_user::{
        self,
        Hooks, //
    },
    logic::{
        announce::{
            is_fresh,
            parse_announced,
            parse_announced6,
            seal_verifies,
            write_announced,
            write_announced6,
            Announced,
            Announcement,
            HeardNotices,
            Order,
            Seal,
            Solicitations,
            Tail,
            Timing,
            KEY_LEN,
            NOTICE6_MAX,
            NOTICE_MAX, //
        },
        binding_update::parse_key,
        domain::MAX_DOMAINS,
        ipv4, ipv6,
        kdf::wipe,
        linkfail::{
            icmpv6_checksum,
            ipv4_mapped,
            write_notice,
            write_notice6,
            Notice,
            Notice6,
            CODE_ALT_ROUTE_ESTABLISHED,
            CODE_CE_FAILURE,
            CODE_CE_PE_LINK,
            CODE_KEEPALIVE,
            CODE_LINK_RESTORED,
            CODE_ROUTE_LIST,
            CODE_ROUTE_LIST_ACK,
            CODE_SET_ALT_ROUTE,
            CODE_SOLICIT,
            NOTICE6_LEN,
            NOTICE_LEN, //
        },
        prefix::WireAddr,
        text::{
            parse_decimal,
            FixedBuf, //
        },
    },
    select::EchoProbes,
};

/// Octets read of a type 41 message: the longest IPv4 exchange message (a route list) and
/// one more (to see it is too long).
const EXCHANGE_MAX: usize = crate::logic::linkfail::Layout::<u32>::MAX + 1;
/// Octets read of an ICMPv6 message of ours: the longest IPv6 exchange message and one more.
const EXCHANGE6_MAX: usize = crate::logic::linkfail::Layout::<u128>::MAX + 1;
/// All nodes on the link, `ff02::1`.
const ALL_NODES: u128 = 0xff02_u128 << 112 | 1;
/// Most LAN interfaces a CE broadcasts on.
const MAX_LAN: usize = 4;
/// Most peer CE routers a CE watches.
const MAX_PEERS: usize = 4;
/// A CE's announcements in progress: one for its PE, one per peer.
const ANNOUNCEMENTS: usize = 1 + MAX_PEERS;
/// The notices a host remembers per family (a CE and a gateway each).
const HEARD: usize = 16;
/// A host asks its routers for their state at most this often (ms).
const SOLICIT_INTERVAL_MS: u64 = 1000;
/// How long a host waits after a change before it asks (ms): a configuration script's
/// writes come in a burst.
const SOLICIT_DELAY_MS: u32 = 100;

/// The CE role's configuration.
#[derive(Clone, Copy, Default)]
pub(crate) struct CeConfig {
    /// The CE-PE interface; 0: not a CE.
    uplink: i32,
    /// The PE's IPv4 address (0: none).
    pe: u32,
    /// The PE's IPv6 address (0: none): probed when it has no IPv4 one, and named in IPv6
    /// notices.
    pe6: u128,
    /// The LAN interfaces.
    lan: [i32; MAX_LAN],
}

impl CeConfig {
    /// Whether a PE address is configured (of either family).
    fn has_pe(&self) -> bool {
        self.pe != 0 || self.pe6 != 0
    }
}

/// What a CE's announcement is about: [`PE_SLOT`] its PE, `1 + i` its peer `i` (the
/// index into `announcing`). A peer is one slot whatever addresses name it: `peers[i]`
/// in IPv4, `peers6[i]` in IPv6.
type Slot = usize;
/// The PE's slot.
const PE_SLOT: Slot = 0;

/// An IPv6 address the packet path reads without a lock: its high and low halves. Written
/// only under the configuration's mutex, so readers holding it see whole addresses; a
/// packet-path read racing with a write may see a half of each.
#[derive(Default)]
struct AtomicAddr6 {
    high: AtomicU64,
    low: AtomicU64,
}

impl AtomicAddr6 {
    fn load(&self) -> u128 {
        (u128::from(self.high.load(Ordering::Relaxed)) << 64)
            | u128::from(self.low.load(Ordering::Relaxed))
    }

    fn store(&self, addr: u128) {
        // The halves of the address: the casts keep 64 bits each, as meant.
        self.high.store((addr >> 64) as u64, Ordering::Relaxed);
        self.low.store(addr as u64, Ordering::Relaxed);
    }
}

/// Link-failure state of one namespace.
#[pin_data]
pub(crate) struct LinkFail {
    /// Sends keepalives; stopped first, so no run sees the rest half gone.
    ticker: OwnedTicker<LinkFail>,
    /// Probes the PE: an echo probe waits for its answer, up to half of `pe_probe_ms`
    /// (30 s), so it runs on the module's workqueue for long work, not on the ticker's.
    probe_work: OwnedLongWork<LinkFail>,
    /// How long the queued probe of the PE waits for its answer (ms).
    probe_wait_ms: AtomicU32,
    /// Selection's echo probes in this namespace (rights, rate limit, cache).
    #[pin]
    probes: EchoProbes,
    /// Device events received, batches handled (the work item's runs) and route-cache
    /// flushes done for them: shown, so that a test sees flushes are not per event.
    netdev_events: AtomicU64,
    netdev_batches: AtomicU64,
    route_flushes: AtomicU64,
    /// Since when a device that cached routes may hold is known to have gone down or
    /// away without a flush since (ms; 0: none is).
    flush_pending_ms: AtomicU64,
    /// When the last batch with such a device came (ms).
    last_lost_ms: AtomicU64,
    /// When the route caches were last flushed for device events (ms).
    last_flush_ms: AtomicU64,
    #[pin]
    config: Mutex<CeConfig>,
    /// The peer CE routers (0: none); read by the packet path, hence atomics.
    peers: [AtomicU32; MAX_PEERS],
    /// The peers' IPv6 addresses as hosts know them (their IPv6 `def_router`), in the
    /// order of `peers` (0: none): IPv6 notices about a peer name it so. Held once, as
    /// atomics, because the packet path reads them too (a torn read there only decides
    /// whether a notice counts as ignored or refused).
    peers6: [AtomicAddr6; MAX_PEERS],
    /// When each peer was last heard (ms).
    heard_ms: [AtomicU64; MAX_PEERS],
    /// Peers declared failed, bit per peer.
    peer_down: AtomicU32,
    /// Peers heard again after they were declared failed: a recovery to announce.
    peer_back: AtomicU32,
    /// Keepalive interval (0: none) and misses before a peer is declared failed.
    keepalive_ms: AtomicU32,
    keepalive_misses: AtomicU32,
    /// Echo-probe interval of the PE (0: off): finds failures that leave the link up.
    pe_probe_ms: AtomicU32,
    /// Probes of the PE unanswered in a row.
    pe_missed: AtomicU32,
    /// The PE stopped answering probes (announced as a failed uplink).
    pe_silent: AtomicBool,
    /// When the next probe is due (ms).
    next_probe_ms: AtomicU64,
    /// Whether the uplink was usable at the last event (starts usable).
    uplink_usable: AtomicBool,
    /// When this CE last saw its uplink fail (wall clock, ns; 0: never), so that a
    /// measurement can start where the site learns of the failure.
    uplink_failed_ns: AtomicU64,
    /// This run's random number, in the CE's announcements: hosts order notices within
    /// one run of a CE's module by their sequence numbers.
    boot: u32,
    /// The last sequence number a state change was announced with.
    seq: AtomicU32,
    /// When the copies of an announcement go (see [`Timing`]).
    repeat_ms: AtomicU32,
    repeats: AtomicU32,
    refresh_ms: AtomicU32,
    /// The site key (`key`): with one, this CE seals its notices and keepalives, and this
    /// host accepts only sealed ones that verify.
    #[pin]
    site_key: SpinLockIrq<Option<[u8; KEY_LEN]>>,
    next_solicit_ms: AtomicU64,
    answered: AtomicU64,
    answered6: AtomicU64,
    /// The CE role: solicitations to answer (from the work item), within their limits.
    #[pin]
    solicits: SpinLockIrq<Solicitations<u32>>,
    #[pin]
    solicits6: SpinLockIrq<Solicitations<u128>>,
    /// The announcements of this CE, the last one of each gateway (the PE's, then one per
    /// peer), whose copies may still be due: also what a solicitation is answered with.
    #[pin]
    announcing: SpinLockIrq<[Option<Announcement<Slot>>; ANNOUNCEMENTS]>,
    /// Copies of announcements sent after the first (repetitions and refreshes; `sent`
    /// counts the first), per interface as `sent`.
    resent: AtomicU64,
    resent6: AtomicU64,
    /// IPv6 notices multicast, accepted and refused.
    sent6: AtomicU64,
    /// Notices broadcast.
    sent: AtomicU64,
    /// The host role, per family: notices heard, domains marked down, routers to ask.
    #[pin]
    host4: HostSide<u32>,
    #[pin]
    host6: HostSide<u128>,
    /// A router inside the site relays the notices it accepts onto these interfaces (0:
    /// none), for the hosts behind it that the CE's broadcast does not reach.
    relay: [AtomicI32; MAX_LAN],
    /// Accepted notices waiting for the work item to relay them, and what was relayed
    /// lately.
    #[pin]
    relays: SpinLockIrq<RelayQueue>,
    /// Notices relayed (one per interface sent on), IPv4 and IPv6.
    relayed: AtomicU64,
    relayed6: AtomicU64,
    /// The namespace's packet hooks: a CE with peers or a LAN needs LOCAL_IN for the
    /// keepalives and the hosts' solicitations even without domains.
    hooks: Hooks,
    net: NetRef,
}

/// The bit of [`LazyHooks`] users that stands for a CE watching peers or serving a LAN.
const HOOKS_BIT: u32 = hook_user::CE_ROLE;

impl LinkFail {
    /// The state of `net`.
    pub(crate) fn new(net: &Net, hooks: Hooks) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                ticker: OwnedTicker::new(),
                probe_work: OwnedLongWork::new(),
                probe_wait_ms: AtomicU32::new(0),
                probes <- EchoProbes::new(),
                netdev_events: AtomicU64::new(0),
                netdev_batches: AtomicU64::new(0),
                route_flushes: AtomicU64::new(0),
                flush_pending_ms: AtomicU64::new(0),
                last_lost_ms: AtomicU64::new(0),
                last_flush_ms: AtomicU64::new(0),
                config <- new_mutex!(CeConfig::default()),
                peers: Default::default(),
                peers6: Default::default(),
                heard_ms: Default::default(),
                peer_down: AtomicU32::new(0),
                peer_back: AtomicU32::new(0),
                keepalive_ms: AtomicU32::new(100),
                keepalive_misses: AtomicU32::new(3),
                pe_probe_ms: AtomicU32::new(0),
                pe_missed: AtomicU32::new(0),
                pe_silent: AtomicBool::new(false),
                next_probe_ms: AtomicU64::new(0),
                uplink_usable: AtomicBool::new(true),
                uplink_failed_ns: AtomicU64::new(0),
                boot: random_u32(),
                seq: AtomicU32::new(0),
                repeat_ms: AtomicU32::new(200),
                repeats: AtomicU32::new(3),
                refresh_ms: AtomicU32::new(10_000),
                site_key <- new_spinlock_irq!(None),
                next_solicit_ms: AtomicU64::new(0),
                answered: AtomicU64::new(0),
                answered6: AtomicU64::new(0),
                solicits <- new_spinlock_irq!(Solicitations::new()),
                solicits6 <- new_spinlock_irq!(Solicitations::new()),
                announcing <- new_spinlock_irq!([None; ANNOUNCEMENTS]),
                resent: AtomicU64::new(0),
                resent6: AtomicU64::new(0),
                sent6: AtomicU64::new(0),
                sent: AtomicU64::new(0),
                relay: Default::default(),
                host4 <- HostSide::new(),
                host6 <- HostSide::new(),
                relays <- new_spinlock_irq!(RelayQueue::default()),
                relayed: AtomicU64::new(0),
                relayed6: AtomicU64::new(0),
                hooks,
                net: NetRef::new(net),
            }),
            GFP_KERNEL,
        )
    }

    /// Starts the keepalive work item and the PE's prober.
    pub(crate) fn start(self: &Arc<Self>) -> Result {
        self.ticker.start(self)?;
        self.probe_work.start(self)
    }

    /// Stops the keepalives and the probes of the PE.
    pub(crate) fn stop(&self) {
        self.ticker.stop();
        self.probe_work.stop();
    }

    /// Selection's echo probes in this namespace.
    pub(crate) fn probes(&self) -> &EchoProbes {
        &self.probes
    }

    fn arm(&self, ms: u32) {
        self.ticker.arm(ms);
    }

    /// The site key, if one is set (a copy: the caller wipes it).
    fn site_key(&self) -> Option<[u8; KEY_LEN]> {
        *self.site_key.lock()
    }

    /// Whether a notice (or keepalive) `message` from `src` may be acted on under the site
    /// key: without one, any; with one, only sealed, verifying and fresh ones. Refuses
    /// (and counts) the others.
    fn authentic(
        &self,
        message: &[u8],
        src: &[u8],
        tail: &Tail,
    ) -> core::result::Result<(), &'static str> {
        let Some(mut key) = self.site_key() else {
            return Ok(());
        };
        let verdict = match tail.sealed_at_ms {
            None => Err("not sealed, and the site key is set"),
            Some(_) if !seal_verifies(message, src, &key) => Err("its tag does not verify"),
            Some(at) if !is_fresh(at, real_ns() / 1_000_000) => {
                Err("sealed more than 30 s from this host's clock (played late?)")
            }
            Some(_) => Ok(()),
        };
        wipe(&mut key);
        verdict
    }

    /// The device events of the namespace since the last call, off RTNL (see
    /// [`netdev::NetdevNotifier`]): the CE role watches its uplink, and the route caches of
    /// `v4` and `v6` let go of devices that went down or away. Returns when to be called
    /// again (ms) for a flush held back, 0 if none is.
    pub(crate) fn devices_changed(
        &self,
        batch: &DeviceBatch<'_>,
        v4: &FamilyState<V4>,
        v6: &FamilyState<V6>,
    ) -> u32 {
        self.netdev_events
            .fetch_add(u64::from(batch.events), Ordering::Relaxed);
        self.netdev_batches.fetch_add(1, Ordering::Relaxed);
        self.uplink_events(batch);
        // An interface came up (or may have): what happened while it was down is news.
        if batch.overflowed || batch.changes.iter().any(|c| c.usable) {
            self.solicit_routers(v4, v6);
        }
        // A cached route holds its device until it is dropped: republish the tables (an
        // RCU grace period each) when a device went down or away, and only if a table has
        // route caches at all. Once the events have been quiet for FLUSH_QUIET_MS (or
        // have kept coming for FLUSH_INTERVAL_MS), and at most once per FLUSH_INTERVAL_MS:
        // a burst of events (a namespace with many devices going away) costs one flush,
        // devices churning in a loop one per interval, never one per event. The routes
        // themselves are revalidated on every use, so waiting only postpones when a
        // device's last reference goes.
        let now = now_ms().max(1);
        if batch.any_lost() && (has_route_caches(v4) || has_route_caches(v6)) {
            self.last_lost_ms.store(now, Ordering::Relaxed);
            if self.flush_pending_ms.load(Ordering::Relaxed) == 0 {
                self.flush_pending_ms.store(now, Ordering::Relaxed);
            }
        }
        let pending_since = self.flush_pending_ms.load(Ordering::Relaxed);
        if pending_since == 0 {
            return 0;
        }
        let due = flush_due(
            pending_since,
            self.last_lost_ms.load(Ordering::Relaxed),
            self.last_flush_ms.load(Ordering::Relaxed),
        );
        if now < due {
            return u32::try_from(due - now).unwrap_or(u32::MAX).max(1);
        }
        self.flush_pending_ms.store(0, Ordering::Relaxed);
        self.last_flush_ms.store(now, Ordering::Relaxed);
        self.route_flushes.fetch_add(1, Ordering::Relaxed);
        if has_route_caches(v4) {
            v4.flush_routes();
        }
        if has_route_caches(v6) {
            v6.flush_routes();
        }
        0
    }

    /// The `/proc/net/sitemh` line.
    pub(crate) fn show(&self, m: &SeqFile) {
        seq_print!(
            m,
            "linkfail sent {} received {} refused {} ignored {} relayed {} uplink_failed_ns {} \
             resent {} solicited {} answered {} repeated {} stale {} down {:#x}\n",
            self.sent.load(Ordering::Relaxed),
            self.host4.received.load(Ordering::Relaxed),
            self.host4.refused.load(Ordering::Relaxed),
            self.host4.ignored.load(Ordering::Relaxed),
            self.relayed.load(Ordering::Relaxed),
            self.uplink_failed_ns.load(Ordering::Relaxed),
            self.resent.load(Ordering::Relaxed),
            self.host4.solicited.load(Ordering::Relaxed),
            self.answered.load(Ordering::Relaxed),
            self.host4.repeated.load(Ordering::Relaxed),
            self.host4.stale.load(Ordering::Relaxed),
            self.down_mask()
        );
        seq_print!(
            m,
            "linkfail6 sent {} received {} refused {} ignored {} resent {} solicited {} \
             answered {} repeated {} stale {} relayed {} down {:#x}\n",
            self.sent6.load(Ordering::Relaxed),
            self.host6.received.load(Ordering::Relaxed),
            self.host6.refused.load(Ordering::Relaxed),
            self.host6.ignored.load(Ordering::Relaxed),
            self.resent6.load(Ordering::Relaxed),
            self.host6.solicited.load(Ordering::Relaxed),
            self.answered6.load(Ordering::Relaxed),
            self.host6.repeated.load(Ordering::Relaxed),
            self.host6.stale.load(Ordering::Relaxed),
            self.relayed6.load(Ordering::Relaxed),
            self.down6_mask()
        );
        seq_print!(
            m,
            "netdev events {} batches {} flushes {}\n",
            self.netdev_events.load(Ordering::Relaxed),
            self.netdev_batches.load(Ordering::Relaxed),
            self.route_flushes.load(Ordering::Relaxed)
        );
        self.probes.show(m);
    }
}

impl Tick for LinkFail {
    /// The CE role's keepalives: one to every peer per interval; a peer not heard for
    /// `keepalive_misses` intervals is announced failed (code 2, its address in the
    /// gateway field), and announced again (code 5) when it is heard again. Then, when
    /// due, the probe of the PE (after the keepalives, and waiting less than their
    /// interval, so a silent PE never makes this CE look dead to its peers).
    fn tick(&self) {
        self.send_relays();
        let config = *self.config.lock();
        self.send_due_copies(&config, now_ms());
        self.send_solicitations(now_ms());
        self.answer_solicitations(&config);
        let probe_ms = self.pe_probe_ms.load(Ordering::Relaxed);
        let probing = probe_ms > 0 && config.uplink != 0 && config.has_pe();
        let interval = self.keepalive_ms.load(Ordering::Relaxed);
        let misses = u64::from(self.keepalive_misses.load(Ordering::Relaxed));
        let now = now_ms();
        let mut any = false;
        for i in 0..MAX_PEERS {
            // A peer is watched over IPv4, IPv6 or both; hearing it over either will do.
            let peer = self.peers[i].load(Ordering::Relaxed);
            let peer6 = self.peers6[i].load();
            if (peer == 0 && peer6 == 0) || interval == 0 {
                continue;
            }
            any = true;
            if peer != 0 {
                self.send_keepalive(peer);
            }
            if peer6 != 0 {
                self.send_keepalive6(&config, peer6);
            }
            let bit = 1 << i;
            let heard = self.heard_ms[i].load(Ordering::Relaxed);
            let silent = now.saturating_sub(heard);
            if self.peer_back.fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
                self.broadcast(&config, CODE_LINK_RESTORED, i + 1);
            } else if heard != 0
                && silent > misses * u64::from(interval)
                && self.peer_down.fetch_or(bit, Ordering::Relaxed) & bit == 0
            {
                self.broadcast(&config, CODE_CE_FAILURE, i + 1);
            }
        }
        if probing && now >= self.next_probe_ms.load(Ordering::Relaxed) {
            self.next_probe_ms
                .store(now + u64::from(probe_ms), Ordering::Relaxed);
            let wait = if any {
                probe_ms.min(interval)
            } else {
                probe_ms
            };
            self.probe_wait_ms
                .store((wait / 2).max(1), Ordering::Relaxed);
            self.probe_work.queue();
        }
        match (any, probing) {
            (true, true) => self.arm(interval.min(probe_ms)),
            (true, false) => self.arm(interval),
            (false, true) => self.arm(probe_ms),
            (false, false) => {}
        }
    }
}

impl LongWork for LinkFail {
    /// One probe of the PE, queued by the ticker when due (see [`LinkFail::probe_pe`]).
    fn long_work(&self) {
        let config = *self.config.lock();
        if self.pe_probe_ms.load(Ordering::Relaxed) == 0 || config.uplink == 0 || !config.has_pe() {
            return;
        }
        self.probe_pe(&config, self.probe_wait_ms.load(Ordering::Relaxed).max(1));
    }
}

/// Milliseconds from `now` to `at` (0 if past), as the work item is armed.
fn ms_until(at: u64, now: u64) -> u32 {
    at.saturating_sub(now).min(u64::from(u32::MAX)) as u32
}

/// Shortest time between two flushes of the route caches for device events, and longest
/// a flush waits for the events to quiet down (ms).
const FLUSH_INTERVAL_MS: u64 = 1000;
/// How long device events must have been quiet before a flush (ms).
const FLUSH_QUIET_MS: u64 = 50;

/// When a flush pending since `pending_since` is due, the last device having gone down or
/// away at `last_lost` and the last flush done at `last_flush` (all ms).
fn flush_due(pending_since: u64, last_lost: u64, last_flush: u64) -> u64 {
    let settled = last_lost
        .saturating_add(FLUSH_QUIET_MS)
        .min(pending_since.saturating_add(FLUSH_INTERVAL_MS));
    settled.max(last_flush.saturating_add(FLUSH_INTERVAL_MS))
}

/// Whether the table in force of `state` has a route cache (a domain with a router).
fn has_route_caches<F: Family>(state: &FamilyState<F>) -> bool {
    let guard = kernel::sync::rcu::read_lock();
    state.snapshot(&guard).caches.iter().any(Option::is_some)
}

// SPDX-License-Identifier: GPL-2.0

//! Link-failure notices (draft 2.1.2), the CE router's side and the receiving host's side.
//!
//! A CE router is configured per namespace under `net.ipv4.sitemh_ce.`: `uplink` (the
//! CE-PE interface), `pe_addr` (the PE's address, reported in the notice) and `lan` (the
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
//! hosts cannot tell which of their domains it served. Relays are IPv4 only.
//!
//! Every host and router listens. A notice counts only if it arrived with TTL 255 (so it
//! was sent on the link, like neighbour discovery) from the default router of one of the
//! host's IPv4 domains; then the domains of the router the notice names (code 2, and code 5
//! naming a router) or else of the sender are marked down (code 1, 2) or up again (code 5),
//! which address selection uses (its pairs rank last). Anything else is refused and
//! counted. Notices are not authenticated, so they change nothing else: moving live
//! connections takes the authenticated exchange.

#![deny(unsafe_code)]

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

/// IPPROTO_ICMP.
const IPPROTO_ICMP: u8 = 1;
/// Octets read of a type 41 message: an IPv4 exchange message and one more (to see it is
/// too long).
const EXCHANGE_MAX: usize = crate::logic::linkfail::Layout::<u32>::LEN + 1;
/// IPPROTO_ICMPV6.
const IPPROTO_ICMPV6: u8 = 58;
/// Octets read of an ICMPv6 message of ours: an IPv6 exchange message and one more.
const EXCHANGE6_MAX: usize = crate::logic::linkfail::Layout::<u128>::LEN + 1;
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
struct CeConfig {
    /// The CE-PE interface; 0: not a CE.
    uplink: i32,
    /// The PE's address.
    pe: u32,
    /// The LAN interfaces.
    lan: [i32; MAX_LAN],
    /// The peers' IPv6 addresses as hosts know them (their IPv6 `def_router`), in the
    /// order of `peers` (0: none): IPv6 notices about a peer name it so.
    peers6: [u128; MAX_PEERS],
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
    /// The host role: the routers to ask for their state at the next run (0: none), and
    /// when it may ask next (ms).
    #[pin]
    to_solicit: SpinLockIrq<[u32; MAX_DOMAINS]>,
    /// The same for IPv6: routers and the interfaces that scope them.
    #[pin]
    to_solicit6: SpinLockIrq<[(u128, i32); MAX_DOMAINS]>,
    next_solicit_ms: AtomicU64,
    /// Solicitations sent (host) and notices sent in answer (CE).
    solicited: AtomicU64,
    answered: AtomicU64,
    solicited6: AtomicU64,
    answered6: AtomicU64,
    /// The CE role: solicitations to answer (from the work item), within their limits.
    #[pin]
    solicits: SpinLockIrq<Solicitations<u32>>,
    #[pin]
    solicits6: SpinLockIrq<Solicitations<u128>>,
    /// The announcements of this CE, the last one of each gateway (the PE's, then one per
    /// peer), whose copies may still be due: also what a solicitation is answered with.
    #[pin]
    announcing: SpinLockIrq<[Option<Announcement<u32>>; ANNOUNCEMENTS]>,
    /// IPv4 domains marked down by a notice, bit per domain number, as of the last look
    /// at `heard` (the packet path and selection read this).
    down: AtomicU32,
    /// When the next mark in `heard` lapses (ms; `u64::MAX`: none will): `down` is stale
    /// from then on.
    lapse_ms: AtomicU64,
    /// The IPv4 notices heard, which make `down`.
    #[pin]
    heard: SpinLockIrq<HeardNotices<u32, HEARD>>,
    /// The same for IPv6.
    down6: AtomicU32,
    lapse6_ms: AtomicU64,
    #[pin]
    heard6: SpinLockIrq<HeardNotices<u128, HEARD>>,
    /// Notices older than one heard before from the same CE about the same gateway (a
    /// late copy): ignored, IPv4 and IPv6.
    stale: AtomicU64,
    stale6: AtomicU64,
    /// Copies of known notices heard (`received` counts the first), IPv4 and IPv6.
    repeated: AtomicU64,
    repeated6: AtomicU64,
    /// Copies of announcements sent after the first (repetitions and refreshes; `sent`
    /// counts the first), per interface as `sent`.
    resent: AtomicU64,
    resent6: AtomicU64,
    /// IPv6 notices multicast, accepted and refused.
    sent6: AtomicU64,
    received6: AtomicU64,
    refused6: AtomicU64,
    /// IPv6 notices from a link-local address that is no router of ours: the copy a CE
    /// sends under the address its hosts do not know it by.
    ignored6: AtomicU64,
    /// Notices broadcast.
    sent: AtomicU64,
    /// Notices accepted.
    received: AtomicU64,
    /// Notices refused (malformed, wrong TTL, not from a default router).
    refused: AtomicU64,
    /// A router inside the site relays the notices it accepts onto these interfaces (0:
    /// none), for the hosts behind it that the CE's broadcast does not reach.
    relay: [AtomicI32; MAX_LAN],
    /// Accepted notices waiting for the work item to relay them, and what was relayed
    /// lately.
    #[pin]
    relays: SpinLockIrq<RelayQueue>,
    /// Notices relayed (one per interface sent on).
    relayed: AtomicU64,
    /// The namespace's packet hooks: a CE with peers or a LAN needs LOCAL_IN for the
    /// keepalives and the hosts' solicitations even without domains.
    hooks: Hooks,
    net: NetRef,
}

/// The bit of [`LazyHooks`] users that stands for a CE watching peers or serving a LAN.
const HOOKS_BIT: u32 = hook_user::CE_ROLE;

/// A notice to relay: who sent it, where it arrived, its octets.
#[derive(Clone, Copy)]
struct PendingRelay {
    src: u32,
    iif: i32,
    message: [u8; NOTICE_MAX],
    len: usize,
}

/// Relays waiting for the work item, and the notices relayed in the last
/// [`RELAY_QUIET_MS`]: two routers relaying between the same two links would otherwise
/// hand a notice back and forth.
struct RelayQueue {
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
const RELAY_QUIET_MS: u64 = 1000;

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
                to_solicit <- new_spinlock_irq!([0; MAX_DOMAINS]),
                to_solicit6 <- new_spinlock_irq!([(0, 0); MAX_DOMAINS]),
                next_solicit_ms: AtomicU64::new(0),
                solicited: AtomicU64::new(0),
                answered: AtomicU64::new(0),
                solicited6: AtomicU64::new(0),
                answered6: AtomicU64::new(0),
                solicits <- new_spinlock_irq!(Solicitations::new()),
                solicits6 <- new_spinlock_irq!(Solicitations::new()),
                announcing <- new_spinlock_irq!([None; ANNOUNCEMENTS]),
                down: AtomicU32::new(0),
                lapse_ms: AtomicU64::new(u64::MAX),
                heard <- new_spinlock_irq!(HeardNotices::new()),
                down6: AtomicU32::new(0),
                lapse6_ms: AtomicU64::new(u64::MAX),
                heard6 <- new_spinlock_irq!(HeardNotices::new()),
                stale: AtomicU64::new(0),
                stale6: AtomicU64::new(0),
                repeated: AtomicU64::new(0),
                repeated6: AtomicU64::new(0),
                resent: AtomicU64::new(0),
                resent6: AtomicU64::new(0),
                sent6: AtomicU64::new(0),
                received6: AtomicU64::new(0),
                refused6: AtomicU64::new(0),
                ignored6: AtomicU64::new(0),
                sent: AtomicU64::new(0),
                received: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                relay: Default::default(),
                relays <- new_spinlock_irq!(RelayQueue::default()),
                relayed: AtomicU64::new(0),
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

    /// IPv4 domains that notices marked down, bit per domain number.
    pub(crate) fn down_mask(&self) -> u32 {
        current_marks(&self.down, &self.lapse_ms, &self.heard, "IPv4")
    }

    /// IPv6 domains that notices marked down, bit per domain number.
    pub(crate) fn down6_mask(&self) -> u32 {
        current_marks(&self.down6, &self.lapse6_ms, &self.heard6, "IPv6")
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

    /// The host role: asks the default routers of the IPv4 `domains` for the state of their
    /// links, from the work item and at most once a second, so that a host configured (or
    /// whose interface came up) during an outage learns of it at once rather than at the
    /// next refresh. Their answers are notices like any other.
    pub(crate) fn solicit_routers(&self, v4: &FamilyState<V4>, v6: &FamilyState<V6>) {
        let mut routers = [0u32; MAX_DOMAINS];
        let mut routers6 = [(0u128, 0i32); MAX_DOMAINS];
        {
            let guard = kernel::sync::rcu::read_lock();
            let table = &v4.snapshot(&guard).table;
            let addrs = table.domains().filter_map(|d| d.router).map(|r| r.addr);
            for (slot, addr) in routers.iter_mut().zip(addrs) {
                *slot = addr;
            }
            let table6 = &v6.snapshot(&guard).table;
            let addrs6 = table6
                .domains()
                .filter_map(|d| d.router)
                .map(|r| (r.addr, r.ifindex));
            for (slot, addr) in routers6.iter_mut().zip(addrs6) {
                *slot = addr;
            }
        }
        if routers.iter().all(|&r| r == 0) && routers6.iter().all(|&(r, _)| r == 0) {
            return;
        }
        *self.to_solicit.lock() = routers;
        *self.to_solicit6.lock() = routers6;
        self.arm(SOLICIT_DELAY_MS);
    }

    /// Sends the solicitations asked for, when the last ones are a second old.
    fn send_solicitations(&self, now: u64) {
        let next = self.next_solicit_ms.load(Ordering::Relaxed);
        let asked = |v4: &[u32], v6: &[(u128, i32)]| {
            v4.iter().any(|&r| r != 0) || v6.iter().any(|&(r, _)| r != 0)
        };
        if now < next {
            if asked(&*self.to_solicit.lock(), &*self.to_solicit6.lock()) {
                self.arm(ms_until(next, now));
            }
            return;
        }
        let routers = core::mem::replace(&mut *self.to_solicit.lock(), [0; MAX_DOMAINS]);
        let routers6 = core::mem::replace(&mut *self.to_solicit6.lock(), [(0, 0); MAX_DOMAINS]);
        if !asked(&routers, &routers6) {
            return;
        }
        self.next_solicit_ms
            .store(now + SOLICIT_INTERVAL_MS, Ordering::Relaxed);
        let mut message = [0u8; NOTICE_LEN];
        let solicit = Notice {
            code: CODE_SOLICIT,
            gateway: 0,
        };
        write_notice(crate::params::icmp_type(), &solicit, &mut message);
        for (i, &router) in routers.iter().enumerate() {
            if router == 0 || routers[..i].contains(&router) {
                continue;
            }
            if inet::send_icmp4(self.net.get(), 0, router, 255, &message).is_ok() {
                self.solicited.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut message6 = [0u8; NOTICE6_LEN];
        let solicit6 = Notice6 {
            code: CODE_SOLICIT,
            gateway: 0,
        };
        write_notice6(crate::params::icmp6_type(), &solicit6, &mut message6);
        for (i, &(router, ifindex)) in routers6.iter().enumerate() {
            if router == 0 || routers6[..i].contains(&(router, ifindex)) {
                continue;
            }
            let sent = inet::send_icmp6(self.net.get(), None, router, ifindex, 255, &message6);
            if sent.is_ok() {
                self.solicited6.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The CE role: a solicitation from host `src` to our address `dst`, arrived on `iif`
    /// (TTL 255): queued for the work item, within the host's limit and the queue's room.
    fn solicited_by(&self, src: u32, dst: u32, iif: i32) -> Verdict {
        if self.solicits.lock().push(src, dst, iif, now_ms()) {
            self.arm(0);
        }
        Verdict::Drop(EINVAL)
    }

    /// The same for an IPv6 solicitation.
    fn solicited_by6(&self, src: u128, dst: u128, iif: i32) -> Verdict {
        if self.solicits6.lock().push(src, dst, iif, now_ms()) {
            self.arm(0);
        }
        Verdict::Drop(EINVAL)
    }

    /// What a solicitation is answered with: the PE's last announced state (its uplink
    /// works if nothing was announced since this CE started) and each peer's, as
    /// (code, gateway, announcement).
    fn current_states(&self, config: &CeConfig) -> [Option<(u8, u32, Announced)>; ANNOUNCEMENTS] {
        let announcing = *self.announcing.lock();
        let lifetime_s = self.timing().lifetime_s();
        let mut states = [None; ANNOUNCEMENTS];
        for (slot, (state, out)) in announcing.iter().zip(states.iter_mut()).enumerate() {
            let (code, gateway, seq) = match state {
                Some(a) => (a.code, a.gateway, a.seq),
                None if slot == 0 => (CODE_LINK_RESTORED, config.pe, 0),
                None => continue,
            };
            let announced = Announced {
                copy: u8::MAX,
                lifetime_s: if code == CODE_LINK_RESTORED {
                    0
                } else {
                    lifetime_s
                },
                boot: self.boot,
                seq,
            };
            *out = Some((code, gateway, announced));
        }
        states
    }

    /// Answers the queued solicitations (IPv4 and IPv6) that came from a LAN interface of
    /// this CE: a unicast notice (TTL 255, sealed under the site key if there is one) of
    /// each of [`LinkFail::current_states`], from the address the host asked.
    fn answer_solicitations(&self, config: &CeConfig) {
        let pending = self.solicits.lock().take();
        let pending6 = self.solicits6.lock().take();
        let from_lan = |iif: i32| iif != 0 && config.lan.contains(&iif);
        if config.uplink == 0 {
            return;
        }
        let states = self.current_states(config);
        let mut key = self.site_key();
        let net = self.net.get();
        let time_ms = real_ns() / 1_000_000;
        for &(host, ours, _) in pending.iter().flatten().filter(|p| from_lan(p.2)) {
            let ours_octets = ours.to_be_bytes();
            for &(code, gateway, announced) in states.iter().flatten() {
                let seal = key.as_ref().map(|key| Seal {
                    key,
                    src: &ours_octets,
                    time_ms,
                });
                let mut message = [0u8; NOTICE_MAX];
                let notice = Notice { code, gateway };
                let len = write_announced(
                    crate::params::icmp_type(),
                    &notice,
                    &announced,
                    seal.as_ref(),
                    &mut message,
                );
                if inet::send_icmp4(net, ours, host, 255, &message[..len]).is_ok() {
                    self.answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        for &(host, ours, iif) in pending6.iter().flatten().filter(|p| from_lan(p.2)) {
            let ours_octets = ours.to_be_bytes();
            for &(code, gateway, announced) in states.iter().flatten() {
                let seal = key.as_ref().map(|key| Seal {
                    key,
                    src: &ours_octets,
                    time_ms,
                });
                let mut message = [0u8; NOTICE6_MAX];
                let notice = Notice6 {
                    code,
                    gateway: self.gateway6(config, gateway),
                };
                let len = write_announced6(
                    crate::params::icmp6_type(),
                    &notice,
                    &announced,
                    seal.as_ref(),
                    &mut message,
                );
                if inet::send_icmp6(net, Some(ours), host, iif, 255, &message[..len]).is_ok() {
                    self.answered6.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if let Some(key) = key.as_mut() {
            wipe(key);
        }
    }

    /// How IPv6 notices name `gateway`: a peer by the IPv6 address `peers6` gives it,
    /// anything else by its IPv4-mapped address.
    fn gateway6(&self, config: &CeConfig, gateway: u32) -> u128 {
        self.peers
            .iter()
            .position(|p| gateway != 0 && p.load(Ordering::Relaxed) == gateway)
            .and_then(|i| config.peers6.get(i).copied())
            .filter(|&addr| addr != 0)
            .unwrap_or_else(|| ipv4_mapped(gateway))
    }

    /// A keepalive to `peer` (unicast, TTL 255), sealed under the site key if there is one
    /// (then from the primary address of the interface towards the peer, which the seal
    /// names). A peer that cannot be reached is what the misses detect: errors are ignored.
    fn send_keepalive(&self, peer: u32) {
        let keepalive = Notice {
            code: CODE_KEEPALIVE,
            gateway: peer,
        };
        let Some(mut key) = self.site_key() else {
            let mut message = [0u8; NOTICE_LEN];
            write_notice(crate::params::icmp_type(), &keepalive, &mut message);
            let _ = inet::send_icmp4(self.net.get(), 0, peer, 255, &message);
            return;
        };
        let mut octets = [0u8; 16];
        octets[..4].copy_from_slice(&peer.to_be_bytes());
        let src = inet::route_oif(self.net.get(), kernel::bindings::AF_INET as i32, &octets, 0)
            .map_or(0, |oif| self.primary_addr4(oif));
        let src_octets = src.to_be_bytes();
        let seal = Seal {
            key: &key,
            src: &src_octets,
            time_ms: real_ns() / 1_000_000,
        };
        let announced = Announced {
            copy: 0,
            lifetime_s: 0,
            boot: self.boot,
            seq: 0,
        };
        let mut message = [0u8; NOTICE_MAX];
        let len = write_announced(
            crate::params::icmp_type(),
            &keepalive,
            &announced,
            Some(&seal),
            &mut message,
        );
        wipe(&mut key);
        let _ = inet::send_icmp4(self.net.get(), src, peer, 255, &message[..len]);
    }

    /// The primary IPv4 address of interface `ifindex` (0: none): where this CE's
    /// broadcasts on it come from, and what their seal names.
    fn primary_addr4(&self, ifindex: i32) -> u32 {
        inet::local_addrs(self.net.get(), kernel::bindings::AF_INET as i32)
            .ok()
            .and_then(|addrs| {
                addrs
                    .iter()
                    .find(|(_, i)| *i == ifindex)
                    .map(|(octets, _)| {
                        u32::from_be_bytes([octets[0], octets[1], octets[2], octets[3]])
                    })
            })
            .unwrap_or(0)
    }

    /// When the copies of an announcement go, as configured now.
    fn timing(&self) -> Timing {
        Timing {
            repeat_ms: self.repeat_ms.load(Ordering::Relaxed),
            repeats: self.repeats.load(Ordering::Relaxed),
            refresh_ms: self.refresh_ms.load(Ordering::Relaxed),
        }
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

    /// The CE role: what the batch says of the uplink. A failure is announced even if
    /// the uplink works again by now (then followed by its recovery).
    fn uplink_events(&self, batch: &DeviceBatch<'_>) {
        let config = *self.config.lock();
        if config.uplink == 0 {
            return;
        }
        let (lost, usable) = match batch.get(config.uplink) {
            Some(change) => (change.lost, change.usable),
            // Too many devices changed to list them all: look at the uplink itself.
            None if batch.overflowed => {
                let usable = netdev::usable(self.net.get(), config.uplink);
                (!usable, usable)
            }
            None => return,
        };
        if lost {
            self.uplink_now(&config, false);
        }
        if usable {
            self.uplink_now(&config, true);
        }
    }

    /// Broadcasts a notice when the uplink's usability flips to `usable`.
    fn uplink_now(&self, config: &CeConfig, usable: bool) {
        if self.uplink_usable.swap(usable, Ordering::Relaxed) == usable {
            return;
        }
        let code = if usable {
            // Up again but the PE still silent: not restored yet (probing will say).
            if self.pe_silent.load(Ordering::Relaxed) {
                return;
            }
            CODE_LINK_RESTORED
        } else {
            self.uplink_failed_ns.store(real_ns(), Ordering::Relaxed);
            CODE_CE_PE_LINK
        };
        self.broadcast(config, code, config.pe);
    }

    /// One echo probe of the PE (sleeps up to `wait_ms`). `keepalive_misses` unanswered
    /// probes in a row on a link that is up count as the uplink failing (code 1); an
    /// answer after that, as its recovery (code 5).
    fn probe_pe(&self, config: &CeConfig, wait_ms: u32) {
        let mut pe = [0u8; 16];
        pe[..4].copy_from_slice(&config.pe.to_be_bytes());
        let mut rtt = [0u32; 1];
        let probed = inet::probe_rtts(
            self.net.get(),
            kernel::bindings::AF_INET as i32,
            &[[0u8; 16]],
            &[pe],
            wait_ms,
            &mut rtt,
        );
        let usable = self.uplink_usable.load(Ordering::Relaxed);
        if probed.is_ok() && rtt[0] > 0 {
            self.pe_missed.store(0, Ordering::Relaxed);
            if self.pe_silent.swap(false, Ordering::Relaxed) && usable {
                self.broadcast(config, CODE_LINK_RESTORED, config.pe);
            }
            return;
        }
        let missed = self.pe_missed.fetch_add(1, Ordering::Relaxed) + 1;
        if missed >= self.keepalive_misses.load(Ordering::Relaxed)
            && !self.pe_silent.swap(true, Ordering::Relaxed)
            && usable
        {
            self.uplink_failed_ns.store(real_ns(), Ordering::Relaxed);
            self.broadcast(config, CODE_CE_PE_LINK, config.pe);
        }
    }

    /// Announces a state change of `gateway` (the PE, or a peer CE): the first copy now,
    /// the repetitions and refreshes from the work item (see [`Timing`]). A newer state of
    /// the same gateway replaces the copies of the older one still to go.
    fn broadcast(&self, config: &CeConfig, code: u8, gateway: u32) {
        let now = now_ms();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut announcement = Announcement::new(code, gateway, seq, now);
        let copy = announcement.take_copy(&self.timing(), self.boot, now);
        let slot = if gateway == config.pe {
            Some(0)
        } else {
            self.peers
                .iter()
                .position(|p| gateway != 0 && p.load(Ordering::Relaxed) == gateway)
                .map(|i| i + 1)
        };
        if let Some(slot) = slot {
            if let Some(place) = self.announcing.lock().get_mut(slot) {
                *place = Some(announcement);
            }
        }
        if let Some(next) = announcement.next_ms {
            self.arm(ms_until(next, now));
        }
        self.send_notice(config, code, gateway, &copy);
        if net_ratelimit() {
            let what = if code == CODE_LINK_RESTORED {
                "works"
            } else {
                "failed"
            };
            let whose = if gateway == config.pe {
                "uplink to PE"
            } else {
                "peer CE"
            };
            pr_info!(
                "CE: {} {} {}: broadcast ICMP {} code {} (sequence {})\n",
                whose,
                ipv4::dotted(gateway, &mut [0; 16]),
                what,
                crate::params::icmp_type(),
                code,
                seq
            );
        }
    }

    /// Sends the copies of announcements that are due at `now`, and arms the work item
    /// for the next.
    fn send_due_copies(&self, config: &CeConfig, now: u64) {
        let timing = self.timing();
        let mut due = [None; ANNOUNCEMENTS];
        let mut next: Option<u64> = None;
        {
            let mut announcing = self.announcing.lock();
            for (place, out) in announcing.iter_mut().zip(due.iter_mut()) {
                let Some(announcement) = place.as_mut() else {
                    continue;
                };
                if announcement.due(now) {
                    let copy = announcement.take_copy(&timing, self.boot, now);
                    *out = Some((announcement.code, announcement.gateway, copy));
                }
                // A finished one stays: it is the state a solicitation is answered with.
                if let Some(at) = announcement.next_ms {
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        for (code, gateway, copy) in due.iter().flatten() {
            self.send_notice(config, *code, *gateway, copy);
        }
        if let Some(at) = next {
            self.arm(ms_until(at, now));
        }
    }

    /// Forgets the announcements about the PE (`pe`) or the peers (`!pe`), with their
    /// copies still to go: their subject was configured anew.
    fn forget_announcements(&self, pe: bool) {
        let mut announcing = self.announcing.lock();
        for (i, place) in announcing.iter_mut().enumerate() {
            if (i == 0) == pe {
                *place = None;
            }
        }
    }

    /// One copy of an announcement: broadcast on every LAN interface, and its IPv6 form.
    fn send_notice(&self, config: &CeConfig, code: u8, gateway: u32, announced: &Announced) {
        let mut key = self.site_key();
        for &ifindex in config.lan.iter().filter(|&&i| i != 0) {
            // Sealed, the notice names its source: send it from the address the seal names.
            let src = if key.is_some() {
                self.primary_addr4(ifindex)
            } else {
                0
            };
            let src_octets = src.to_be_bytes();
            let seal = key.as_ref().map(|key| Seal {
                key,
                src: &src_octets,
                time_ms: real_ns() / 1_000_000,
            });
            let mut message = [0u8; NOTICE_MAX];
            let len = write_announced(
                crate::params::icmp_type(),
                &Notice { code, gateway },
                announced,
                seal.as_ref(),
                &mut message,
            );
            let message = &message[..len];
            match inet::send_icmp4_broadcast(self.net.get(), ifindex, src, message) {
                Ok(()) if announced.copy > 0 => {
                    self.resent.fetch_add(1, Ordering::Relaxed);
                }
                Ok(()) => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if net_ratelimit() => {
                    pr_warn!(
                        "CE: could not broadcast a link notice on ifindex {}: {:?}\n",
                        ifindex,
                        e
                    );
                }
                Err(_) => {}
            }
        }
        self.multicast6(config, code, gateway, announced, key.as_ref());
        if let Some(key) = key.as_mut() {
            wipe(key);
        }
    }

    /// The IPv6 form of a notice: to all nodes on every LAN interface, from each of its
    /// IPv6 addresses. Nothing on interfaces without one.
    fn multicast6(
        &self,
        config: &CeConfig,
        code: u8,
        gateway: u32,
        announced: &Announced,
        key: Option<&[u8; KEY_LEN]>,
    ) {
        let notice = Notice6 {
            code,
            gateway: self.gateway6(config, gateway),
        };
        let net = self.net.get();
        let Ok(addrs) = inet::local_addrs(net, kernel::bindings::AF_INET6 as i32) else {
            return;
        };
        for &ifindex in config.lan.iter().filter(|&&i| i != 0) {
            for (octets, _) in addrs.iter().filter(|(_, i)| *i == ifindex) {
                let src = u128::from_be_bytes(*octets);
                let seal = key.map(|key| Seal {
                    key,
                    src: octets,
                    time_ms: real_ns() / 1_000_000,
                });
                let mut message = [0u8; NOTICE6_MAX];
                let len = write_announced6(
                    crate::params::icmp6_type(),
                    &notice,
                    announced,
                    seal.as_ref(),
                    &mut message,
                );
                let message = &message[..len];
                match inet::send_icmp6(net, Some(src), ALL_NODES, ifindex, 255, message) {
                    Ok(()) if announced.copy > 0 => {
                        self.resent6.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(()) => {
                        self.sent6.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if net_ratelimit() => {
                        pr_warn!(
                            "CE: could not multicast a link notice from {} on ifindex {}: {:?}\n",
                            ipv6::canonical(src, &mut [0; 48]),
                            ifindex,
                            e
                        );
                    }
                    Err(_) => {}
                }
            }
        }
    }

    /// The host role: an IPv6 packet for this host, as [`LinkFail::receive`] for IPv4.
    /// Every ICMPv6 message of our type must verify its checksum (over the addresses).
    pub(crate) fn receive6(
        &self,
        domains: &FamilyState<V6>,
        packet: &Packet<'_>,
        noticed: impl FnOnce(),
        exchange: impl FnOnce(u128, &[u8]) -> Verdict,
    ) -> Verdict {
        let mut message = [0u8; EXCHANGE6_MAX];
        let Some(transport) = packet.ipv6_transport(IPPROTO_ICMPV6, &mut message) else {
            return Verdict::Accept;
        };
        if transport.proto != IPPROTO_ICMPV6
            || transport.len == 0
            || message[0] != crate::params::icmp6_type()
        {
            return Verdict::Accept;
        }
        if transport.looped {
            return Verdict::Drop(EINVAL);
        }
        let (src, dst) = packet.ipv6_addrs();
        if transport.len > message.len() {
            return self.refuse6(src, "too long");
        }
        let message = &message[..transport.len];
        if icmpv6_checksum(src, dst, message) != 0 {
            return self.refuse6(src, "bad checksum");
        }
        if matches!(message[1], CODE_SET_ALT_ROUTE | CODE_ALT_ROUTE_ESTABLISHED) {
            return exchange(src, message);
        }
        // As for IPv4: a solicitation through a router is no forgery, and not answered.
        if message[1] == CODE_SOLICIT && transport.ttl != 255 {
            return Verdict::Drop(EINVAL);
        }
        let (notice, tail) = match parse_announced6(crate::params::icmp6_type(), message, src, dst)
        {
            Ok(parsed) if transport.ttl == 255 => parsed,
            _ => return self.refuse6(src, "malformed, or not sent on the link (hop limit != 255)"),
        };
        if notice.code == CODE_SOLICIT {
            return self.solicited_by6(src, dst, transport.iif);
        }
        if let Err(why) = self.authentic(message, &src.to_be_bytes(), &tail) {
            return self.refuse6(src, why);
        }
        let announced = tail.announced;
        let marked = concerned_domains(
            packet.net(),
            domains,
            src,
            transport.iif,
            notice.code,
            notice.gateway,
        );
        let matched = match marked {
            Ok(matched) => matched,
            // A CE multicasts each notice from each of its addresses on the link, and a
            // host knows it by one: the copies from the others (a link-local address, or a
            // sitemh CE's announcement to all nodes) are the same notice, not a forgery.
            Err(Unmatched::NotARouter)
                if ipv6::is_link_local(src) || (announced.is_some() && ipv6::is_multicast(dst)) =>
            {
                self.ignored6.fetch_add(1, Ordering::Relaxed);
                return Verdict::Drop(EINVAL);
            }
            Err(Unmatched::NotARouter) => {
                return self.refuse6(src, "not from a default router of our IPv6 domains")
            }
            Err(Unmatched::OffLink) => {
                return self.refuse6(
                    src,
                    "not over the router's link (a tunnel, or another interface)",
                )
            }
        };
        let hearing = hear(
            &self.down6,
            &self.lapse6_ms,
            &self.heard6,
            (src, notice.gateway, notice.code),
            announced,
            matched,
        );
        match hearing.order {
            Order::Stale => {
                self.stale6.fetch_add(1, Ordering::Relaxed);
                return Verdict::Drop(EINVAL);
            }
            Order::Repeat => self.repeated6.fetch_add(1, Ordering::Relaxed),
            Order::New => self.received6.fetch_add(1, Ordering::Relaxed),
        };
        if hearing.before != hearing.after {
            noticed();
            if net_ratelimit() {
                pr_info!(
                    "IPv6 link notice from {}: code {}; domains down {:#x} (were {:#x})\n",
                    ipv6::canonical(src, &mut [0; 48]),
                    notice.code,
                    hearing.after,
                    hearing.before
                );
            }
        }
        Verdict::Drop(EINVAL)
    }

    fn refuse6(&self, src: u128, why: &str) -> Verdict {
        self.refused6.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "refusing an ICMPv6 {} from {}: {}\n",
                crate::params::icmp6_type(),
                ipv6::canonical(src, &mut [0; 48]),
                why
            );
        }
        Verdict::Drop(EINVAL)
    }

    /// The host role: an IPv4 packet for this host. Consumes valid and invalid notices,
    /// calling `noticed` when one changed which domains are down; hands messages of the
    /// authenticated exchange (codes 3 and 4) to `exchange` (source, message); everything
    /// else passes.
    pub(crate) fn receive(
        &self,
        domains: &FamilyState<V4>,
        packet: &Packet<'_>,
        noticed: impl FnOnce(),
        exchange: impl FnOnce(u32, &[u8]) -> Verdict,
    ) -> Verdict {
        let mut message = [0u8; EXCHANGE_MAX];
        let Some(transport) = packet.ipv4_transport(IPPROTO_ICMP, &mut message) else {
            return Verdict::Accept;
        };
        if transport.proto != IPPROTO_ICMP || message[0] != crate::params::icmp_type() {
            return Verdict::Accept;
        }
        if transport.looped {
            // Our own broadcast, looped back.
            return Verdict::Drop(EINVAL);
        }
        let (src, dst) = packet.ipv4_addrs();
        let length = transport.len.min(message.len());
        if matches!(message[1], CODE_SET_ALT_ROUTE | CODE_ALT_ROUTE_ESTABLISHED) {
            return exchange(src, &message[..length]);
        }
        // A host behind a router asking its domain's router, which is not on its link: not
        // a forgery, nothing to answer (the answer could not reach it with TTL 255).
        if message[1] == CODE_SOLICIT && transport.ttl != 255 {
            return Verdict::Drop(EINVAL);
        }
        let (notice, tail) = match parse_announced(crate::params::icmp_type(), &message[..length]) {
            Ok(parsed) if transport.ttl == 255 && transport.len == length => parsed,
            _ => return self.refuse(src, "malformed, or not sent on the link (TTL != 255)"),
        };
        // A host asking for our state: not sealed (it teaches nothing), answered sealed.
        if notice.code == CODE_SOLICIT {
            return self.solicited_by(src, dst, transport.iif);
        }
        if let Err(why) = self.authentic(&message[..length], &src.to_be_bytes(), &tail) {
            return self.refuse(src, why);
        }
        let announced = tail.announced;
        if notice.code == CODE_KEEPALIVE {
            return self.heard(src);
        }
        let marked = concerned_domains(
            packet.net(),
            domains,
            src,
            transport.iif,
            notice.code,
            notice.gateway,
        );
        let matched = match marked {
            Ok(matched) => matched,
            Err(Unmatched::NotARouter) => {
                return self.refuse(src, "not from a default router of our domains")
            }
            Err(Unmatched::OffLink) => {
                return self.refuse(
                    src,
                    "not over the router's link (a tunnel, or another interface)",
                )
            }
        };
        let hearing = hear(
            &self.down,
            &self.lapse_ms,
            &self.heard,
            (src, notice.gateway, notice.code),
            announced,
            matched,
        );
        match hearing.order {
            Order::Stale => {
                self.stale.fetch_add(1, Ordering::Relaxed);
                return Verdict::Drop(EINVAL);
            }
            Order::Repeat => self.repeated.fetch_add(1, Ordering::Relaxed),
            Order::New => self.received.fetch_add(1, Ordering::Relaxed),
        };
        if let Some(octets) = message.get(..NOTICE_MAX).and_then(|m| m.try_into().ok()) {
            self.queue_relay(src, transport.iif, octets, length);
        }
        if hearing.before != hearing.after {
            noticed();
            if net_ratelimit() {
                pr_info!(
                    "link notice from {}: code {} for {}; domains down {:#x} (were {:#x})\n",
                    ipv4::dotted(src, &mut [0; 16]),
                    notice.code,
                    ipv4::dotted(notice.gateway, &mut [0; 16]),
                    hearing.after,
                    hearing.before
                );
            }
        }
        Verdict::Drop(EINVAL)
    }

    /// Queues an accepted notice from `src` (arrived on `iif`) for relaying, if this router
    /// relays and has not relayed the same one lately. The work item sends it: sending
    /// needs process context.
    fn queue_relay(&self, src: u32, iif: i32, message: [u8; NOTICE_MAX], len: usize) {
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
    fn send_relays(&self) {
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

    /// A keepalive from `src`: only peer CEs send them.
    fn heard(&self, src: u32) -> Verdict {
        let Some(i) = self
            .peers
            .iter()
            .position(|p| src != 0 && p.load(Ordering::Relaxed) == src)
        else {
            return self.refuse(src, "a keepalive from a router that is not a peer");
        };
        self.heard_ms[i].store(now_ms(), Ordering::Relaxed);
        let bit = 1 << i;
        if self.peer_down.fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
            // Announced by the work item: broadcasting needs process context.
            self.peer_back.fetch_or(bit, Ordering::Relaxed);
            self.arm(0);
        }
        Verdict::Drop(EINVAL)
    }

    fn refuse(&self, src: u32, why: &str) -> Verdict {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "refusing an ICMP {} from {}: {}\n",
                crate::params::icmp_type(),
                ipv4::dotted(src, &mut [0; 16]),
                why
            );
        }
        Verdict::Drop(EINVAL)
    }

    /// The `/proc/net/sitemh` line.
    pub(crate) fn show(&self, m: &SeqFile) {
        seq_print!(
            m,
            "linkfail sent {} received {} refused {} relayed {} uplink_failed_ns {} resent {} \
             solicited {} answered {} repeated {} stale {} down {:#x}\n",
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.relayed.load(Ordering::Relaxed),
            self.uplink_failed_ns.load(Ordering::Relaxed),
            self.resent.load(Ordering::Relaxed),
            self.solicited.load(Ordering::Relaxed),
            self.answered.load(Ordering::Relaxed),
            self.repeated.load(Ordering::Relaxed),
            self.stale.load(Ordering::Relaxed),
            self.down_mask()
        );
        seq_print!(
            m,
            "linkfail6 sent {} received {} refused {} ignored {} resent {} solicited {} \
             answered {} repeated {} stale {} down {:#x}\n",
            self.sent6.load(Ordering::Relaxed),
            self.received6.load(Ordering::Relaxed),
            self.refused6.load(Ordering::Relaxed),
            self.ignored6.load(Ordering::Relaxed),
            self.resent6.load(Ordering::Relaxed),
            self.solicited6.load(Ordering::Relaxed),
            self.answered6.load(Ordering::Relaxed),
            self.repeated6.load(Ordering::Relaxed),
            self.stale6.load(Ordering::Relaxed),
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
        let probing = probe_ms > 0 && config.uplink != 0 && config.pe != 0;
        let interval = self.keepalive_ms.load(Ordering::Relaxed);
        let misses = u64::from(self.keepalive_misses.load(Ordering::Relaxed));
        let now = now_ms();
        let mut any = false;
        for (i, peer) in self.peers.iter().enumerate() {
            let peer = peer.load(Ordering::Relaxed);
            if peer == 0 || interval == 0 {
                continue;
            }
            any = true;
            self.send_keepalive(peer);
            let bit = 1 << i;
            let heard = self.heard_ms[i].load(Ordering::Relaxed);
            let silent = now.saturating_sub(heard);
            if self.peer_back.fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
                self.broadcast(&config, CODE_LINK_RESTORED, peer);
            } else if heard != 0
                && silent > misses * u64::from(interval)
                && self.peer_down.fetch_or(bit, Ordering::Relaxed) & bit == 0
            {
                self.broadcast(&config, CODE_CE_FAILURE, peer);
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
        if self.pe_probe_ms.load(Ordering::Relaxed) == 0 || config.uplink == 0 || config.pe == 0 {
            return;
        }
        self.probe_pe(&config, self.probe_wait_ms.load(Ordering::Relaxed).max(1));
    }
}

/// Milliseconds from `now` to `at` (0 if past), as the work item is armed.
fn ms_until(at: u64, now: u64) -> u32 {
    at.saturating_sub(now).min(u64::from(u32::MAX)) as u32
}

/// The domains down now by the notices in `heard`; `down` and `lapse_ms` cache them until
/// the next mark lapses. A lapse is logged: the CE that marked them stopped refreshing
/// its failure (a lost restoration notice, or the CE itself gone).
fn current_marks<A: Copy + Eq + Unpin>(
    down: &AtomicU32,
    lapse_ms: &AtomicU64,
    heard: &SpinLockIrq<HeardNotices<A, HEARD>>,
    family: &str,
) -> u32 {
    let now = now_ms();
    if now < lapse_ms.load(Ordering::Relaxed) {
        return down.load(Ordering::Relaxed);
    }
    let (before, after) = {
        let heard = heard.lock();
        let after = heard.down_mask(now);
        lapse_ms.store(heard.next_lapse(now).unwrap_or(u64::MAX), Ordering::Relaxed);
        (down.swap(after, Ordering::Relaxed), after)
    };
    if before & !after != 0 && net_ratelimit() {
        pr_info!(
            "{} link notice marks lapsed, not refreshed: domains {:#x} up again\n",
            family,
            before & !after
        );
    }
    after
}

/// Records a notice in `heard` and publishes the marks it leaves in `down` and
/// `lapse_ms`; returns what hearing it did.
fn hear<A: Copy + Eq + Unpin>(
    down: &AtomicU32,
    lapse_ms: &AtomicU64,
    heard: &SpinLockIrq<HeardNotices<A, HEARD>>,
    notice: (A, A, u8),
    announced: Option<Announced>,
    domains: u32,
) -> crate::logic::announce::Hearing {
    let (sender, gateway, code) = notice;
    let now = now_ms();
    let mut heard = heard.lock();
    let hearing = heard.hear(sender, gateway, code, announced, domains, now);
    down.store(hearing.after, Ordering::Relaxed);
    lapse_ms.store(heard.next_lapse(now).unwrap_or(u64::MAX), Ordering::Relaxed);
    hearing
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

/// The knobs of `net.ipv4.sitemh_ce.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CeField {
    Uplink,
    PeAddr,
    Lan,
    Peers,
    Peers6,
    KeepaliveMs,
    KeepaliveMisses,
    PeProbeMs,
    Relay,
    RepeatMs,
    Repeats,
    RefreshMs,
    Key,
}

/// One knob of the CE role.
pub(crate) struct CeKnob {
    state: Arc<LinkFail>,
    field: CeField,
}

impl CeKnob {
    /// Registers `net.ipv4.sitemh_ce.{uplink,pe_addr,lan,peers,peers6,keepalive_ms,
    /// keepalive_misses,pe_probe_ms,relay,repeat_ms,repeats,refresh_ms,key}`.
    pub(crate) fn register(net: &Net, state: &Arc<LinkFail>) -> Result<NetSysctlText<CeKnob>> {
        let mut knobs = KVec::with_capacity(13, GFP_KERNEL)?;
        for (name, field) in [
            (c"uplink", CeField::Uplink),
            (c"pe_addr", CeField::PeAddr),
            (c"lan", CeField::Lan),
            (c"peers", CeField::Peers),
            (c"peers6", CeField::Peers6),
            (c"keepalive_ms", CeField::KeepaliveMs),
            (c"keepalive_misses", CeField::KeepaliveMisses),
            (c"pe_probe_ms", CeField::PeProbeMs),
            (c"relay", CeField::Relay),
            (c"repeat_ms", CeField::RepeatMs),
            (c"repeats", CeField::Repeats),
            (c"refresh_ms", CeField::RefreshMs),
            (c"key", CeField::Key),
        ] {
            knobs.push(
                (
                    name,
                    CeKnob {
                        state: state.clone(),
                        field,
                    },
                ),
                GFP_KERNEL,
            )?;
        }
        NetSysctlText::register(net, c"net/ipv4/sitemh_ce", knobs)
    }

    fn refuse(&self, text: &[u8], why: &str) -> Error {
        if net_ratelimit() {
            pr_warn!(
                "net.ipv4.sitemh_ce: refusing {:?}: {}\n",
                core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                why
            );
        }
        EINVAL
    }
}

/// Why a notice marked nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unmatched {
    /// Its sender is the default router of none of the domains.
    NotARouter,
    /// It came from a router's address, but not over the router's link: through a
    /// tunnel this host decapsulated, or on another interface than the one the router is
    /// reached by. TTL 255 proves only that no router forwarded the packet that carried
    /// it last, which a decapsulated inner packet also shows.
    OffLink,
}

/// Whether a packet that arrived on `iif` came over the link of the router at `router`
/// (scoped to `router_ifindex`, 0: none): `iif` is the interface the route to the router
/// leaves by, and no tunnel.
fn on_routers_link<F: Family>(net: &Net, router: F::Addr, router_ifindex: i32, iif: i32) -> bool {
    if netdev::is_tunnel(net, iif) {
        return false;
    }
    let mut octets = [0u8; 16];
    router.write(&mut octets);
    inet::route_oif(net, F::AF, &octets, router_ifindex).is_ok_and(|oif| oif == iif)
}

/// The domains a notice concerns (which it marks down, codes 1 and 2, or up, code 5); an
/// error if its sender `src` is the default router of none of `domains` (a router
/// configured with an interface, an IPv6 link-local one, must have sent it on that
/// interface, `iif`), or if the notice did not come over that router's link. A notice about a router (a failed peer CE, code 2, or its recovery)
/// concerns that router's domains; one about a PE, the sender's.
fn concerned_domains<F: Family>(
    net: &Net,
    domains: &FamilyState<F>,
    src: F::Addr,
    iif: i32,
    code: u8,
    gateway: F::Addr,
) -> Result<u32, Unmatched> {
    let (mut by_sender, mut by_gateway) = (0u32, 0u32);
    let mut sender_ifindex = 0;
    {
        let guard = kernel::sync::rcu::read_lock();
        for domain in domains.snapshot(&guard).table.domains() {
            let Some(router) = domain.router else {
                continue;
            };
            if router.addr == src && (router.ifindex == 0 || router.ifindex == iif) {
                by_sender |= 1 << domain.index;
                sender_ifindex = router.ifindex;
            }
            if router.addr == gateway {
                by_gateway |= 1 << domain.index;
            }
        }
    }
    if by_sender == 0 {
        return Err(Unmatched::NotARouter);
    }
    if !on_routers_link::<F>(net, src, sender_ifindex, iif) {
        return Err(Unmatched::OffLink);
    }
    let matched = match code {
        CODE_CE_PE_LINK => by_sender,
        // A peer CE we do not use as a router: nothing of ours failed.
        CODE_CE_FAILURE => by_gateway,
        _ if by_gateway != 0 => by_gateway,
        _ => by_sender,
    };
    Ok(matched)
}

fn write_ifname(out: &mut FixedBuf<'_>, net: &Net, ifindex: i32) -> core::fmt::Result {
    netdev::with_ifname(net, ifindex, |name| {
        let name = name.and_then(|n| core::str::from_utf8(n).ok());
        out.write_str(name.unwrap_or("?"))
    })
}

/// The names of the interfaces `ifindexes` (0: none) separated by spaces.
fn write_ifnames(
    out: &mut FixedBuf<'_>,
    net: &Net,
    ifindexes: impl IntoIterator<Item = i32>,
) -> core::fmt::Result {
    for (i, ifindex) in ifindexes.into_iter().filter(|&i| i != 0).enumerate() {
        if i > 0 {
            out.write_str(" ")?;
        }
        write_ifname(out, net, ifindex)?;
    }
    Ok(())
}

impl TextKnob for CeKnob {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let config = *self.state.config.lock();
        let net = self.state.net.get();
        let written = match self.field {
            CeField::Uplink if config.uplink == 0 => Ok(()),
            CeField::Uplink => write_ifname(out, net, config.uplink),
            CeField::PeAddr => write!(out, "{}", ipv4::Dotted(config.pe)),
            CeField::Lan => write_ifnames(out, net, config.lan),
            CeField::Relay => {
                let relay = self.state.relay.iter().map(|i| i.load(Ordering::Relaxed));
                write_ifnames(out, net, relay)
            }
            CeField::Peers => {
                let mut result = Ok(());
                let peers = self.state.peers.iter().map(|p| p.load(Ordering::Relaxed));
                for (i, peer) in peers.filter(|&p| p != 0).enumerate() {
                    if i > 0 {
                        result = result.and_then(|()| out.write_str(" "));
                    }
                    result = result.and_then(|()| write!(out, "{}", ipv4::Dotted(peer)));
                }
                result
            }
            CeField::Peers6 => {
                let mut result = Ok(());
                for (i, peer) in config.peers6.iter().filter(|&&p| p != 0).enumerate() {
                    if i > 0 {
                        result = result.and_then(|()| out.write_str(" "));
                    }
                    result = result.and_then(|()| write!(out, "{}", ipv6::Canonical(*peer)));
                }
                result
            }
            CeField::KeepaliveMs => {
                write!(out, "{}", self.state.keepalive_ms.load(Ordering::Relaxed))
            }
            CeField::KeepaliveMisses => {
                write!(
                    out,
                    "{}",
                    self.state.keepalive_misses.load(Ordering::Relaxed)
                )
            }
            CeField::PeProbeMs => write!(out, "{}", self.state.pe_probe_ms.load(Ordering::Relaxed)),
            CeField::RepeatMs => write!(out, "{}", self.state.repeat_ms.load(Ordering::Relaxed)),
            CeField::Repeats => write!(out, "{}", self.state.repeats.load(Ordering::Relaxed)),
            CeField::RefreshMs => write!(out, "{}", self.state.refresh_ms.load(Ordering::Relaxed)),
            // Never the key itself.
            CeField::Key if self.state.site_key.lock().is_some() => write!(out, "set"),
            CeField::Key => Ok(()),
        };
        written.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        let net = self.state.net.get();
        if !current_is_net_admin(net) {
            return Err(EPERM);
        }
        let ifindex = |name: &[u8]| {
            netdev::ifindex_by_name(net, name).inspect_err(|_| {
                self.refuse(text, "no such interface");
            })
        };
        // `lan` and `relay`: up to MAX_LAN interface names separated by spaces.
        let interfaces = || -> Result<[i32; MAX_LAN]> {
            let mut list = [0i32; MAX_LAN];
            let names = text.split(|&c| c == b' ').filter(|n| !n.is_empty());
            for (n, name) in names.enumerate() {
                let slot = list
                    .get_mut(n)
                    .ok_or_else(|| self.refuse(text, "more than 4 interfaces"))?;
                *slot = ifindex(name)?;
            }
            Ok(list)
        };
        match self.field {
            CeField::Uplink => {
                let uplink = if text.is_empty() { 0 } else { ifindex(text)? };
                let mut config = self.state.config.lock();
                config.uplink = uplink;
                self.state.forget_announcements(true);
                // A newly named uplink starts from "usable": its next failure is news.
                self.state.uplink_usable.store(true, Ordering::Relaxed);
            }
            CeField::PeAddr => {
                let pe =
                    ipv4::parse_addr(text).map_err(|_| self.refuse(text, "not an IPv4 address"))?;
                self.state.config.lock().pe = pe;
                self.state.forget_announcements(true);
            }
            CeField::Lan => {
                let lan = interfaces()?;
                let peers = self
                    .state
                    .peers
                    .iter()
                    .any(|p| p.load(Ordering::Relaxed) != 0);
                self.state
                    .hooks
                    .want(HOOKS_BIT, peers || lan.iter().any(|&i| i != 0))?;
                self.state.config.lock().lan = lan;
            }
            CeField::Relay => {
                let relay = interfaces()?;
                let _config = self.state.config.lock();
                for (slot, ifindex) in self.state.relay.iter().zip(relay) {
                    slot.store(ifindex, Ordering::Relaxed);
                }
            }
            CeField::Peers => {
                let mut peers = [0u32; MAX_PEERS];
                let words = text.split(|&c| c == b' ').filter(|w| !w.is_empty());
                for (n, word) in words.enumerate() {
                    let slot = peers
                        .get_mut(n)
                        .ok_or_else(|| self.refuse(text, "more than 4 peers"))?;
                    *slot = ipv4::parse_addr(word)
                        .map_err(|_| self.refuse(text, "not an IPv4 address"))?;
                }
                let lan = self.state.config.lock().lan.iter().any(|&i| i != 0);
                self.state
                    .hooks
                    .want(HOOKS_BIT, lan || peers.iter().any(|&p| p != 0))?;
                // No peer is watched before it was heard once (peers start at their own
                // pace), none is failed.
                let _config = self.state.config.lock();
                for (i, peer) in peers.iter().enumerate() {
                    self.state.heard_ms[i].store(0, Ordering::Relaxed);
                    self.state.peers[i].store(*peer, Ordering::Relaxed);
                }
                self.state.peer_down.store(0, Ordering::Relaxed);
                self.state.peer_back.store(0, Ordering::Relaxed);
                self.state.forget_announcements(false);
                self.state.arm(0);
            }
            CeField::Peers6 => {
                let mut peers6 = [0u128; MAX_PEERS];
                let words = text.split(|&c| c == b' ').filter(|w| !w.is_empty());
                for (n, word) in words.enumerate() {
                    let slot = peers6
                        .get_mut(n)
                        .ok_or_else(|| self.refuse(text, "more than 4 peers"))?;
                    *slot = ipv6::parse_addr(word)
                        .map_err(|_| self.refuse(text, "not an IPv6 address"))?;
                }
                self.state.config.lock().peers6 = peers6;
            }
            CeField::KeepaliveMs | CeField::KeepaliveMisses | CeField::PeProbeMs => {
                let (value, low, high) = match self.field {
                    CeField::KeepaliveMs => (&self.state.keepalive_ms, 0, 60_000),
                    CeField::PeProbeMs => (&self.state.pe_probe_ms, 0, 60_000),
                    _ => (&self.state.keepalive_misses, 1, 100),
                };
                if self.field == CeField::PeProbeMs {
                    self.state.pe_missed.store(0, Ordering::Relaxed);
                }
                match parse_decimal(text) {
                    Some(v) if (low..=high).contains(&v) => value.store(v, Ordering::Relaxed),
                    _ => return Err(self.refuse(text, "not a number in range")),
                }
                // Probing changed: what it found no longer stands.
                if self.field == CeField::PeProbeMs
                    && self.state.pe_silent.swap(false, Ordering::Relaxed)
                    && self.state.uplink_usable.load(Ordering::Relaxed)
                {
                    let config = *self.state.config.lock();
                    self.state.broadcast(&config, CODE_LINK_RESTORED, config.pe);
                }
                self.state.arm(0);
            }
            CeField::Key => {
                let Ok(mut key) = parse_key(text) else {
                    return Err(self.refuse(b"(not shown)", "not 64 hexadecimal digits, or empty"));
                };
                let mut old = core::mem::replace(&mut *self.state.site_key.lock(), key);
                if let Some(old) = old.as_mut() {
                    wipe(old);
                }
                if let Some(key) = key.as_mut() {
                    wipe(key);
                }
            }
            CeField::RepeatMs | CeField::Repeats | CeField::RefreshMs => {
                // Repetitions from 10 ms to a minute apart, at most 10 (the last one then
                // 17 hours after the first: beyond that, refreshes serve); refreshes from a
                // second to an hour apart. 0: none. (Shorter intervals would only load the
                // LAN and this work item.)
                let (value, low, high) = match self.field {
                    CeField::RepeatMs => (&self.state.repeat_ms, 10, 60_000),
                    CeField::Repeats => (&self.state.repeats, 0, 10),
                    _ => (&self.state.refresh_ms, 1000, 3_600_000),
                };
                match parse_decimal(text) {
                    Some(v) if v == 0 || (low..=high).contains(&v) => {
                        value.store(v, Ordering::Relaxed)
                    }
                    _ => return Err(self.refuse(text, "not 0 or a number in range")),
                }
            }
        }
        Ok(())
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Moving live connections off a failed provider link (draft 2.1.2), IPv4 and IPv6.
//!
//! Applications register a connection with `SITEMH_SO_LFROUTES` (its routes) and
//! `SITEMH_SO_SEQPARAM` (its TLS session, from which both ends derive the same AES-GCM
//! keys). When a link-failure notice marks the domain of the connection's local address
//! down, this end proposes the best route that avoids it to the peer in an authenticated
//! `SET_ALT_ROUTE`, sent over that route and repeated `retries` times every `retry_ms`
//! until `ALT_ROUTE_ESTABLISHED` comes back; the peer moves when it accepts, this end when
//! the answer arrives. A moved connection keeps its socket's addresses: its packets are
//! translated to the pair in use on the way out and back on the way in. Then TCP is told
//! to retransmit at once what was lost on the dead path.
//!
//! Messages arrive in the packet path; they are queued (at most [`INBOX_MIN`] to [`INBOX_MAX`], by the connections tracked: the excess
//! is dropped and counted, which bounds the work a flood can cause; beyond a per-peer rate
//! limit they are not even queued) and handled, like
//! retransmissions and forgetting closed sockets, by one work item.
//!
//! When the link works again (a code 5 notice), connections move back to their sockets'
//! own pairs the same way, once no notice came for `failback_ms` (damping).
//!
//! A connection registered with `SITEMH_SO_SEQPARAM` alone (no `SITEMH_SO_LFROUTES`) gets
//! its routes from the module (issue 19): each end tells the other its addresses in the
//! site's domains in a sealed route list (code 10, answered by code 11 with the peer's),
//! and the routes are the two lists crossed, the socket's own pair first. The lists go
//! again when an end's addresses change (`lists.rs`).
//!
//! With `net.ipv4.sitemh_lf.auto` (`net.ipv6.sitemh_lf.auto` for IPv6) every TCP
//! connection this host opens is protected without its application's help: once it is
//! established, the two modules agree on its keys by an ephemeral X25519 exchange
//! (`agree.rs`), and the route lists follow as for a connection registered with keys.
//!
//! IPv6 connections do the same with the IPv6 messages (ICMPv6 type `icmp6_type`, an
//! informational one) over IPv6; each family has its own [`Switchover`], and the knobs
//! below apply to both.
//!
//! Per namespace, under `net.ipv4.sitemh_lf.`: `retries` (transmissions of a request,
//! default 5), `retry_ms` (interval; 0, the default: twice the connection's smoothed
//! round trip, at least 10 ms, 100 ms without a measurement, or the peer's answer time if
//! longer, backed off; see `Switchover::retry_interval`), `failback_ms` (default
//! 2000; 0: never move back), `peer_rate` / `peer_burst` (messages a second, 0: no
//! limit, and burst, per peer, each way: default 1000 and 500), and `probe_ms` (how long
//! the candidate routes are echo-probed before a proposal, default 100; 0: not probed,
//! see `candidates.rs`).

#![deny(unsafe_code)]

mod agree;
mod candidates;
mod exchange;
mod family;
mod ktls;
mod lists;
mod path;
mod sockopt;
mod sysctl;
mod table;

pub(crate) use family::SwitchFamily;
pub(crate) use sysctl::LfKnob;

use core::{
    fmt::Write,
    sync::atomic::{
        AtomicU32,
        AtomicU64,
        AtomicUsize,
        Ordering, //
    },
};

use kernel::{
    alloc::kvec::PushError,
    new_mutex, new_spinlock_irq,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        rcu,
        Arc,
        Mutex,
        SpinLockIrq, //
    },
    transmute::AsBytes,
    uaccess::UserSlice,
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
        cgroup::CgroupRef,
        crypto::Aead,
        inet,
        net::{
            current_is_net_admin,
            net_ratelimit,
            Net,
            NetRef, //
        },
        netfilter::{
            Packet,
            Verdict, //
        },
        rcu::RcuBox,
        sock::{
            addr_is_local4,
            addr_is_local6,
            SockRef,
            Tuple, //
        },
        sockopt::Socket,
        sysctl::{
            NetSysctlText,
            TextKnob, //
        },
        work::{
            cond_resched,
            now_ms,
            OwnedTicker,
            Tick, //
        },
    },
    hook_user::{
        self,
        Hooks, //
    },
    linkfail::LinkFail,
    logic::{
        chains::mix,
        kdf::{self, wipe, Keys},
        linkfail::{
            finish_checksum,
            parse_sealed,
            write_clear_len,
            AddrList,
            AltRoute,
            IdPcb,
            Layout,
            Plaintext,
            RouteList,
            Sealed,
            CODE_ALT_ROUTE_ESTABLISHED,
            CODE_ROUTE_LIST,
            CODE_ROUTE_LIST_ACK,
            CODE_SET_ALT_ROUTE,
            NONCE_LEN,
            TAG_LEN, //
        },
        ports::{
            cgroup_path_valid,
            PortRanges,
            CGROUP_PATH_MAX,
            PORT_RANGES_MAX, //
        },
        prefix::WireAddr,
        ratelimit::PeerLimiter,
        sockopt::{
            parse_lfstat,
            SeqParam, //
        },
        switchover::{
            backed_off_ms,
            port_filter_bit,
            port_index_candidates,
            port_index_insert,
            port_index_slots,
            Carried,
            Conn,
            ExchangeError,
            ExchangeRtt,
            Routes,
            LIST_FIRST_MS,
            PORT_FILTER_BITS,
            STAT_ALTER,
            STAT_DO_NOT_ALTER, //
        },
        text::{
            parse_decimal,
            FixedBuf, //
        },
    },
};

use table::{
    Growth,
    Keyed,
    Table,
    BY_PORTS,
    BY_SOCK, //
};

use crate::ffi::uapi::{
    self,
    UapiAddr,
    SO_LFROUTES,
    SO_LFSTAT,
    SO_SEQPARAM, //
};

/// Messages about one connection waiting for the work item, at most: a flood about one
/// connection (whose tuple and peers an attacker may know) leaves room for the others'.
const INBOX_PER_CONN: usize = 4;
/// Peers (sent) and connections (received) whose messages are rate-limited apart (see
/// [`PeerLimiter`]).
const LIMITED_PEERS: usize = 32;
/// Default per-peer limits of `net.ipv4.sitemh_lf.{peer_rate,peer_burst}`: far above what
/// keepalives and a few hundred connections moving at once need.
const PEER_RATE: u32 = 1000;
const PEER_BURST: u32 = 500;

/// Limits on the code 3/4 messages received, per connection they name (their source
/// address can be forged, the connection they must authenticate for cannot be chosen
/// freely), and sent, per peer (beyond the draft).
struct PeerLimits<A: Copy + Eq> {
    /// Keyed by the named connection's [`SockRef::id`].
    received: PeerLimiter<usize, LIMITED_PEERS>,
    sent: PeerLimiter<A, LIMITED_PEERS>,
    /// Messages a second (0: no limit) and burst, as configured.
    rate: u32,
    burst: u32,
}

/// Room for a sealed message (codes 3, 4, 10, 11) of either family: IPv6's full route
/// list is the longest.
const MESSAGE_MAX: usize = Layout::<u128>::MAX;
/// Room for the encrypted part of either family.
const PLAIN_MAX: usize = RouteList::<u128>::MAX_LEN;
/// How often closed sockets are forgotten while connections are tracked.
const PRUNE_MS: u32 = 1000;
/// Connections tracked per namespace and family, at most: a busy server's (issue 21). The
/// table's look-ups and changes cost the same at any size ([`table`]); an entry is about
/// 300 octets (IPv4) or 700 (IPv6), charged to the registering user's memory cgroup.
const MAX_TRACKED: usize = 131_072;
/// Connections one user may have tracked per namespace and family, unless it administers
/// the namespace's network: no user can take the whole table from the others (eight users
/// at their quota still leave room for root's). The default of
/// `net.ipv4.sitemh_lf.user_quota`, which the namespace's administrator may set to
/// 1..=[`MAX_TRACKED`].
const MAX_TRACKED_PER_USER: u32 = 16_384;
/// Slots the work item handles per hold of the table's lock (interrupts off), and between
/// which it lets others run: a notice about 100,000 connections never keeps interrupts off
/// for the whole table.
const BATCH: usize = 64;
/// Room in the exchange's inbox, at least and at most: the work item sizes the next one by
/// the connections tracked (every one may have a message in flight when a link fails).
const INBOX_MIN: usize = 64;
const INBOX_MAX: usize = 1024;
/// Requests of the exchange (this namespace's, this family's) unanswered at once, at most:
/// when a link fails under thousands of connections, the rest wait for answers to come
/// back, so that the peer's inbox ([`INBOX_MAX`] a run) never overflows with them and
/// none of them is repeated while it waits its turn there (issue 21: 10,000 connections).
const EXCHANGE_WINDOW: usize = 512;
/// The longest interval between two transmissions of a request (ms), however far the
/// backing off and the peer's answer time take it.
const RETRY_MAX_MS: u32 = 4000;

/// One direction's prepared key and nonce salt (the key is freed with
/// `kfree_sensitive`, the salt wiped).
struct Sealer {
    aead: Aead,
    salt: [u8; 4],
}

/// The keys of one connection.
struct KeySet {
    seal: Sealer,
    open: Sealer,
}

/// A connection the module tracks.
struct Tracked<A> {
    conn: Conn<A>,
    sock: SockRef,
    /// Who owns the socket (for the per-user quota, `user_quota`).
    uid: u32,
    /// Shared with the work item, which seals and opens outside the lock.
    keys: Option<Arc<KeySet>>,
    /// When the pending request is due again (ms of the monotonic clock).
    next_try_ms: u64,
    /// When the pending request was first sent, and how many times it was sent (for the
    /// peer's answer time and the backing off between copies).
    requested_ms: u64,
    transmissions: u8,
    /// The last notice's time and the domains down (a mark may lapse without a notice)
    /// when this connection last forgot its unanswered routes: when either differs,
    /// something changed, and they may be proposed again.
    changes_seen: (u64, u32),
    /// No route avoided the failed link at the last look (counted once per episode).
    stranded: bool,
    /// The application set the routes (`SITEMH_SO_LFROUTES`): the module carries none.
    routes_set: bool,
    /// The route lists the module carries (registered with keys and without routes).
    carried: Option<Carried<A>>,
    /// When the route list is due again (ms of the monotonic clock).
    list_due_ms: u64,
    /// The key agreement of a connection protected without its application (`auto`).
    agreeing: Option<agree::Agreeing>,
    /// When the key offer is due again.
    agree_due_ms: u64,
}

impl<A: WireAddr> Tracked<A> {
    /// `conn` of `sock` (owned by the socket's user), with nothing pending: no keys, no
    /// lists carried, no agreement.
    fn new(conn: Conn<A>, sock: SockRef) -> Self {
        let uid = sock.uid();
        Self {
            conn,
            sock,
            uid,
            keys: None,
            next_try_ms: 0,
            requested_ms: 0,
            transmissions: 0,
            changes_seen: (0, 0),
            stranded: false,
            routes_set: false,
            carried: None,
            list_due_ms: 0,
            agreeing: None,
            agree_due_ms: 0,
        }
    }
}

/// A message to seal and send once the lock is released: AES-GCM never runs with
/// interrupts off.
struct Outgoing<A> {
    src: A,
    dst: A,
    keys: Arc<KeySet>,
    code: u8,
    /// The connection as the message names it.
    pcb: IdPcb<A>,
    seq: u64,
    plain: Plaintext<A>,
}

impl<A> Keyed for Tracked<A> {
    fn sock_hash(&self) -> u32 {
        sock_hash(self.sock.id())
    }
    fn ports_hash(&self) -> u32 {
        ports_hash(self.conn.tuple.lport, self.conn.tuple.fport)
    }
    fn uid(&self) -> u32 {
        self.uid
    }
}

/// The hash of a socket ([`SockRef::id`]) in the table's index by socket.
fn sock_hash(id: usize) -> u32 {
    mix(id as u64)
}

/// The hash of a connection's (local, peer) ports in the table's index by ports.
fn ports_hash(lport: u16, fport: u16) -> u32 {
    mix((u64::from(lport) << 16) | u64::from(fport))
}

/// A moved connection as the packet path sees it.
struct MovedEntry<A> {
    conn: Conn<A>,
    sock: SockRef,
}

/// The connections that moved, are moving or ever moved, for the packet path (read
/// under RCU, never changed: replaced whole).
struct MovedView<A> {
    entries: KVVec<MovedEntry<A>>,
    /// Their positions by ports ([`port_index_insert`]); empty when it could not be
    /// built: the look-up then goes through every entry.
    index: KVVec<u32>,
}

/// A connection a received message may be about, and its keys, to try outside the lock.
struct Candidate {
    /// Its position in the inbox taken.
    message: usize,
    /// The connection's [`SockRef::id`].
    conn: usize,
    keys: Arc<KeySet>,
}

/// Connections tried per received message, at most: those using the pair the message
/// names come first, so overlapping registrations cannot push the right one out.
const CANDIDATES_PER_MESSAGE: usize = 4;

/// A received code 3/4 message whose clear part checked out.
#[derive(Clone, Copy)]
struct Incoming<A> {
    src: A,
    /// The [`SockRef::id`] of the connection it names, when it was queued.
    conn: usize,
    len: usize,
    message: [u8; MESSAGE_MAX],
}

/// A message sent as it is (a key offer or answer: nothing to seal).
struct RawOutgoing<A> {
    src: A,
    dst: A,
    len: usize,
    message: [u8; agree::AGREE_MAX],
}

/// What one run of the work item does after releasing the lock.
struct Chores<A> {
    send: KVVec<Outgoing<A>>,
    raw: KVVec<RawOutgoing<A>>,
    kick: KVVec<SockRef>,
    forget: KVVec<Tracked<A>>,
}

/// Counters shown in `/proc/net/sitemh`.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    answers: AtomicU64,
    switched: AtomicU64,
    refused: AtomicU64,
    gave_up: AtomicU64,
    /// Messages not processed or not sent: over their peer's rate limit.
    limited: AtomicU64,
    /// Times a connection found no route avoiding a failed link (every other one down
    /// or refused): it stays on its pair until something changes.
    stranded: AtomicU64,
    /// Route lists sent (codes 10 and 11) and accepted from peers.
    lists_sent: AtomicU64,
    lists_heard: AtomicU64,
    /// Opportunistic protection: offers sent, connections whose keys were agreed (as
    /// either end), offers never answered (the peer runs no sitemh or does not protect),
    /// agreement messages refused (forged, replayed, wrong), connections not taken up
    /// (queue or quota full).
    auto_offers: AtomicU64,
    auto_protected: AtomicU64,
    auto_unanswered: AtomicU64,
    auto_refused: AtomicU64,
    auto_skipped: AtomicU64,
    /// `ktls`: connections protected with keys from their kernel TLS state, and kTLS
    /// sockets whose cipher the module does not derive from (left alone).
    ktls_protected: AtomicU64,
    ktls_unusable: AtomicU64,
    /// Proposals that waited for room in the window of requests in flight
    /// ([`EXCHANGE_WINDOW`]), counted once per run of the work item that held them back.
    deferred: AtomicU64,
}

/// The switchover state of one namespace and address family.
#[pin_data]
pub(crate) struct Switchover<F: SwitchFamily> {
    /// Stopped first, so no run sees the rest half gone.
    ticker: OwnedTicker<Switchover<F>>,
    #[pin]
    conns: SpinLockIrq<Table<Tracked<F::Addr>>>,
    #[pin]
    inbox: SpinLockIrq<KVec<Incoming<F::Addr>>>,
    #[pin]
    limits: SpinLockIrq<PeerLimits<F::Addr>>,
    /// Held while a connection is added or the table is found empty, and the packet
    /// hooks are wanted or released accordingly: the two decisions cannot interleave.
    #[pin]
    membership: Mutex<()>,
    /// Tracked connections that moved, are moving or ever moved: packets need a look only
    /// then.
    moved: AtomicU32,
    /// One bit per [`port_filter_bit`] of those connections: a packet whose ports map to
    /// a clear bit belongs to none of them and skips the look-up.
    moved_ports: [AtomicU64; PORT_FILTER_BITS / 64],
    /// Those connections as the packet path reads them: a copy published through RCU by
    /// the work item whenever they change, so that no packet takes a lock.
    moved_view: RcuBox<MovedView<F::Addr>>,
    /// When the last notice changed which domains are down (ms).
    last_notice_ms: AtomicU64,
    retries: AtomicU32,
    retry_ms: AtomicU32,
    failback_ms: AtomicU32,
    /// The peer's answer time as estimated ([`ExchangeRtt::packed`]): with `retry_ms` 0
    /// no request is repeated sooner.
    answer_time: AtomicU64,
    /// Requests unanswered when the last walk of the table ended, and the answers to
    /// requests applied since it began: what the window leaves room for.
    in_flight: AtomicUsize,
    answered: AtomicUsize,
    /// How long the last run took to seal and send its requests and answers (ms): the peer
    /// opens and seals each in turn too, and answers the last of them that much later.
    send_ms: AtomicU32,
    /// `user_quota`: connections one user without CAP_NET_ADMIN may have tracked.
    user_quota: AtomicU32,
    /// `probe_ms`: how long the candidates of the connections that must move are
    /// echo-probed before the proposals (0: not probed).
    probe_ms: AtomicU32,
    /// Those candidates as last measured (read before the table's lock is taken).
    #[pin]
    measured: Mutex<candidates::Measured<F::Addr>>,
    /// `auto` (0/1): protect every TCP connection this host opens (`agree.rs`).
    auto: AtomicU32,
    /// `net.ipv4.sitemh_lf.auto_ports`, packed (`PortRanges::packed`): the service
    /// ports `auto` protects; all zero, every port.
    auto_ports: [AtomicU32; PORT_RANGES_MAX],
    /// `net.ipv4.sitemh_lf.auto_cgroup`: the cgroup whose sockets `auto` protects (and
    /// its descendants'); `None`, every socket's. Read by the work item only.
    #[pin]
    auto_cgroup: Mutex<Option<Arc<agree::AutoCgroup>>>,
    /// `ktls` (0/1): protect every TCP connection whose sockets use kernel TLS in both
    /// directions, with keys from their kTLS state (`ktls.rs`).
    ktls: AtomicU32,
    /// The kTLS sockets the packet path queued already.
    ktls_seen: ktls::KtlsSeen,
    /// Connections this host is opening, waiting to be established for their key offer
    /// (the packet path queues into room the work item made).
    #[pin]
    opening: SpinLockIrq<KVec<agree::Opening>>,
    /// Some connection's route lists are carried: the namespace's addresses are read at
    /// every run of the work item.
    carries_lists: core::sync::atomic::AtomicBool,
    /// `events_own`: 1, the owner's unprivileged listeners (the events' "own" group) hear
    /// its connections move; 0, only CAP_NET_ADMIN listeners of "events" do.
    events_own: AtomicU32,
    counters: Counters,
    domains: Arc<FamilyState<F>>,
    linkfail: Arc<LinkFail>,
    hooks: Hooks,
    net: NetRef,
}

impl<F: SwitchFamily> Switchover<F> {
    /// The state of `net`.
    pub(crate) fn new(
        net: &Net,
        domains: Arc<FamilyState<F>>,
        linkfail: Arc<LinkFail>,
        hooks: Hooks,
    ) -> Result<Arc<Self>> {
        let view = KBox::new(MovedView::empty(), GFP_KERNEL)?;
        // The packet path queues into room made here and by the work item, never
        // allocating itself.
        let inbox = KVec::with_capacity(INBOX_MIN, GFP_KERNEL)?;
        let opening = KVec::with_capacity(agree::OPENING_MAX, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                ticker: OwnedTicker::new(),
                conns <- new_spinlock_irq!(Table::new()),
                inbox <- new_spinlock_irq!(inbox),
                limits <- new_spinlock_irq!(PeerLimits::new(PEER_RATE, PEER_BURST)),
                membership <- new_mutex!(()),
                moved: AtomicU32::new(0),
                moved_ports: [const { AtomicU64::new(0) }; PORT_FILTER_BITS / 64],
                moved_view: RcuBox::new(view),
                last_notice_ms: AtomicU64::new(0),
                retries: AtomicU32::new(5),
                retry_ms: AtomicU32::new(0),
                failback_ms: AtomicU32::new(2000),
                answer_time: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                answered: AtomicUsize::new(0),
                send_ms: AtomicU32::new(0),
                user_quota: AtomicU32::new(MAX_TRACKED_PER_USER),
                events_own: AtomicU32::new(u32::from(crate::params::events_own())),
                probe_ms: AtomicU32::new(100),
                carries_lists: core::sync::atomic::AtomicBool::new(false),
                auto: AtomicU32::new(0),
                auto_ports: [const { AtomicU32::new(0) }; PORT_RANGES_MAX],
                auto_cgroup <- new_mutex!(None),
                ktls: AtomicU32::new(0),
                ktls_seen: ktls::KtlsSeen::new(),
                opening <- new_spinlock_irq!(opening),
                measured <- new_mutex!(candidates::Measured::new()),
                counters: Counters::default(),
                domains,
                linkfail,
                hooks,
                net: NetRef::new(net),
            }),
            GFP_KERNEL,
        )
    }

    /// Starts the work item.
    pub(crate) fn start(self: &Arc<Self>) -> Result {
        self.ticker.start(self)
    }

    /// Stops the work item and forgets every connection.
    pub(crate) fn stop(&self) {
        self.ticker.stop();
        let forgotten = core::mem::replace(&mut *self.conns.lock(), Table::new());
        self.moved.store(0, Ordering::Relaxed);
        drop(forgotten);
        // The connections being opened hold socket references too (dropped outside the
        // lock).
        let opening = core::mem::take(&mut *self.opening.lock());
        drop(opening);
        // The packet path's copies hold socket references: they go now (or, if even an
        // empty view cannot be allocated, with the state).
        if let Ok(empty) = KBox::new(MovedView::empty(), GFP_KERNEL) {
            self.moved_view.replace(empty);
        }
    }

    fn arm(&self, ms: u32) {
        self.ticker.arm(ms);
    }

    /// A notice changed which domains are down: look at the connections soon.
    pub(crate) fn domains_changed(&self) {
        self.last_notice_ms.store(now_ms(), Ordering::Relaxed);
        self.arm(0);
    }

    /// Connections tracked, and those of them moved: counted a batch at a time.
    fn count_moved(&self) -> (usize, usize) {
        let (mut start, mut moved) = (0, 0);
        loop {
            let (slots, tracked) = {
                let conns = self.conns.lock();
                let end = (start + BATCH).min(conns.slots());
                moved += conns
                    .used_in(start..end)
                    .filter_map(|at| conns.get(at))
                    .filter(|t| t.conn.in_use.is_some())
                    .count();
                (conns.slots(), conns.len())
            };
            start += BATCH;
            if start >= slots {
                return (tracked, moved);
            }
            cond_resched();
        }
    }

    /// The `/proc/net/sitemh` line.
    pub(crate) fn show(&self, m: &SeqFile) {
        let (tracked, moved) = self.count_moved();
        let c = &self.counters;
        seq_print!(
            m,
            "{} tracked {} moved {} requests {} answers {} switched {} refused {} gave_up {} limited {} \
             stranded {} lists_sent {} lists_heard {} auto_offers {} auto_protected {} auto_unanswered {} \
             auto_refused {} auto_skipped {} ktls_protected {} ktls_unusable {} in_flight {} \
             deferred {} answer_ms {}\n",
            F::PROC,
            tracked,
            moved,
            c.requests.load(Ordering::Relaxed),
            c.answers.load(Ordering::Relaxed),
            c.switched.load(Ordering::Relaxed),
            c.refused.load(Ordering::Relaxed),
            c.gave_up.load(Ordering::Relaxed),
            c.limited.load(Ordering::Relaxed),
            c.stranded.load(Ordering::Relaxed),
            c.lists_sent.load(Ordering::Relaxed),
            c.lists_heard.load(Ordering::Relaxed),
            c.auto_offers.load(Ordering::Relaxed),
            c.auto_protected.load(Ordering::Relaxed),
            c.auto_unanswered.load(Ordering::Relaxed),
            c.auto_refused.load(Ordering::Relaxed),
            c.auto_skipped.load(Ordering::Relaxed),
            c.ktls_protected.load(Ordering::Relaxed),
            c.ktls_unusable.load(Ordering::Relaxed),
            self.in_flight.load(Ordering::Relaxed),
            c.deferred.load(Ordering::Relaxed),
            ExchangeRtt::from_packed(self.answer_time.load(Ordering::Relaxed)).timeout_ms()
        );
    }
}

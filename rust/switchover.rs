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
//! Messages arrive in the packet path; they are queued (at most [`INBOX_LEN`]: the excess
//! is dropped and counted, which bounds the work a flood can cause; beyond a per-peer rate
//! limit they are not even queued) and handled, like
//! retransmissions and forgetting closed sockets, by one work item.
//!
//! When the link works again (a code 5 notice), connections move back to their sockets'
//! own pairs the same way, once no notice came for `failback_ms` (damping).
//!
//! IPv6 connections do the same with the IPv6 messages (ICMPv6 type `icmp6_type`, an
//! informational one) over IPv6; each family has its own [`Switchover`], and the knobs
//! below apply to both.
//!
//! Per namespace, under `net.ipv4.sitemh_lf.`: `retries` (transmissions of a request,
//! default 5), `retry_ms` (interval; 0, the default: twice the connection's smoothed
//! round trip, at least 10 ms, 100 ms without a measurement), `failback_ms` (default
//! 2000; 0: never move back), and `peer_rate` / `peer_burst` (messages a second, 0: no
//! limit, and burst, per peer, each way: default 1000 and 500).

#![deny(unsafe_code)]

use core::{
    fmt::Write,
    sync::atomic::{
        AtomicU32,
        AtomicU64,
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
        kdf::{self, wipe, Keys},
        linkfail::{
            finish_checksum,
            parse_sealed,
            write_clear,
            AltRoute,
            IdPcb,
            Layout,
            Sealed,
            CODE_ALT_ROUTE_ESTABLISHED,
            CODE_SET_ALT_ROUTE,
            NONCE_LEN,
            TAG_LEN, //
        },
        prefix::WireAddr,
        ratelimit::PeerLimiter,
        sockopt::{
            parse_lfstat,
            LfRoutes,
            SeqParam, //
        },
        switchover::{
            port_filter_bit,
            port_index_candidates,
            port_index_insert,
            port_index_slots,
            Conn,
            ExchangeError,
            Routes,
            MAX_LFROUTES,
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

use crate::ffi::uapi::{
    self,
    SO_LFROUTES,
    SO_LFSTAT,
    SO_SEQPARAM, //
};

/// What the switchover needs of an address family beyond its domains.
pub(crate) trait SwitchFamily: Family {
    /// The bit of [`LazyHooks`] users that stands for this family's tracked connections.
    const SWITCH_HOOKS_BIT: u32;
    /// The name of the family's line in `/proc/net/sitemh`.
    const PROC: &'static str;
    /// Whether the exchange's messages carry an ICMP checksum to verify here (IPv4's
    /// covers the message alone; ICMPv6's, checked where the message arrives, covers the
    /// addresses too).
    const VERIFY_CHECKSUM: bool;

    /// The packet's protocol and ports (TCP and UDP).
    fn ports(packet: &Packet<'_>) -> Option<(u8, u16, u16)>;
    /// Rewrites the packet's addresses with its checksums (and its route, `reroute`).
    fn translate(
        packet: &mut Packet<'_>,
        src: Self::Addr,
        dst: Self::Addr,
        reroute: bool,
    ) -> Result;
    /// The quoted packet of an ICMP error (its source is this end).
    fn icmp_quote(packet: &Packet<'_>) -> Option<Tuple<Self::Addr>>;
    /// Rewrites the addresses of the packet an ICMP error quotes.
    fn translate_icmp_quote(packet: &mut Packet<'_>, src: Self::Addr, dst: Self::Addr) -> Result;
    /// The connected socket's tuple.
    fn tuple(sock: &SockRef) -> Result<Tuple<Self::Addr>>;
    /// Whether a socket other than `own` would receive the packets of `tuple` (seen from
    /// here: `saddr` local) arriving on interface `dif` (0: any). Any context.
    fn taken(net: &Net, own: &SockRef, tuple: &Tuple<Self::Addr>, dif: i32) -> bool;
    /// Whether `addr` is one of the namespace's own addresses. Any context.
    fn is_local(net: &Net, addr: Self::Addr) -> bool;
    /// Sends a message of the exchange. Process context.
    fn send(net: &Net, src: Self::Addr, dst: Self::Addr, message: &[u8]) -> Result;
    /// The family's domains that notices marked down.
    fn down_mask(linkfail: &LinkFail) -> u32;
}

impl SwitchFamily for V4 {
    const SWITCH_HOOKS_BIT: u32 = hook_user::SWITCHOVER_V4;
    const PROC: &'static str = "switchover";
    const VERIFY_CHECKSUM: bool = true;

    fn ports(packet: &Packet<'_>) -> Option<(u8, u16, u16)> {
        packet.ipv4_ports()
    }
    fn translate(packet: &mut Packet<'_>, src: u32, dst: u32, reroute: bool) -> Result {
        packet.translate4(src, dst, reroute)
    }
    fn icmp_quote(packet: &Packet<'_>) -> Option<Tuple<u32>> {
        let (proto, saddr, daddr, sport, dport) = packet.ipv4_icmp_quote()?;
        Some(Tuple {
            proto,
            saddr,
            sport,
            daddr,
            dport,
        })
    }
    fn translate_icmp_quote(packet: &mut Packet<'_>, src: u32, dst: u32) -> Result {
        packet.translate_icmp_quote4(src, dst)
    }
    fn tuple(sock: &SockRef) -> Result<Tuple<u32>> {
        sock.tuple4()
    }
    fn taken(net: &Net, own: &SockRef, tuple: &Tuple<u32>, dif: i32) -> bool {
        own.tuple_taken4(net, tuple, dif)
    }
    fn is_local(net: &Net, addr: u32) -> bool {
        addr_is_local4(net, addr)
    }
    fn send(net: &Net, src: u32, dst: u32, message: &[u8]) -> Result {
        inet::send_icmp4(net, src, dst, 0, message)
    }
    fn down_mask(linkfail: &LinkFail) -> u32 {
        linkfail.down_mask()
    }
}

impl SwitchFamily for V6 {
    const SWITCH_HOOKS_BIT: u32 = hook_user::SWITCHOVER_V6;
    const PROC: &'static str = "switchover6";
    const VERIFY_CHECKSUM: bool = false;

    fn ports(packet: &Packet<'_>) -> Option<(u8, u16, u16)> {
        packet.ipv6_ports()
    }
    fn translate(packet: &mut Packet<'_>, src: u128, dst: u128, reroute: bool) -> Result {
        packet.translate6(src, dst, reroute)
    }
    fn icmp_quote(packet: &Packet<'_>) -> Option<Tuple<u128>> {
        let (proto, saddr, daddr, sport, dport) = packet.ipv6_icmp_quote()?;
        Some(Tuple {
            proto,
            saddr,
            sport,
            daddr,
            dport,
        })
    }
    fn translate_icmp_quote(packet: &mut Packet<'_>, src: u128, dst: u128) -> Result {
        packet.translate_icmp_quote6(src, dst)
    }
    fn tuple(sock: &SockRef) -> Result<Tuple<u128>> {
        sock.tuple6()
    }
    fn taken(net: &Net, own: &SockRef, tuple: &Tuple<u128>, dif: i32) -> bool {
        own.tuple_taken6(net, tuple, dif)
    }
    fn is_local(net: &Net, addr: u128) -> bool {
        addr_is_local6(net, addr)
    }
    fn send(net: &Net, src: u128, dst: u128, message: &[u8]) -> Result {
        inet::send_icmp6(net, Some(src), dst, 0, 0, message)
    }
    fn down_mask(linkfail: &LinkFail) -> u32 {
        linkfail.down6_mask()
    }
}
/// Messages waiting for the work item, at most.
pub(crate) const INBOX_LEN: usize = 64;
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

impl<A: Copy + Eq> PeerLimits<A> {
    const fn new(rate: u32, burst: u32) -> Self {
        Self {
            received: PeerLimiter::new(rate, burst),
            sent: PeerLimiter::new(rate, burst),
            rate,
            burst,
        }
    }
}
/// Room for a code 3/4 message of either family (IPv6's is the longer).
const MESSAGE_MAX: usize = Layout::<u128>::LEN;
/// Room for the encrypted part of either family.
const ALT_ROUTE_MAX: usize = AltRoute::<u128>::LEN;
/// How often closed sockets are forgotten while connections are tracked.
const PRUNE_MS: u32 = 1000;
/// Connections tracked per namespace, at most (every one costs a look per packet once it
/// moved).
const MAX_TRACKED: usize = 4096;
/// Connections one user may have tracked per namespace, unless it administers the
/// namespace's network: no user can take the whole table from the others.
const MAX_TRACKED_PER_USER: usize = 256;

/// One direction's prepared key and nonce salt (the key is freed with
/// `kfree_sensitive`, the salt wiped).
struct Sealer {
    aead: Aead,
    salt: [u8; 4],
}

impl Drop for Sealer {
    fn drop(&mut self) {
        wipe(&mut self.salt);
    }
}

/// The keys of one connection.
struct KeySet {
    seal: Sealer,
    open: Sealer,
}

impl KeySet {
    fn new(keys: &Keys) -> Result<Self> {
        Ok(Self {
            seal: Sealer {
                aead: Aead::new(&keys.seal_key)?,
                salt: keys.seal_salt,
            },
            open: Sealer {
                aead: Aead::new(&keys.open_key)?,
                salt: keys.open_salt,
            },
        })
    }
}

/// A connection the module tracks.
struct Tracked<A> {
    conn: Conn<A>,
    sock: SockRef,
    /// Who owns the socket (for [`MAX_TRACKED_PER_USER`]).
    uid: u32,
    /// Shared with the work item, which seals and opens outside the lock.
    keys: Option<Arc<KeySet>>,
    /// When the pending request is due again (ms of the monotonic clock).
    next_try_ms: u64,
    /// The last notice's time and the domains down (a mark may lapse without a notice)
    /// when this connection last forgot its unanswered routes: when either differs,
    /// something changed, and they may be proposed again.
    changes_seen: (u64, u32),
    /// No route avoided the failed link at the last look (counted once per episode).
    stranded: bool,
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
    alt: AltRoute<A>,
}

/// A moved connection as the packet path sees it.
struct MovedEntry<A> {
    conn: Conn<A>,
    sock: SockRef,
}

/// The connections that moved, are moving or ever moved, for the packet path (read
/// under RCU, never changed: replaced whole).
struct MovedView<A> {
    entries: KVec<MovedEntry<A>>,
    /// Their positions by ports ([`port_index_insert`]); empty when it could not be
    /// built: the look-up then goes through every entry.
    index: KVec<u16>,
}

impl<A> MovedView<A> {
    fn empty() -> Self {
        Self {
            entries: KVec::new(),
            index: KVec::new(),
        }
    }
}

impl<A: WireAddr> MovedEntry<A> {
    /// Whether the packet path would treat `other` as it treats this entry.
    fn same_as(&self, other: &MovedEntry<A>) -> bool {
        let (a, b) = (&self.conn, &other.conn);
        self.sock.id() == other.sock.id()
            && a.tuple == b.tuple
            && a.routes == b.routes
            && a.in_use == b.in_use
            && a.pending.map(|p| p.route) == b.pending.map(|p| p.route)
            && a.left == b.left
    }
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

/// What one run of the work item does after releasing the lock.
struct Chores<A> {
    send: KVec<Outgoing<A>>,
    kick: KVec<SockRef>,
    forget: KVec<Tracked<A>>,
}

impl<A> Chores<A> {
    /// Room for the chores of `conns` connections and `messages` received messages, made
    /// before the work item takes the lock under which it records them (interrupts off):
    /// recording them then allocates nothing, unless connections were added in between.
    fn with_room(conns: usize, messages: usize) -> Self {
        Self {
            send: room_for(conns + messages),
            kick: room_for(conns + messages),
            forget: room_for(conns),
        }
    }

    /// Records a message to send; false if there was no room even after trying.
    fn send(&mut self, job: Outgoing<A>) -> bool {
        push_in_room(&mut self.send, job)
    }

    /// Records a socket to kick.
    fn kick(&mut self, sock: SockRef) {
        push_in_room(&mut self.kick, sock);
    }

    /// Records a connection to forget (its references go outside the lock). Without room
    /// it is dropped at once after all: better than keeping a dead socket.
    fn forget(&mut self, t: Tracked<A>) {
        push_in_room(&mut self.forget, t);
    }
}

/// An empty list with room for `n` (none if that cannot be allocated now).
fn room_for<T>(n: usize) -> KVec<T> {
    KVec::with_capacity(n, GFP_KERNEL).unwrap_or_default()
}

/// Pushes `item` into the room made for it; only if there is none (the table grew since
/// the room was made) does it allocate, atomically: the caller holds a spinlock.
fn push_in_room<T>(list: &mut KVec<T>, item: T) -> bool {
    match list.push_within_capacity(item) {
        Ok(()) => true,
        Err(PushError(item)) => list.push(item, GFP_ATOMIC).is_ok(),
    }
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
}

/// The switchover state of one namespace and address family.
#[pin_data]
pub(crate) struct Switchover<F: SwitchFamily> {
    /// Stopped first, so no run sees the rest half gone.
    ticker: OwnedTicker<Switchover<F>>,
    #[pin]
    conns: SpinLockIrq<KVec<Tracked<F::Addr>>>,
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
        let inbox = KVec::with_capacity(INBOX_LEN, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                ticker: OwnedTicker::new(),
                conns <- new_spinlock_irq!(KVec::new()),
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
        let forgotten = core::mem::take(&mut *self.conns.lock());
        self.moved.store(0, Ordering::Relaxed);
        drop(forgotten);
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

    /// A code 3/4 message for this host (LOCAL_IN): queued for the work item if its clear
    /// part names a tracked connection with keys and it comes from one of that
    /// connection's peers, within the connection's rate limit and share of the queue.
    /// Everything else is garbage, refused here: it takes no room from real messages.
    pub(crate) fn receive(&self, src: F::Addr, message: &[u8]) -> Verdict {
        let Some(sealed) = Self::clear_part(message) else {
            self.refuse(src, "malformed");
            return Verdict::Drop(EINVAL);
        };
        let ours = Self::as_we_name_it(&sealed);
        let conn = {
            let conns = self.conns.lock();
            let found = Self::named(&conns, &ours, src)
                .filter_map(|at| conns.get(at))
                .find(|t| t.keys.is_some())
                .map(|t| t.sock.id());
            found
        };
        let Some(conn) = conn else {
            self.refuse(src, "names no connection of its source");
            return Verdict::Drop(EINVAL);
        };
        if !self.within_limit(conn, src, now_ms(), |l| &mut l.received) {
            return Verdict::Drop(EINVAL);
        }
        let mut incoming = Incoming {
            src,
            conn,
            len: message.len(),
            message: [0; MESSAGE_MAX],
        };
        let copied = message.len().min(MESSAGE_MAX);
        incoming.message[..copied].copy_from_slice(&message[..copied]);
        let queued = {
            let mut inbox = self.inbox.lock();
            inbox.len() < INBOX_LEN
                && inbox.iter().filter(|m| m.conn == conn).count() < INBOX_PER_CONN
                && inbox.push_within_capacity(incoming).is_ok()
        };
        if queued {
            self.arm(0);
        } else {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Drop(EINVAL)
    }

    /// The clear part of a code 3/4 message of this family's exact length, if it checks.
    fn clear_part(message: &[u8]) -> Option<Sealed<F::Addr>> {
        if message.len() != Layout::<F::Addr>::LEN {
            return None;
        }
        parse_sealed::<F::Addr>(F::icmp_type(), message, F::VERIFY_CHECKSUM).ok()
    }

    /// The connection a message names, as this end names it: a request names it as the
    /// peer sees it, an answer as we do.
    fn as_we_name_it(sealed: &Sealed<F::Addr>) -> IdPcb<F::Addr> {
        if sealed.code == CODE_SET_ALT_ROUTE {
            sealed.pcb.reversed()
        } else {
            sealed.pcb
        }
    }

    /// Whether a message naming `ours` from `src` may be about `t`: the connection is
    /// open, named so, and `src` is one of its peers.
    fn may_be_from(t: &Tracked<F::Addr>, ours: &IdPcb<F::Addr>, src: F::Addr) -> bool {
        !t.sock.closed() && t.conn.is_named_by(ours) && t.conn.is_peer(src)
    }

    /// Whether one more message keyed `key` (to or from `peer`) is within its rate limit
    /// (counted if not).
    fn within_limit<K: Copy + Eq>(
        &self,
        key: K,
        peer: F::Addr,
        now: u64,
        which: impl FnOnce(&mut PeerLimits<F::Addr>) -> &mut PeerLimiter<K, LIMITED_PEERS>,
    ) -> bool {
        let allowed = {
            let mut limits = self.limits.lock();
            limits.rate == 0 || which(&mut limits).allow(key, now)
        };
        if !allowed {
            self.counters.limited.fetch_add(1, Ordering::Relaxed);
            if net_ratelimit() {
                pr_info!(
                    "switchover: ICMP {} to or from {} over its rate limit\n",
                    F::icmp_type(),
                    F::shown(peer, &mut [0; 48])
                );
            }
        }
        allowed
    }

    /// The first answer of `decide` for a moved connection with local port `lport` and
    /// peer port `fport` whose socket is still open (a closed one may share its tuple with
    /// a newer socket).
    ///
    /// Lock-free: it reads the copy the work item published through RCU.
    fn find_live<R>(
        &self,
        lport: u16,
        fport: u16,
        decide: impl Fn(&SockRef, &Conn<F::Addr>) -> Option<R>,
    ) -> Option<R> {
        let guard = rcu::read_lock();
        let view = self.moved_view.read(&guard);
        let live = |e: &&MovedEntry<F::Addr>| !e.sock.closed();
        let decide = |e: &MovedEntry<F::Addr>| decide(&e.sock, &e.conn);
        if view.index.is_empty() {
            view.entries.iter().filter(live).find_map(decide)
        } else {
            port_index_candidates(&view.index, lport, fport)
                .filter_map(|at| view.entries.get(at))
                .filter(live)
                .find_map(decide)
        }
    }

    /// Whether `t` may carry its packets on the wire pair (`local`, `peer`): its socket's
    /// own pair always; another only while `local` is still this host's and no other
    /// socket owns the tuple (one may have taken it since the move: its packets are its
    /// own, never translated to this connection). Any context.
    fn on_wire_ok(
        &self,
        sock: &SockRef,
        conn: &Conn<F::Addr>,
        local: F::Addr,
        peer: F::Addr,
    ) -> bool {
        let c = &conn.tuple;
        if (local, peer) == (c.laddr, c.faddr) {
            return true;
        }
        let net = self.net.get();
        self.still_local(net, local)
            && !F::taken(
                net,
                sock,
                &Tuple {
                    proto: c.proto,
                    saddr: local,
                    sport: c.lport,
                    daddr: peer,
                    dport: c.fport,
                },
                0,
            )
    }

    /// Whether `addr` is still one of this host's addresses (or its home address, which
    /// travels stacked under the care-of address).
    fn still_local(&self, net: &Net, addr: F::Addr) -> bool {
        if F::is_local(net, addr) {
            return true;
        }
        let guard = rcu::read_lock();
        self.domains.snapshot(&guard).own_home == Some(addr)
    }

    /// Whether the connection at `at` may move to the wire pair (`local`, `peer`):
    /// [`Switchover::on_wire_ok`], and no other tracked connection uses that pair with the
    /// same ports or is moving onto it (their packets could not be told apart).
    fn claimable(
        &self,
        conns: &[Tracked<F::Addr>],
        at: usize,
        local: F::Addr,
        peer: F::Addr,
    ) -> bool {
        let Some(t) = conns.get(at) else {
            return false;
        };
        let c = &t.conn.tuple;
        if (local, peer) == (c.laddr, c.faddr) {
            return true;
        }
        self.on_wire_ok(&t.sock, &t.conn, local, peer)
            && !conns.iter().enumerate().any(|(i, other)| {
                i != at
                    && !other.sock.closed()
                    && other.conn.claims(c.proto, local, peer, c.lport, c.fport)
            })
    }

    /// Outgoing packets of moved connections get the pair in use (LOCAL_OUT).
    pub(crate) fn egress(&self, packet: &mut Packet<'_>) -> Verdict {
        if self.moved.load(Ordering::Relaxed) == 0 {
            return Verdict::Accept;
        }
        let Some((proto, sport, dport)) = F::ports(packet) else {
            return Verdict::Accept;
        };
        if !self.may_have_moved(sport, dport) {
            return Verdict::Accept;
        }
        let (src, dst) = F::addrs(packet);
        let pair = self.find_live(sport, dport, |sock, conn| {
            let (s, d) = conn.egress(proto, src, dst, sport, dport)?;
            // Never onto another socket's tuple or from an address no longer ours: the
            // packet leaves on the socket's own pair instead.
            self.on_wire_ok(sock, conn, s, d).then_some((s, d))
        });
        match pair.map(|(s, d)| F::translate(packet, s, d, true)) {
            Some(Err(e)) => Verdict::Drop(e),
            _ => Verdict::Accept,
        }
    }

    /// Arriving packets of moved connections get the socket's addresses (PRE_ROUTING).
    pub(crate) fn ingress(&self, packet: &mut Packet<'_>) -> Verdict {
        if self.moved.load(Ordering::Relaxed) == 0 {
            return Verdict::Accept;
        }
        let Some((proto, sport, dport)) = F::ports(packet) else {
            return self.ingress_icmp_error(packet);
        };
        if !self.may_have_moved(dport, sport) {
            return Verdict::Accept;
        }
        let (src, dst) = F::addrs(packet);
        let pair = self.find_live(dport, sport, |sock, conn| {
            let own = conn.ingress(proto, src, dst, sport, dport)?;
            // A packet for a tuple another socket owns is that socket's.
            self.on_wire_ok(sock, conn, dst, src).then_some(own)
        });
        match pair.map(|(s, d)| F::translate(packet, s, d, false)) {
            Some(Err(e)) => Verdict::Drop(e),
            _ => Verdict::Accept,
        }
    }

    /// An ICMP error about a packet a moved connection sent over its new pair (a router on
    /// that path needing a smaller MTU, say): the quote is given the socket's own pair, or
    /// the socket would never hear of it (a black hole for path MTU discovery).
    fn ingress_icmp_error(&self, packet: &mut Packet<'_>) -> Verdict {
        let Some(Tuple {
            proto,
            saddr: src,
            sport,
            daddr: dst,
            dport,
        }) = F::icmp_quote(packet)
        else {
            return Verdict::Accept;
        };
        // The quote's source port is this end's.
        if !self.may_have_moved(sport, dport) {
            return Verdict::Accept;
        }
        // The quote is a packet this end sent: seen from here, it arrives from `dst`.
        let own = self.find_live(sport, dport, |sock, conn| {
            let own = conn.ingress(proto, dst, src, dport, sport)?;
            self.on_wire_ok(sock, conn, src, dst).then_some(own)
        });
        match own.map(|(peer, local)| F::translate_icmp_quote(packet, local, peer)) {
            Some(Err(e)) => Verdict::Drop(e),
            _ => Verdict::Accept,
        }
    }

    fn refuse(&self, src: F::Addr, why: &str) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "switchover: refusing a message from {}: {}\n",
                F::shown(src, &mut [0; 48]),
                why
            );
        }
    }

    /// Prepares a message of `t` sealing `alt`, naming the connection as `pcb`, from `src`
    /// to `dst`: takes its sequence number now; [`Switchover::seal`] encrypts it later,
    /// outside the lock.
    fn seal_job(
        t: &mut Tracked<F::Addr>,
        code: u8,
        pcb: &IdPcb<F::Addr>,
        alt: &AltRoute<F::Addr>,
        src: F::Addr,
        dst: F::Addr,
    ) -> Option<Outgoing<F::Addr>> {
        let keys = t.keys.as_ref()?.clone();
        Some(Outgoing {
            src,
            dst,
            keys,
            code,
            pcb: *pcb,
            seq: t.conn.next_seq(),
            alt: *alt,
        })
    }

    /// Seals a prepared message.
    fn seal(out: &Outgoing<F::Addr>) -> Option<[u8; MESSAGE_MAX]> {
        let mut m = [0u8; MESSAGE_MAX];
        let len = Layout::<F::Addr>::LEN;
        write_clear(F::icmp_type(), out.code, &out.pcb, out.seq, &mut m);
        // Stamped now, whatever the fields came from (an answer copies the request's).
        let alt = AltRoute {
            stamp: now_ms(),
            ..out.alt
        };
        alt.write(m.get_mut(Layout::<F::Addr>::CIPHERTEXT..Layout::<F::Addr>::TAG)?);
        let nonce = kdf::nonce(&out.keys.seal.salt, out.seq);
        let (ad, rest) = m.get_mut(..len)?.split_at_mut(Layout::<F::Addr>::NONCE);
        let (plain, tag) = rest
            .get_mut(NONCE_LEN..)?
            .split_at_mut(AltRoute::<F::Addr>::LEN);
        let tag: &mut [u8; TAG_LEN] = tag.try_into().ok()?;
        out.keys.seal.aead.seal(&nonce, ad, plain, tag).ok()?;
        // ICMPv6's checksum, over the addresses too, is the sending socket's job.
        if F::VERIFY_CHECKSUM {
            finish_checksum(m.get_mut(..len)?);
        }
        Some(m)
    }

    /// Opens the encrypted part of `message` (number `seq`) with `keys`; `None` if it
    /// does not authenticate or is malformed.
    fn open(keys: &KeySet, message: &[u8], seq: u64) -> Option<AltRoute<F::Addr>> {
        let mut ad_room = [0u8; Layout::<u128>::NONCE];
        let ad = ad_room.get_mut(..Layout::<F::Addr>::NONCE)?;
        ad.copy_from_slice(message.get(..Layout::<F::Addr>::NONCE)?);
        ad.get_mut(2..4)?.fill(0);
        let mut plain_room = [0u8; ALT_ROUTE_MAX];
        let plain = plain_room.get_mut(..AltRoute::<F::Addr>::LEN)?;
        plain.copy_from_slice(message.get(Layout::<F::Addr>::CIPHERTEXT..Layout::<F::Addr>::TAG)?);
        let tag = <&[u8; TAG_LEN]>::try_from(message.get(Layout::<F::Addr>::TAG..)?).ok()?;
        let nonce = kdf::nonce(&keys.open.salt, seq);
        keys.open.aead.open(&nonce, ad, plain, tag).ok()?;
        AltRoute::<F::Addr>::read(plain)
    }

    /// The positions in `conns` of the connections a message naming `ours` from `src`
    /// may be about: those whose pair in use is the one named first (a connection's own
    /// peer names it so), then those that merely list it among their routes.
    fn named<'a>(
        conns: &'a [Tracked<F::Addr>],
        ours: &'a IdPcb<F::Addr>,
        src: F::Addr,
    ) -> impl Iterator<Item = usize> + 'a {
        let in_use = |t: &Tracked<F::Addr>| t.conn.current() == (ours.laddr, ours.faddr);
        let exact = conns
            .iter()
            .enumerate()
            .filter(move |(_, t)| Self::may_be_from(t, ours, src) && in_use(t));
        let listed = conns
            .iter()
            .enumerate()
            .filter(move |(_, t)| Self::may_be_from(t, ours, src) && !in_use(t));
        Iterator::chain(exact, listed).map(|(at, _)| at)
    }

    /// Under the lock: adds to `out` the connections message number `index` may be about,
    /// with their keys, to be tried outside the lock. `None`, or why there is none.
    fn candidates(
        conns: &[Tracked<F::Addr>],
        index: usize,
        incoming: &Incoming<F::Addr>,
        out: &mut KVec<Candidate>,
    ) -> Option<&'static str> {
        let Some(sealed) = incoming
            .message
            .get(..incoming.len)
            .and_then(Self::clear_part)
        else {
            return Some("malformed");
        };
        let ours = Self::as_we_name_it(&sealed);
        let mut why = Some("names no connection of its source");
        for at in Self::named(conns, &ours, incoming.src).take(CANDIDATES_PER_MESSAGE) {
            let Some(t) = conns.get(at) else {
                continue;
            };
            let Some(keys) = t.keys.as_ref() else {
                why = why.and(Some("connection has no keys"));
                continue;
            };
            if !t.conn.replay.check(sealed.seq) {
                why = why.and(Some("replayed"));
                continue;
            }
            let candidate = Candidate {
                message: index,
                conn: t.sock.id(),
                keys: keys.clone(),
            };
            // The room was reserved outside the lock.
            if out.push_within_capacity(candidate).is_ok() {
                why = None;
            }
        }
        why
    }

    /// Under the lock: acts on a received message that the keys of connection `conn`
    /// opened (`alt`).
    fn apply(
        &self,
        conns: &mut KVec<Tracked<F::Addr>>,
        incoming: &Incoming<F::Addr>,
        conn: usize,
        alt: AltRoute<F::Addr>,
        chores: &mut Chores<F::Addr>,
        now: u64,
    ) {
        let src = incoming.src;
        let Some(sealed) = incoming
            .message
            .get(..incoming.len)
            .and_then(Self::clear_part)
        else {
            return self.refuse(src, "malformed");
        };
        let ours = Self::as_we_name_it(&sealed);
        let Some(at) = conns
            .iter()
            .position(|t| t.sock.id() == conn && Self::may_be_from(t, &ours, src))
        else {
            return self.refuse(src, "its connection is gone");
        };
        // The messages travel over the proposed pair (see `transmit` and the answer
        // below): the source is the peer's address on it, never another of its peers.
        // Checked before the sequence number counts as seen, so that a copy sent from
        // elsewhere first cannot make the real one a replay.
        let (local, peer) = if sealed.code == CODE_SET_ALT_ROUTE {
            (alt.dst, alt.src)
        } else {
            (alt.src, alt.dst)
        };
        if src != peer {
            return self.refuse(src, "not sent from the peer's address on the proposed pair");
        }
        let claimable = self.claimable(conns, at, local, peer);
        let Some(t) = conns.get_mut(at) else {
            return;
        };
        // A copy of the same message earlier in this batch was acted on already.
        if !t.conn.replay.check(sealed.seq) {
            return self.refuse(src, "replayed");
        }
        t.conn.replay.accept(sealed.seq);
        if alt.code != sealed.code {
            return self.refuse(src, "code differs in the encrypted part");
        }
        if !t.conn.fresh.is_fresh(alt.stamp, now) {
            return self.refuse(src, exchange_error(ExchangeError::TooOld));
        }
        t.conn.fresh.accept(alt.stamp, now);
        let before = t.conn.in_use;
        if sealed.code == CODE_SET_ALT_ROUTE {
            let is_down = self.down_view();
            let answer = match t.conn.accept_request(
                &alt,
                sealed.seq,
                |local| !is_down(local),
                |_, _| claimable,
            ) {
                Ok(answer) => answer,
                // A late copy of our peer's own earlier request: nothing to see.
                Err(ExchangeError::Stale) => return,
                Err(e) => return self.refuse(src, exchange_error(e)),
            };
            // From our new local address to the peer's.
            let job = Self::seal_job(
                t,
                CODE_ALT_ROUTE_ESTABLISHED,
                &sealed.pcb,
                &answer,
                alt.dst,
                alt.src,
            );
            if let Some(job) = job {
                if chores.send(job) {
                    self.counters.answers.fetch_add(1, Ordering::Relaxed);
                }
            }
        } else if let Err(e) = t.conn.accept_answer(&alt, |_, _| claimable) {
            return self.refuse(src, exchange_error(e));
        }
        if t.conn.in_use != before {
            self.switched(t, chores);
        }
    }

    /// Handles the received messages: which connection each may be about is read under
    /// the lock, the AES-GCM opening is done outside it, and what they ask is done under
    /// it again (with everything checked anew: the table may have changed meanwhile).
    fn handle_inbox(&self, inbox: &[Incoming<F::Addr>], now: u64, chores: &mut Chores<F::Addr>) {
        if inbox.is_empty() {
            return;
        }
        let room = inbox.len() * CANDIDATES_PER_MESSAGE;
        let (Ok(mut candidates), Ok(mut refusals), Ok(mut opened)) = (
            KVec::<Candidate>::with_capacity(room, GFP_KERNEL),
            KVec::<Option<&'static str>>::with_capacity(inbox.len(), GFP_KERNEL),
            KVec::<(usize, usize, AltRoute<F::Addr>)>::with_capacity(inbox.len(), GFP_KERNEL),
        ) else {
            // Dropped: the peer repeats its request, or the exchange gives up.
            self.counters
                .refused
                .fetch_add(inbox.len() as u64, Ordering::Relaxed);
            return;
        };
        {
            let conns = self.conns.lock();
            for (index, incoming) in inbox.iter().enumerate() {
                let why = Self::candidates(&conns, index, incoming, &mut candidates);
                let _ = refusals.push_within_capacity(why);
            }
        }
        for (index, incoming) in inbox.iter().enumerate() {
            let Some(message) = incoming.message.get(..incoming.len) else {
                continue;
            };
            let Some(sealed) = Self::clear_part(message) else {
                continue;
            };
            let found = candidates
                .iter()
                .filter(|c| c.message == index)
                .find_map(|c| Some((c.conn, Self::open(&c.keys, message, sealed.seq)?)));
            match found {
                Some((conn, alt)) => {
                    let _ = opened.push_within_capacity((index, conn, alt));
                }
                None => {
                    let why = refusals
                        .get(index)
                        .copied()
                        .flatten()
                        .unwrap_or("does not authenticate");
                    self.refuse(incoming.src, why);
                }
            }
        }
        // The keys go outside the lock.
        drop(candidates);
        if opened.is_empty() {
            return;
        }
        let mut conns = self.conns.lock();
        for &(index, conn, alt) in opened.iter() {
            if let Some(incoming) = inbox.get(index) {
                self.apply(&mut conns, incoming, conn, alt, chores, now);
            }
        }
    }

    fn switched(&self, t: &Tracked<F::Addr>, chores: &mut Chores<F::Addr>) {
        self.counters.switched.fetch_add(1, Ordering::Relaxed);
        chores.kick(t.sock.clone());
        if net_ratelimit() {
            let (local, peer) = t.conn.current();
            pr_info!(
                "switchover: {} port {} -> {} port {} now uses {} -> {}\n",
                F::shown(t.conn.tuple.laddr, &mut [0; 48]),
                t.conn.tuple.lport,
                F::shown(t.conn.tuple.faddr, &mut [0; 48]),
                t.conn.tuple.fport,
                F::shown(local, &mut [0; 48]),
                F::shown(peer, &mut [0; 48])
            );
        }
    }

    /// The interval between transmissions of a request for `t`.
    fn retry_interval(&self, t: &Tracked<F::Addr>) -> u32 {
        match self.retry_ms.load(Ordering::Relaxed) {
            0 => match t.sock.srtt_us() {
                0 => 100,
                srtt => (2 * srtt / 1000).clamp(10, 1000),
            },
            ms => ms,
        }
    }

    /// Whether a local address is in a domain that a notice marked down, as things are now.
    ///
    /// A connection of this host's home address travels under its care-of address (see
    /// `home.rs`): the home address is down when the care-of address is.
    fn down_view(&self) -> impl Fn(F::Addr) -> bool {
        let down = F::down_mask(&self.linkfail);
        let (table, home, careof) = {
            let guard = rcu::read_lock();
            let snapshot = self.domains.snapshot(&guard);
            (snapshot.table, snapshot.own_home, snapshot.careof)
        };
        move |addr: F::Addr| {
            let on_wire = match careof {
                Some(careof) if Some(addr) == home => careof,
                _ => addr,
            };
            table
                .domain_of(on_wire)
                .is_some_and(|d| down & (1 << d.index) != 0)
        }
    }

    /// Starts exchanges: away from a failed domain at once; back to the socket's own pair
    /// once it works again and no notice came for `failback_ms` (damping: a flapping link
    /// does not drag connections back and forth). Returns when a failback falls due.
    fn propose_moves(
        &self,
        conns: &mut KVec<Tracked<F::Addr>>,
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) -> Option<u64> {
        let is_down = self.down_view();
        let retries = self.retries.load(Ordering::Relaxed).clamp(1, 255) as u8;
        let failback_ms = self.failback_ms.load(Ordering::Relaxed);
        let last_notice = self.last_notice_ms.load(Ordering::Relaxed);
        let calm_at = last_notice + u64::from(failback_ms);
        let changes = (last_notice, F::down_mask(&self.linkfail));
        let mut due = None;
        for at in 0..conns.len() {
            let Some(t) = conns.get_mut(at) else {
                break;
            };
            if t.changes_seen != changes {
                t.changes_seen = changes;
                t.conn.something_changed();
                t.stranded = false;
            }
            let Some(t) = conns.get(at) else {
                break;
            };
            if t.conn.stat != STAT_ALTER || t.keys.is_none() || t.conn.pending.is_some() {
                continue;
            }
            let route = if is_down(t.conn.current().0) {
                let alternate = t.conn.alternate(
                    |local| !is_down(local),
                    |local, peer| self.claimable(conns, at, local, peer),
                );
                let Some(route) = alternate else {
                    // Every other route is down, taken or refused: stay, and try again
                    // when something changes.
                    if let Some(t) = conns.get_mut(at) {
                        if !t.stranded {
                            t.stranded = true;
                            self.counters.stranded.fetch_add(1, Ordering::Relaxed);
                            if net_ratelimit() {
                                pr_warn!(
                                    "switchover: port {} has no route that avoids the failed \
                                     link; staying until something changes\n",
                                    t.conn.tuple.lport
                                );
                            }
                        }
                    }
                    continue;
                };
                route
            } else if let Some(route) = t.conn.home_route(|local| !is_down(local)) {
                if failback_ms == 0 {
                    continue;
                }
                if now < calm_at {
                    due = Some(calm_at);
                    continue;
                }
                route
            } else {
                continue;
            };
            let Some(t) = conns.get_mut(at) else {
                break;
            };
            let pcb = t.conn.wire_pcb();
            let Some(alt) = t.conn.propose(route, retries) else {
                continue;
            };
            if route
                != t.conn
                    .routes
                    .find(t.conn.tuple.laddr, t.conn.tuple.faddr)
                    .unwrap_or(u8::MAX)
            {
                t.conn.fled = true;
            }
            self.transmit(t, &pcb, &alt, now, chores);
        }
        due
    }

    /// Sends (again) the request of `t` for `alt`.
    fn transmit(
        &self,
        t: &mut Tracked<F::Addr>,
        pcb: &IdPcb<F::Addr>,
        alt: &AltRoute<F::Addr>,
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) {
        let Some(pending) = t.conn.pending.as_mut() else {
            return;
        };
        pending.tries_left = pending.tries_left.saturating_sub(1);
        // Over the proposed route itself: the old one is dead.
        let Some(job) = Self::seal_job(t, CODE_SET_ALT_ROUTE, pcb, alt, alt.src, alt.dst) else {
            return;
        };
        if chores.send(job) {
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
        }
        t.next_try_ms = now + u64::from(self.retry_interval(t));
    }

    /// Repeats unanswered requests that are due, or gives up on them.
    fn retransmit(
        &self,
        conns: &mut KVec<Tracked<F::Addr>>,
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) -> Option<u64> {
        let mut next: Option<u64> = None;
        for t in conns.iter_mut() {
            let Some(pending) = t.conn.pending else {
                continue;
            };
            if t.next_try_ms > now {
                next = Some(next.map_or(t.next_try_ms, |n| n.min(t.next_try_ms)));
                continue;
            }
            if pending.tries_left == 0 {
                // Refused (the pair crosses a link the peer knows down), or the peer is
                // gone: that route is not proposed again until something changes; the
                // next one may be, at the next run.
                t.conn.give_up();
                self.counters.gave_up.fetch_add(1, Ordering::Relaxed);
                if net_ratelimit() {
                    pr_warn!(
                        "switchover: port {}: no answer from the peer for route {}; trying \
                         another\n",
                        t.conn.tuple.lport,
                        pending.route
                    );
                }
                next = Some(now);
                continue;
            }
            let pcb = t.conn.wire_pcb();
            let Some(&(src, dst)) = t.conn.routes.as_slice().get(usize::from(pending.route)) else {
                continue;
            };
            let alt = AltRoute {
                code: CODE_SET_ALT_ROUTE,
                stamp: 0,
                src,
                dst,
            };
            self.transmit(t, &pcb, &alt, now, chores);
            next = Some(next.map_or(t.next_try_ms, |n| n.min(t.next_try_ms)));
        }
        next
    }

    /// Under the `conns` lock: copies into `entries` (room reserved outside the lock) the
    /// connections that moved, are moving or ever moved, and sums them up for the packet
    /// path's filter. False if `entries` had too little room (nothing to publish then).
    fn collect_moved(
        conns: &KVec<Tracked<F::Addr>>,
        entries: &mut KVec<MovedEntry<F::Addr>>,
        words: &mut [u64; PORT_FILTER_BITS / 64],
    ) -> bool {
        for t in conns.iter() {
            let c = &t.conn;
            if c.in_use.is_none() && c.pending.is_none() && c.switches == 0 {
                continue;
            }
            let entry = MovedEntry {
                conn: t.conn,
                sock: t.sock.clone(),
            };
            if entries.push_within_capacity(entry).is_err() {
                return false;
            }
            let bit = port_filter_bit(c.tuple.lport, c.tuple.fport);
            if let Some(word) = words.get_mut(bit / 64) {
                *word |= 1 << (bit % 64);
            }
        }
        true
    }

    /// Outside the lock: publishes `entries` (from [`Switchover::collect_moved`]) to the
    /// packet path if they differ from what it reads, with their index by ports, then the
    /// filter `words`. Sleeps (a grace period before the old copy goes).
    fn publish_moved(
        &self,
        entries: KVec<MovedEntry<F::Addr>>,
        words: [u64; PORT_FILTER_BITS / 64],
    ) {
        let unchanged = {
            let guard = rcu::read_lock();
            let view = self.moved_view.read(&guard);
            view.entries.len() == entries.len()
                && view
                    .entries
                    .iter()
                    .zip(entries.iter())
                    .all(|(a, b)| a.same_as(b))
        };
        let moved = entries.len() as u32;
        if !unchanged {
            // Without room for the index the look-up goes through every entry instead.
            let index = KVec::from_elem(0u16, port_index_slots(entries.len()), GFP_KERNEL)
                .ok()
                .and_then(|mut table| {
                    let all_in = entries.iter().enumerate().all(|(at, e)| {
                        port_index_insert(&mut table, e.conn.tuple.lport, e.conn.tuple.fport, at)
                    });
                    all_in.then_some(table)
                })
                .unwrap_or_default();
            let Ok(view) = KBox::new(MovedView { entries, index }, GFP_KERNEL) else {
                // The packet path keeps the old copy; the next run tries again.
                return;
            };
            self.moved_view.replace(view);
        }
        // Each word is stored whole: a bit set before and after is never seen clear.
        for (slot, word) in self.moved_ports.iter().zip(words) {
            slot.store(word, Ordering::Relaxed);
        }
        self.moved.store(moved, Ordering::Relaxed);
    }

    /// Whether a packet with local port `lport` and peer port `fport` may belong to a
    /// connection that moved (else it needs no look-up).
    fn may_have_moved(&self, lport: u16, fport: u16) -> bool {
        if self.moved.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let bit = port_filter_bit(lport, fport);
        self.moved_ports
            .get(bit / 64)
            .is_some_and(|word| word.load(Ordering::Relaxed) & (1 << (bit % 64)) != 0)
    }

    /// Makes sure the table has room for one more connection without allocating under
    /// its interrupt-disabling lock: larger tables are allocated here, charged to the caller's memory cgroup
    /// (`GFP_KERNEL_ACCOUNT`: a user pays for the connections it registers), and the
    /// entries moved over under the lock; the old tables are freed after it. Called with
    /// `membership` held, so no other caller adds connections meanwhile.
    fn reserve_one(&self) -> Result {
        let (len, capacity) = {
            let conns = self.conns.lock();
            (conns.len(), conns.capacity())
        };
        if len >= MAX_TRACKED {
            return Err(ENOBUFS);
        }
        if len < capacity {
            return Ok(());
        }
        let wanted = capacity.saturating_mul(2).clamp(16, MAX_TRACKED);
        let mut bigger = KVec::with_capacity(wanted, GFP_KERNEL_ACCOUNT)?;
        let old = {
            let mut conns = self.conns.lock();
            // The work item only ever removes connections: they all fit.
            if conns.capacity() < wanted && conns.len() <= wanted {
                for t in conns.drain_all() {
                    // Within capacity: `len` is at most `wanted`.
                    let _ = bigger.push_within_capacity(t);
                }
                Some(core::mem::replace(&mut *conns, bigger))
            } else {
                None
            }
        };
        drop(old);
        Ok(())
    }

    /// Registers `socket` (or finds it) and applies `change` to its state; an error from
    /// `change` changes nothing.
    fn with_conn(
        &self,
        socket: &Socket<'_>,
        change: impl FnOnce(&mut Tracked<F::Addr>) -> Result,
    ) -> Result {
        let sock = socket.hold().ok_or(EINVAL)?;
        let tuple = F::tuple(&sock)?;
        let own = IdPcb {
            proto: tuple.proto,
            laddr: tuple.saddr,
            faddr: tuple.daddr,
            lport: tuple.sport,
            fport: tuple.dport,
        };
        let routes = Routes::new(&[(own.laddr, own.faddr)]).ok_or(EINVAL)?;
        let mut fresh = Conn::new(own, routes);
        fresh.stat = STAT_DO_NOT_ALTER;
        let uid = sock.uid();
        let quota = if current_is_net_admin(socket.net) {
            MAX_TRACKED
        } else {
            MAX_TRACKED_PER_USER
        };
        let _membership = self.membership.lock();
        // Room for one more, made before the lock: nothing below allocates with
        // interrupts off (only this path, under `membership`, adds connections).
        self.reserve_one()?;
        let first = {
            let mut conns = self.conns.lock();
            if let Some(t) = conns.iter_mut().find(|t| socket.is(&t.sock)) {
                change(t)?;
                let c = &t.conn;
                if c.in_use.is_some() || c.pending.is_some() || c.switches > 0 {
                    // The packet path reads a copy of moved connections: the work item
                    // publishes the change at once.
                    self.arm(0);
                }
                false
            } else {
                if conns.len() >= MAX_TRACKED
                    || conns.iter().filter(|t| t.uid == uid).count() >= quota
                {
                    return Err(ENOBUFS);
                }
                let mut t = Tracked {
                    conn: fresh,
                    sock,
                    uid,
                    keys: None,
                    next_try_ms: 0,
                    changes_seen: (0, 0),
                    stranded: false,
                };
                change(&mut t)?;
                if let Err(PushError(t)) = conns.push_within_capacity(t) {
                    // Not reached (`reserve_one`); the reference goes outside the lock.
                    drop(conns);
                    drop(t);
                    return Err(ENOMEM);
                }
                conns.len() == 1
            }
        };
        if first {
            // Moved connections need the packet hooks even without domains.
            if let Err(e) = self.hooks.want(F::SWITCH_HOOKS_BIT, true) {
                let removed = {
                    let mut conns = self.conns.lock();
                    let at = conns.iter().position(|t| socket.is(&t.sock));
                    at.and_then(|i| conns.remove(i).ok())
                };
                // The socket reference goes outside the lock.
                drop(removed);
                return Err(e);
            }
            self.arm(PRUNE_MS);
        }
        Ok(())
    }

    /// `setsockopt` of the switchover options.
    pub(crate) fn set(&self, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        match optname {
            SO_LFROUTES => {
                let asked = LfRoutes::<F::Addr>::parse(value).map_err(|_| EINVAL)?;
                let local = inet::local_addrs(socket.net, F::AF)?;
                // The home address (on the loopback device, which the list leaves out) is
                // a local address too: its own pair is where its connection fails back to.
                let home = {
                    let guard = rcu::read_lock();
                    self.domains.snapshot(&guard).own_home
                };
                let sock = socket.hold().ok_or(EINVAL)?;
                let own = F::tuple(&sock)?;
                for &(src, dst) in asked.as_slice() {
                    let device = local
                        .iter()
                        .find(|(a, _)| F::Addr::read(a) == Some(src))
                        .map(|&(_, ifindex)| ifindex);
                    if Some(src) != home && device.is_none() {
                        return Err(EADDRNOTAVAIL);
                    }
                    // Moving there would take another socket's packets: a route is never
                    // a tuple some other socket owns (its own pair always is its own).
                    let on_wire = Tuple {
                        saddr: src,
                        daddr: dst,
                        ..own
                    };
                    if (src, dst) != (own.saddr, own.daddr)
                        && (F::taken(socket.net, &sock, &on_wire, 0)
                            || device.is_some_and(|d| F::taken(socket.net, &sock, &on_wire, d)))
                    {
                        if net_ratelimit() {
                            pr_warn!(
                                "switchover: refusing a route {} -> {} port {} -> {}: another socket's\n",
                                F::shown(src, &mut [0; 48]),
                                F::shown(dst, &mut [0; 48]),
                                own.sport,
                                own.dport
                            );
                        }
                        return Err(EADDRINUSE);
                    }
                }
                drop(sock);
                let routes = Routes::new(asked.as_slice()).ok_or(EINVAL)?;
                self.with_conn(socket, |t| {
                    // The route in use and the one proposed are indexes into the list.
                    if t.conn.in_use.is_some() || t.conn.pending.is_some() {
                        return Err(EBUSY);
                    }
                    t.conn.routes = routes;
                    t.conn.stat = STAT_ALTER;
                    Ok(())
                })
            }
            SO_LFSTAT => {
                let stat = parse_lfstat(value).map_err(|_| EINVAL)?;
                self.with_conn(socket, |t| {
                    t.conn.stat = stat;
                    Ok(())
                })
            }
            SO_SEQPARAM => {
                let keys = match SeqParam::parse(value).map_err(|_| EINVAL)? {
                    SeqParam::Tls12 {
                        master,
                        client_random,
                        server_random,
                        is_client,
                    } => Keys::from_tls12(master, client_random, server_random, is_client),
                    SeqParam::Exporter { block, is_client } => {
                        Keys::from_key_block(block, is_client)
                    }
                };
                // `keys` is wiped when it goes, the prepared copy freed with
                // `kfree_sensitive`.
                let mut keys = Some(Arc::new(KeySet::new(&keys)?, GFP_KERNEL_ACCOUNT)?);
                let mut old = None;
                self.with_conn(socket, |t| {
                    old = core::mem::replace(&mut t.keys, keys.take());
                    Ok(())
                })?;
                // Freed outside the lock.
                drop(old);
                Ok(())
            }
            _ => Err(ENOPROTOOPT),
        }
    }

    /// `getsockopt(SITEMH_SO_LFROUTES)`.
    pub(crate) fn get(&self, socket: &Socket<'_>, buf: UserSlice) -> Result<usize> {
        let mut out = [0u8; uapi::LFROUTES_MAX];
        // `struct sitemh_lfroutes{,6}`: four octets, then room for every route.
        let answer_len = 4 + MAX_LFROUTES * LfRoutes::<F::Addr>::PAIR_LEN;
        {
            let conns = self.conns.lock();
            let t = conns.iter().find(|t| socket.is(&t.sock)).ok_or(ENOENT)?;
            let routes = t.conn.routes.as_slice();
            out[0] = t.conn.stat;
            out[1] = routes.len() as u8;
            out[2] = t.conn.in_use_index();
            out[3] = t.conn.switches.min(255) as u8;
            if let Some(routes) = LfRoutes::new(routes) {
                routes.write(&mut out[4..]).map_err(|_| EINVAL)?;
            }
        }
        let mut writer = buf.writer();
        let copied = writer.len().min(answer_len);
        writer.write_slice(&out[..copied])?;
        Ok(copied)
    }

    /// The `/proc/net/sitemh` line.
    pub(crate) fn show(&self, m: &SeqFile) {
        let (tracked, moved) = {
            let conns = self.conns.lock();
            (
                conns.len(),
                conns.iter().filter(|t| t.conn.in_use.is_some()).count(),
            )
        };
        let c = &self.counters;
        seq_print!(
            m,
            "{} tracked {} moved {} requests {} answers {} switched {} refused {} gave_up {} limited {} \
             stranded {}\n",
            F::PROC,
            tracked,
            moved,
            c.requests.load(Ordering::Relaxed),
            c.answers.load(Ordering::Relaxed),
            c.switched.load(Ordering::Relaxed),
            c.refused.load(Ordering::Relaxed),
            c.gave_up.load(Ordering::Relaxed),
            c.limited.load(Ordering::Relaxed),
            c.stranded.load(Ordering::Relaxed)
        );
    }
}

fn exchange_error(e: ExchangeError) -> &'static str {
    match e {
        ExchangeError::CodeMismatch => "code differs in the encrypted part",
        ExchangeError::NotARoute => "the proposed pair is not one of the connection's routes",
        ExchangeError::NotAlterable => "the connection must not move",
        ExchangeError::Unsolicited => "an answer to no request",
        ExchangeError::LinkDown => "the proposed pair uses a link known down here",
        ExchangeError::Stale => "a late copy of a superseded request",
        ExchangeError::Taken => {
            "the proposed pair is another socket's or connection's, or no longer a local address"
        }
        ExchangeError::TooOld => "sealed long before the peer's newer messages (held back?)",
    }
}

impl<F: SwitchFamily> Tick for Switchover<F> {
    fn tick(&self) {
        let now = now_ms();
        // The packet path's next inbox, allocated here (without it, messages are refused
        // until the next run).
        let fresh = KVec::with_capacity(INBOX_LEN, GFP_KERNEL).unwrap_or_default();
        let inbox = core::mem::replace(&mut *self.inbox.lock(), fresh);
        // Room for the chores and for the packet path's copy, made before the lock (only
        // this work item makes connections move; new ones have not).
        let room = self.conns.lock().len();
        let mut chores = Chores::with_room(room, inbox.len());
        self.handle_inbox(&inbox, now, &mut chores);
        let mut moved = KVec::with_capacity(room, GFP_KERNEL).unwrap_or_default();
        let mut words = [0u64; PORT_FILTER_BITS / 64];
        let (next, empty, collected) = {
            let mut conns = self.conns.lock();
            let failback = self.propose_moves(&mut conns, now, &mut chores);
            let retry = self.retransmit(&mut conns, now, &mut chores);
            let next = match (failback, retry) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // Forget connections that are over (their references go outside the lock), in
            // one pass: the live ones move forward in their order, the closed ones end up
            // at the back and are popped (removing each in place would be quadratic, under
            // a lock that keeps interrupts off).
            let mut kept = 0;
            for i in 0..conns.len() {
                if !conns[i].sock.closed() {
                    conns.swap(kept, i);
                    kept += 1;
                }
            }
            while conns.len() > kept {
                if let Some(t) = conns.pop() {
                    // On failure it is dropped here after all: better than keeping a dead
                    // socket.
                    chores.forget(t);
                }
            }
            let collected = Self::collect_moved(&conns, &mut moved, &mut words);
            (next, conns.is_empty(), collected)
        };
        drop(inbox);
        // Before any message goes: the peer may use the new pair as soon as it reads one,
        // and its packets must find the connection (a TCP segment for an unknown tuple
        // draws a reset).
        if collected {
            self.publish_moved(moved, words);
        } else {
            // Copies of some; the next run tries again.
            drop(moved);
            self.arm(PRUNE_MS / 10);
        }
        let net = self.net.get();
        for out in chores.send.iter() {
            // Over the limit: a request goes again at its next retry, an answer when the
            // peer repeats its request.
            if !self.within_limit(out.dst, out.dst, now, |l| &mut l.sent) {
                continue;
            }
            let Some(sealed) = Self::seal(out) else {
                continue;
            };
            let message = &sealed[..Layout::<F::Addr>::LEN];
            if let Err(e) = F::send(net, out.src, out.dst, message) {
                if net_ratelimit() {
                    pr_warn!(
                        "switchover: could not send to {}: {:?}\n",
                        F::shown(out.dst, &mut [0; 48]),
                        e
                    );
                }
            }
        }
        for sock in chores.kick.iter() {
            sock.kick();
        }
        drop(chores);
        if empty {
            let _membership = self.membership.lock();
            if self.conns.lock().is_empty() {
                let _ = self.hooks.want(F::SWITCH_HOOKS_BIT, false);
            }
        } else {
            let delay = next.map_or(PRUNE_MS, |due| {
                due.saturating_sub(now).min(u64::from(PRUNE_MS)) as u32
            });
            self.arm(delay);
        }
    }
}

/// The knobs of `net.ipv4.sitemh_lf.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LfField {
    Retries,
    RetryMs,
    FailbackMs,
    PeerRate,
    PeerBurst,
}

/// One knob of the switchover, for both families.
pub(crate) struct LfKnob {
    v4: Arc<Switchover<V4>>,
    v6: Arc<Switchover<V6>>,
    field: LfField,
}

impl LfKnob {
    /// Registers `net.ipv4.sitemh_lf.{retries,retry_ms,failback_ms,peer_rate,peer_burst}`.
    pub(crate) fn register(
        net: &Net,
        v4: &Arc<Switchover<V4>>,
        v6: &Arc<Switchover<V6>>,
    ) -> Result<NetSysctlText<LfKnob>> {
        let mut knobs = KVec::with_capacity(5, GFP_KERNEL)?;
        for (name, field) in [
            (c"retries", LfField::Retries),
            (c"retry_ms", LfField::RetryMs),
            (c"failback_ms", LfField::FailbackMs),
            (c"peer_rate", LfField::PeerRate),
            (c"peer_burst", LfField::PeerBurst),
        ] {
            knobs.push(
                (
                    name,
                    LfKnob {
                        v4: v4.clone(),
                        v6: v6.clone(),
                        field,
                    },
                ),
                GFP_KERNEL,
            )?;
        }
        NetSysctlText::register(net, c"net/ipv4/sitemh_lf", knobs)
    }
}

impl<F: SwitchFamily> Switchover<F> {
    /// The value of a knob.
    fn knob(&self, field: LfField) -> u32 {
        let atomic = match field {
            LfField::Retries => &self.retries,
            LfField::RetryMs => &self.retry_ms,
            LfField::FailbackMs => &self.failback_ms,
            LfField::PeerRate => return self.limits.lock().rate,
            LfField::PeerBurst => return self.limits.lock().burst,
        };
        atomic.load(Ordering::Relaxed)
    }

    /// Sets a knob.
    fn set_knob(&self, field: LfField, v: u32) {
        let atomic = match field {
            LfField::Retries => &self.retries,
            LfField::RetryMs => &self.retry_ms,
            LfField::FailbackMs => &self.failback_ms,
            LfField::PeerRate | LfField::PeerBurst => {
                // New limits start with full buckets.
                let mut limits = self.limits.lock();
                *limits = match field {
                    LfField::PeerRate => PeerLimits::new(v, limits.burst),
                    _ => PeerLimits::new(limits.rate, v),
                };
                return;
            }
        };
        atomic.store(v, Ordering::Relaxed);
    }
}

impl TextKnob for LfKnob {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        write!(out, "{}", self.v4.knob(self.field)).map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.v4.net.get()) {
            return Err(EPERM);
        }
        let (low, high) = match self.field {
            LfField::Retries => (1, 255),
            LfField::RetryMs => (0, 60_000),
            LfField::FailbackMs => (0, 3_600_000),
            LfField::PeerRate => (0, 1_000_000),
            LfField::PeerBurst => (1, 1_000_000),
        };
        match parse_decimal(text) {
            Some(v) if (low..=high).contains(&v) => {
                self.v4.set_knob(self.field, v);
                self.v6.set_knob(self.field, v);
                Ok(())
            }
            _ => {
                if net_ratelimit() {
                    pr_warn!(
                        "net.ipv4.sitemh_lf: refusing {:?}: not a number in {}..{}\n",
                        core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                        low,
                        high
                    );
                }
                Err(EINVAL)
            }
        }
    }
}

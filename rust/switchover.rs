// SPDX-License-Identifier: GPL-2.0

//! Moving live connections off a failed provider link (draft 2.1.2), IPv4.
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
        FamilyState,
        V4, //
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
            LazyHooks,
            Packet,
            Verdict, //
        },
        sock::SockRef,
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
    linkfail::LinkFail,
    logic::{
        ipv4,
        kdf::{
            self,
            Keys,
            KEY_BLOCK_LEN,
            MASTER_SECRET_LEN,
            RANDOM_LEN, //
        },
        linkfail::{
            finish_checksum,
            parse_sealed,
            write_clear,
            AltRoute,
            IdPcb,
            Layout,
            CODE_ALT_ROUTE_ESTABLISHED,
            CODE_SET_ALT_ROUTE,
            NONCE_LEN,
            TAG_LEN, //
        },
        ratelimit::PeerLimiter,
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
    netns::{
        hook_user,
        SitemhNet, //
    },
};

/// `SITEMH_SO_LFROUTES`.
pub(crate) const SO_LFROUTES: i32 = crate::select::SO_BASE + 1;
/// `SITEMH_SO_SEQPARAM`.
pub(crate) const SO_SEQPARAM: i32 = crate::select::SO_BASE + 2;
/// `SITEMH_SO_LFSTAT`.
pub(crate) const SO_LFSTAT: i32 = crate::select::SO_BASE + 3;

/// The bit of [`LazyHooks`] users that stands for tracked connections.
pub(crate) const HOOKS_BIT: u32 = hook_user::SWITCHOVER;
/// Messages waiting for the work item, at most.
pub(crate) const INBOX_LEN: usize = 16;
/// Peers whose messages are rate-limited apart (see [`PeerLimiter`]).
const LIMITED_PEERS: usize = 32;
/// Default per-peer limits of `net.ipv4.sitemh_lf.{peer_rate,peer_burst}`: far above what
/// keepalives and a few hundred connections moving at once need.
const PEER_RATE: u32 = 1000;
const PEER_BURST: u32 = 500;

/// Per-peer limits on the code 3/4 messages processed and sent (beyond the draft).
struct PeerLimits {
    received: PeerLimiter<u32, LIMITED_PEERS>,
    sent: PeerLimiter<u32, LIMITED_PEERS>,
    /// Messages a second (0: no limit) and burst, as configured.
    rate: u32,
    burst: u32,
}

impl PeerLimits {
    const fn new(rate: u32, burst: u32) -> Self {
        Self {
            received: PeerLimiter::new(rate, burst),
            sent: PeerLimiter::new(rate, burst),
            rate,
            burst,
        }
    }
}
/// A code 3/4 message of IPv4.
const MESSAGE_LEN: usize = Layout::<u32>::LEN;
/// How often closed sockets are forgotten while connections are tracked.
const PRUNE_MS: u32 = 1000;
/// Connections tracked per namespace, at most (every one costs a look per packet once it
/// moved).
const MAX_TRACKED: usize = 4096;
/// After an unanswered exchange, how long before the next one (ms).
const GIVE_UP_QUIET_MS: u32 = 5000;
/// `sizeof(struct sitemh_seqparam)`.
const SEQPARAM_LEN: usize = 4 + MASTER_SECRET_LEN + 2 * RANDOM_LEN + KEY_BLOCK_LEN;
/// `sizeof(struct sitemh_lfroutes)`.
const LFROUTES_LEN: usize = 4 + MAX_LFROUTES * 8;
const SEQPARAM_TLS12: u8 = 1;
const SEQPARAM_EXPORTER: u8 = 2;

/// One direction's prepared key and nonce salt.
struct Sealer {
    aead: Aead,
    salt: [u8; 4],
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
struct Tracked {
    conn: Conn<u32>,
    sock: SockRef,
    keys: Option<KeySet>,
    /// When the pending request is due again (ms of the monotonic clock).
    next_try_ms: u64,
    /// After an exchange went unanswered, no new one before this time (ms).
    quiet_until_ms: u64,
}

/// A message to send once the lock is released.
struct Outgoing {
    src: u32,
    dst: u32,
    message: [u8; MESSAGE_LEN],
}

/// A received code 3/4 message.
#[derive(Clone, Copy)]
struct Incoming {
    src: u32,
    len: usize,
    message: [u8; MESSAGE_LEN],
}

/// What one run of the work item does after releasing the lock.
#[derive(Default)]
struct Chores {
    send: KVec<Outgoing>,
    kick: KVec<SockRef>,
    forget: KVec<Tracked>,
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
}

/// The switchover state of one namespace.
#[pin_data]
pub(crate) struct Switchover {
    /// Stopped first, so no run sees the rest half gone.
    ticker: OwnedTicker<Switchover>,
    #[pin]
    conns: SpinLockIrq<KVec<Tracked>>,
    #[pin]
    inbox: SpinLockIrq<KVec<Incoming>>,
    #[pin]
    limits: SpinLockIrq<PeerLimits>,
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
    /// The positions in `conns` of those connections by their ports, rebuilt under the
    /// `conns` lock whenever they change (always taken after it): a packet of a moved
    /// connection finds it without going through every tracked one. `None` when it
    /// could not be allocated: the look-up then goes through them all.
    #[pin]
    moved_index: SpinLockIrq<Option<KVec<u16>>>,
    /// When the last notice changed which domains are down (ms).
    last_notice_ms: AtomicU64,
    retries: AtomicU32,
    retry_ms: AtomicU32,
    failback_ms: AtomicU32,
    counters: Counters,
    v4: Arc<FamilyState<V4>>,
    linkfail: Arc<LinkFail>,
    hooks: Arc<LazyHooks<SitemhNet>>,
    net: NetRef,
}

impl Switchover {
    /// The state of `net`.
    pub(crate) fn new(
        net: &Net,
        v4: Arc<FamilyState<V4>>,
        linkfail: Arc<LinkFail>,
        hooks: Arc<LazyHooks<SitemhNet>>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                ticker: OwnedTicker::new(),
                conns <- new_spinlock_irq!(KVec::new()),
                inbox <- new_spinlock_irq!(KVec::new()),
                limits <- new_spinlock_irq!(PeerLimits::new(PEER_RATE, PEER_BURST)),
                membership <- new_mutex!(()),
                moved: AtomicU32::new(0),
                moved_ports: [const { AtomicU64::new(0) }; PORT_FILTER_BITS / 64],
                moved_index <- new_spinlock_irq!(None),
                last_notice_ms: AtomicU64::new(0),
                retries: AtomicU32::new(5),
                retry_ms: AtomicU32::new(0),
                failback_ms: AtomicU32::new(2000),
                counters: Counters::default(),
                v4,
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
        let index = self.moved_index.lock().take();
        drop(forgotten);
        drop(index);
    }

    fn arm(&self, ms: u32) {
        self.ticker.arm(ms);
    }

    /// A notice changed which domains are down: look at the connections soon.
    pub(crate) fn domains_changed(&self) {
        self.last_notice_ms.store(now_ms(), Ordering::Relaxed);
        self.arm(0);
    }

    /// A code 3/4 message for this host (IPv4, LOCAL_IN): queued for the work item.
    pub(crate) fn receive(&self, src: u32, message: &[u8]) -> Verdict {
        if !self.within_limit(src, now_ms(), |l| &mut l.received) {
            return Verdict::Drop(EINVAL);
        }
        let mut incoming = Incoming {
            src,
            len: message.len().min(MESSAGE_LEN + 1),
            message: [0; MESSAGE_LEN],
        };
        let copied = message.len().min(MESSAGE_LEN);
        incoming.message[..copied].copy_from_slice(&message[..copied]);
        let queued = {
            let mut inbox = self.inbox.lock();
            inbox.len() < INBOX_LEN && inbox.push(incoming, GFP_ATOMIC).is_ok()
        };
        if queued {
            self.arm(0);
        } else {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Drop(EINVAL)
    }

    /// Whether one more message from or to `peer` is within its rate limit (counted if not).
    fn within_limit(
        &self,
        peer: u32,
        now: u64,
        which: impl FnOnce(&mut PeerLimits) -> &mut PeerLimiter<u32, LIMITED_PEERS>,
    ) -> bool {
        let allowed = {
            let mut limits = self.limits.lock();
            limits.rate == 0 || which(&mut limits).allow(peer, now)
        };
        if !allowed {
            self.counters.limited.fetch_add(1, Ordering::Relaxed);
            if net_ratelimit() {
                pr_info!(
                    "switchover: ICMP {} to or from {} over its rate limit\n",
                    crate::icmp_type(),
                    ipv4::dotted(peer, &mut [0; 16])
                );
            }
        }
        allowed
    }

    /// The first answer of `decide` for a moved connection with local port `lport` and
    /// peer port `fport` whose socket is still open (a closed one may share its tuple with
    /// a newer socket).
    fn find_live<R>(
        &self,
        lport: u16,
        fport: u16,
        decide: impl Fn(&Conn<u32>) -> Option<R>,
    ) -> Option<R> {
        let conns = self.conns.lock();
        let index = self.moved_index.lock();
        let live = |t: &&Tracked| !t.sock.closed();
        match index.as_ref() {
            Some(slots) => port_index_candidates(slots, lport, fport)
                .filter_map(|at| conns.get(at))
                .filter(live)
                .find_map(|t| decide(&t.conn)),
            None => conns.iter().filter(live).find_map(|t| decide(&t.conn)),
        }
    }

    /// Outgoing packets of moved connections get the pair in use (LOCAL_OUT).
    pub(crate) fn egress(&self, packet: &mut Packet<'_>) -> Verdict {
        if self.moved.load(Ordering::Relaxed) == 0 {
            return Verdict::Accept;
        }
        let Some((proto, sport, dport)) = packet.ipv4_ports() else {
            return Verdict::Accept;
        };
        if !self.may_have_moved(sport, dport) {
            return Verdict::Accept;
        }
        let (src, dst) = packet.ipv4_addrs();
        let pair = self.find_live(sport, dport, |conn| {
            conn.egress(proto, src, dst, sport, dport)
        });
        match pair.map(|(s, d)| packet.translate4(s, d, true)) {
            Some(Err(e)) => Verdict::Drop(e),
            _ => Verdict::Accept,
        }
    }

    /// Arriving packets of moved connections get the socket's addresses (PRE_ROUTING).
    pub(crate) fn ingress(&self, packet: &mut Packet<'_>) -> Verdict {
        if self.moved.load(Ordering::Relaxed) == 0 {
            return Verdict::Accept;
        }
        let Some((proto, sport, dport)) = packet.ipv4_ports() else {
            return self.ingress_icmp_error(packet);
        };
        if !self.may_have_moved(dport, sport) {
            return Verdict::Accept;
        }
        let (src, dst) = packet.ipv4_addrs();
        let pair = self.find_live(dport, sport, |conn| {
            conn.ingress(proto, src, dst, sport, dport)
        });
        match pair.map(|(s, d)| packet.translate4(s, d, false)) {
            Some(Err(e)) => Verdict::Drop(e),
            _ => Verdict::Accept,
        }
    }

    /// An ICMP error about a packet a moved connection sent over its new pair (a router on
    /// that path needing a smaller MTU, say): the quote is given the socket's own pair, or
    /// the socket would never hear of it (a black hole for path MTU discovery).
    fn ingress_icmp_error(&self, packet: &mut Packet<'_>) -> Verdict {
        let Some((proto, src, dst, sport, dport)) = packet.ipv4_icmp_quote() else {
            return Verdict::Accept;
        };
        // The quote's source port is this end's.
        if !self.may_have_moved(sport, dport) {
            return Verdict::Accept;
        }
        // The quote is a packet this end sent: seen from here, it arrives from `dst`.
        let own = self.find_live(sport, dport, |conn| {
            conn.ingress(proto, dst, src, dport, sport)
        });
        match own.map(|(peer, local)| packet.translate_icmp_quote4(local, peer)) {
            Some(Err(e)) => Verdict::Drop(e),
            _ => Verdict::Accept,
        }
    }

    fn refuse(&self, src: u32, why: &str) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "switchover: refusing a message from {}: {}\n",
                ipv4::dotted(src, &mut [0; 16]),
                why
            );
        }
    }

    /// Seals `alt` for `t` into a message naming the connection as `pcb`.
    fn seal(
        t: &mut Tracked,
        code: u8,
        pcb: &IdPcb<u32>,
        alt: &AltRoute<u32>,
    ) -> Option<[u8; MESSAGE_LEN]> {
        let keys = t.keys.as_ref()?;
        let seq = t.conn.next_seq();
        let mut m = [0u8; MESSAGE_LEN];
        write_clear(crate::icmp_type(), code, pcb, seq, &mut m);
        alt.write(&mut m[Layout::<u32>::CIPHERTEXT..Layout::<u32>::TAG]);
        let nonce = kdf::nonce(&keys.seal.salt, seq);
        let (ad, rest) = m.split_at_mut(Layout::<u32>::NONCE);
        let (plain, tag) = rest[NONCE_LEN..].split_at_mut(AltRoute::<u32>::LEN);
        let tag: &mut [u8; TAG_LEN] = tag.try_into().ok()?;
        keys.seal.aead.seal(&nonce, ad, plain, tag).ok()?;
        finish_checksum(&mut m);
        Some(m)
    }

    /// Handles one received message under the lock.
    fn handle(&self, conns: &mut KVec<Tracked>, incoming: &Incoming, chores: &mut Chores) {
        let src = incoming.src;
        if incoming.len != MESSAGE_LEN {
            return self.refuse(src, "wrong length");
        }
        let message = &incoming.message;
        let Ok(sealed) = parse_sealed::<u32>(crate::icmp_type(), message, true) else {
            return self.refuse(src, "malformed");
        };
        // A request names the connection as the peer sees it; an answer as we do.
        let ours = if sealed.code == CODE_SET_ALT_ROUTE {
            sealed.pcb.reversed()
        } else {
            sealed.pcb
        };
        let Some(t) = conns
            .iter_mut()
            .find(|t| !t.sock.closed() && t.conn.is_named_by(&ours))
        else {
            return self.refuse(src, "no such connection");
        };
        let Some(keys) = t.keys.as_ref() else {
            return self.refuse(src, "connection has no keys");
        };
        if !t.conn.replay.check(sealed.seq) {
            return self.refuse(src, "replayed");
        }
        let mut ad = [0u8; Layout::<u32>::NONCE];
        ad.copy_from_slice(&message[..Layout::<u32>::NONCE]);
        ad[2..4].fill(0);
        let mut plain = [0u8; AltRoute::<u32>::LEN];
        plain.copy_from_slice(&message[Layout::<u32>::CIPHERTEXT..Layout::<u32>::TAG]);
        let Ok(tag) = <&[u8; TAG_LEN]>::try_from(&message[Layout::<u32>::TAG..]) else {
            return self.refuse(src, "malformed");
        };
        let nonce = kdf::nonce(&keys.open.salt, sealed.seq);
        if keys.open.aead.open(&nonce, &ad, &mut plain, tag).is_err() {
            return self.refuse(src, "does not authenticate");
        }
        let Some(alt) = AltRoute::<u32>::read(&plain) else {
            return self.refuse(src, "malformed plaintext");
        };
        t.conn.replay.accept(sealed.seq);
        if alt.code != sealed.code {
            return self.refuse(src, "code differs in the encrypted part");
        }
        let before = t.conn.in_use;
        if sealed.code == CODE_SET_ALT_ROUTE {
            let is_down = self.down_view();
            let answer = match t
                .conn
                .accept_request(&alt, sealed.seq, |local| !is_down(local))
            {
                Ok(answer) => answer,
                // A late copy of our peer's own earlier request: nothing to see.
                Err(ExchangeError::Stale) => return,
                Err(e) => return self.refuse(src, exchange_error(e)),
            };
            if let Some(message) = Self::seal(t, CODE_ALT_ROUTE_ESTABLISHED, &sealed.pcb, &answer) {
                // From our new local address to the peer's.
                let _ = chores.send.push(
                    Outgoing {
                        src: alt.dst,
                        dst: alt.src,
                        message,
                    },
                    GFP_ATOMIC,
                );
                self.counters.answers.fetch_add(1, Ordering::Relaxed);
            }
        } else if let Err(e) = t.conn.accept_answer(&alt) {
            return self.refuse(src, exchange_error(e));
        }
        if t.conn.in_use != before {
            self.switched(t, chores);
        }
    }

    fn switched(&self, t: &Tracked, chores: &mut Chores) {
        self.counters.switched.fetch_add(1, Ordering::Relaxed);
        let _ = chores.kick.push(t.sock.clone(), GFP_ATOMIC);
        if net_ratelimit() {
            let (local, peer) = t.conn.current();
            pr_info!(
                "switchover: {} port {} -> {} port {} now uses {} -> {}\n",
                ipv4::dotted(t.conn.tuple.laddr, &mut [0; 16]),
                t.conn.tuple.lport,
                ipv4::dotted(t.conn.tuple.faddr, &mut [0; 16]),
                t.conn.tuple.fport,
                ipv4::dotted(local, &mut [0; 16]),
                ipv4::dotted(peer, &mut [0; 16])
            );
        }
    }

    /// The interval between transmissions of a request for `t`.
    fn retry_interval(&self, t: &Tracked) -> u32 {
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
    fn down_view(&self) -> impl Fn(u32) -> bool {
        let down = self.linkfail.down_mask();
        let (table, home, careof) = {
            let guard = rcu::read_lock();
            let snapshot = self.v4.snapshot(&guard);
            (snapshot.table, snapshot.own_home, snapshot.careof)
        };
        move |addr: u32| {
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
        conns: &mut KVec<Tracked>,
        now: u64,
        chores: &mut Chores,
    ) -> Option<u64> {
        let is_down = self.down_view();
        let retries = self.retries.load(Ordering::Relaxed).clamp(1, 255) as u8;
        let failback_ms = self.failback_ms.load(Ordering::Relaxed);
        let calm_at = self.last_notice_ms.load(Ordering::Relaxed) + u64::from(failback_ms);
        let mut due = None;
        for t in conns.iter_mut() {
            if t.conn.stat != STAT_ALTER
                || t.keys.is_none()
                || t.conn.pending.is_some()
                || now < t.quiet_until_ms
            {
                continue;
            }
            let route = if is_down(t.conn.current().0) {
                let Some(route) = t.conn.alternate(|local| !is_down(local)) else {
                    if net_ratelimit() {
                        pr_warn!(
                            "switchover: port {} has no route that avoids the failed link\n",
                            t.conn.tuple.lport
                        );
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
        t: &mut Tracked,
        pcb: &IdPcb<u32>,
        alt: &AltRoute<u32>,
        now: u64,
        chores: &mut Chores,
    ) {
        let Some(pending) = t.conn.pending.as_mut() else {
            return;
        };
        pending.tries_left = pending.tries_left.saturating_sub(1);
        let Some(message) = Self::seal(t, CODE_SET_ALT_ROUTE, pcb, alt) else {
            return;
        };
        // Over the proposed route itself: the old one is dead.
        let _ = chores.send.push(
            Outgoing {
                src: alt.src,
                dst: alt.dst,
                message,
            },
            GFP_ATOMIC,
        );
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        t.next_try_ms = now + u64::from(self.retry_interval(t));
    }

    /// Repeats unanswered requests that are due, or gives up on them.
    fn retransmit(&self, conns: &mut KVec<Tracked>, now: u64, chores: &mut Chores) -> Option<u64> {
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
                t.conn.pending = None;
                // The peer may be gone or not running the module: try again later.
                t.quiet_until_ms = now + u64::from(GIVE_UP_QUIET_MS);
                self.counters.gave_up.fetch_add(1, Ordering::Relaxed);
                if net_ratelimit() {
                    pr_warn!(
                        "switchover: port {}: no answer from the peer; staying\n",
                        t.conn.tuple.lport
                    );
                }
                continue;
            }
            let pcb = t.conn.wire_pcb();
            let Some(&(src, dst)) = t.conn.routes.as_slice().get(usize::from(pending.route)) else {
                continue;
            };
            let alt = AltRoute {
                code: CODE_SET_ALT_ROUTE,
                src,
                dst,
            };
            self.transmit(t, &pcb, &alt, now, chores);
            next = Some(next.map_or(t.next_try_ms, |n| n.min(t.next_try_ms)));
        }
        next
    }

    /// Sums up the connections that moved, are moving or ever moved for the packet path:
    /// their number, the port filter and the index. Called with the `conns` lock held
    /// after anything that changes which connections moved or where they are.
    fn recount(&self, conns: &KVec<Tracked>) {
        let mut words = [0u64; PORT_FILTER_BITS / 64];
        let mut moved = 0u32;
        let has_moved = |c: &Conn<u32>| c.in_use.is_some() || c.pending.is_some() || c.switches > 0;
        for t in conns.iter() {
            let c = &t.conn;
            if has_moved(c) {
                moved += 1;
                let bit = port_filter_bit(c.tuple.lport, c.tuple.fport);
                if let Some(word) = words.get_mut(bit / 64) {
                    *word |= 1 << (bit % 64);
                }
            }
        }
        {
            let mut index = self.moved_index.lock();
            let slots = port_index_slots(moved as usize);
            let mut table = index.take().unwrap_or_default();
            table.clear();
            // Without room the look-up goes through every connection instead.
            *index = table.resize(slots, 0, GFP_ATOMIC).ok().and_then(|()| {
                let all_in = conns.iter().enumerate().all(|(at, t)| {
                    !has_moved(&t.conn)
                        || port_index_insert(&mut table, t.conn.tuple.lport, t.conn.tuple.fport, at)
                });
                all_in.then_some(table)
            });
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

    /// Registers `socket` (or finds it) and applies `change` to its state; an error from
    /// `change` changes nothing.
    fn with_conn(
        &self,
        socket: &Socket<'_>,
        change: impl FnOnce(&mut Tracked) -> Result,
    ) -> Result {
        let sock = socket.hold().ok_or(EINVAL)?;
        let tuple = sock.tuple4()?;
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
        let _membership = self.membership.lock();
        let first = {
            let mut conns = self.conns.lock();
            if let Some(t) = conns.iter_mut().find(|t| socket.is(&t.sock)) {
                change(t)?;
                false
            } else {
                if conns.len() >= MAX_TRACKED {
                    return Err(ENOBUFS);
                }
                let mut t = Tracked {
                    conn: fresh,
                    sock,
                    keys: None,
                    next_try_ms: 0,
                    quiet_until_ms: 0,
                };
                change(&mut t)?;
                conns.push(t, GFP_ATOMIC)?;
                conns.len() == 1
            }
        };
        if first {
            // Moved connections need the packet hooks even without domains.
            if let Err(e) = self.hooks.want(HOOKS_BIT, true) {
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
                if value.is_empty() || value.len() % 8 != 0 || value.len() / 8 > MAX_LFROUTES {
                    return Err(EINVAL);
                }
                let mut pairs = [(0u32, 0u32); MAX_LFROUTES];
                let n = value.len() / 8;
                let local = inet::local_addrs(socket.net, kernel::bindings::AF_INET as i32)?;
                // The home address (on the loopback device, which the list leaves out) is
                // a local address too: its own pair is where its connection fails back to.
                let home = {
                    let guard = rcu::read_lock();
                    self.v4.snapshot(&guard).own_home
                };
                for (pair, octets) in pairs.iter_mut().zip(value.chunks_exact(8)) {
                    let src = u32::from_be_bytes([octets[0], octets[1], octets[2], octets[3]]);
                    let dst = u32::from_be_bytes([octets[4], octets[5], octets[6], octets[7]]);
                    if Some(src) != home && !local.iter().any(|(a, _)| a[..4] == src.to_be_bytes())
                    {
                        return Err(EADDRNOTAVAIL);
                    }
                    *pair = (src, dst);
                }
                let routes = Routes::new(&pairs[..n]).ok_or(EINVAL)?;
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
                let stat = match value {
                    [a, b, c, d] => u32::from_ne_bytes([*a, *b, *c, *d]),
                    _ => return Err(EINVAL),
                };
                let stat = match stat {
                    0 => STAT_DO_NOT_ALTER,
                    1 => STAT_ALTER,
                    _ => return Err(EINVAL),
                };
                self.with_conn(socket, |t| {
                    t.conn.stat = stat;
                    Ok(())
                })
            }
            SO_SEQPARAM => {
                if value.len() != SEQPARAM_LEN || value[1] > 1 || value[2..4] != [0, 0] {
                    return Err(EINVAL);
                }
                let is_client = value[1] == 1;
                let keys = match value[0] {
                    SEQPARAM_TLS12 => {
                        let master: &[u8; MASTER_SECRET_LEN] =
                            value[4..52].try_into().map_err(|_| EINVAL)?;
                        let client: &[u8; RANDOM_LEN] =
                            value[52..84].try_into().map_err(|_| EINVAL)?;
                        let server: &[u8; RANDOM_LEN] =
                            value[84..116].try_into().map_err(|_| EINVAL)?;
                        Keys::from_tls12(master, client, server, is_client)
                    }
                    SEQPARAM_EXPORTER => {
                        let block: &[u8; KEY_BLOCK_LEN] =
                            value[116..].try_into().map_err(|_| EINVAL)?;
                        Keys::from_key_block(block, is_client)
                    }
                    _ => return Err(EINVAL),
                };
                let mut keys = Some(KeySet::new(&keys)?);
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
        let mut out = [0u8; LFROUTES_LEN];
        {
            let conns = self.conns.lock();
            let t = conns.iter().find(|t| socket.is(&t.sock)).ok_or(ENOENT)?;
            let routes = t.conn.routes.as_slice();
            out[0] = t.conn.stat;
            out[1] = routes.len() as u8;
            out[2] = t.conn.in_use_index();
            out[3] = t.conn.switches.min(255) as u8;
            for (i, (src, dst)) in routes.iter().enumerate() {
                out[4 + 8 * i..8 + 8 * i].copy_from_slice(&src.to_be_bytes());
                out[8 + 8 * i..12 + 8 * i].copy_from_slice(&dst.to_be_bytes());
            }
        }
        let mut writer = buf.writer();
        let len = writer.len().min(LFROUTES_LEN);
        writer.write_slice(&out[..len])?;
        Ok(len)
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
            "switchover tracked {} moved {} requests {} answers {} switched {} refused {} gave_up {} limited {}\n",
            tracked,
            moved,
            c.requests.load(Ordering::Relaxed),
            c.answers.load(Ordering::Relaxed),
            c.switched.load(Ordering::Relaxed),
            c.refused.load(Ordering::Relaxed),
            c.gave_up.load(Ordering::Relaxed),
            c.limited.load(Ordering::Relaxed)
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
    }
}

impl Tick for Switchover {
    fn tick(&self) {
        let now = now_ms();
        let mut chores = Chores::default();
        let inbox = core::mem::take(&mut *self.inbox.lock());
        let (next, empty) = {
            let mut conns = self.conns.lock();
            for incoming in inbox.iter() {
                self.handle(&mut conns, incoming, &mut chores);
            }
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
                    let _ = chores.forget.push(t, GFP_ATOMIC);
                }
            }
            self.recount(&conns);
            (next, conns.is_empty())
        };
        drop(inbox);
        let net = self.net.get();
        for out in chores.send.iter() {
            // Over the limit: a request goes again at its next retry, an answer when the
            // peer repeats its request.
            if !self.within_limit(out.dst, now, |l| &mut l.sent) {
                continue;
            }
            if let Err(e) = inet::send_icmp4(net, out.src, out.dst, 0, &out.message) {
                if net_ratelimit() {
                    pr_warn!(
                        "switchover: could not send to {}: {:?}\n",
                        ipv4::dotted(out.dst, &mut [0; 16]),
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
                let _ = self.hooks.want(HOOKS_BIT, false);
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

/// One knob of the switchover.
pub(crate) struct LfKnob {
    state: Arc<Switchover>,
    field: LfField,
}

impl LfKnob {
    /// Registers `net.ipv4.sitemh_lf.{retries,retry_ms,failback_ms,peer_rate,peer_burst}`.
    pub(crate) fn register(net: &Net, state: &Arc<Switchover>) -> Result<NetSysctlText<LfKnob>> {
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
                        state: state.clone(),
                        field,
                    },
                ),
                GFP_KERNEL,
            )?;
        }
        NetSysctlText::register(net, c"net/ipv4/sitemh_lf", knobs)
    }

    fn value(&self) -> u32 {
        let atomic = match self.field {
            LfField::Retries => &self.state.retries,
            LfField::RetryMs => &self.state.retry_ms,
            LfField::FailbackMs => &self.state.failback_ms,
            LfField::PeerRate => return self.state.limits.lock().rate,
            LfField::PeerBurst => return self.state.limits.lock().burst,
        };
        atomic.load(Ordering::Relaxed)
    }

    fn set(&self, v: u32) {
        let atomic = match self.field {
            LfField::Retries => &self.state.retries,
            LfField::RetryMs => &self.state.retry_ms,
            LfField::FailbackMs => &self.state.failback_ms,
            LfField::PeerRate | LfField::PeerBurst => {
                // New limits start with full buckets.
                let mut limits = self.state.limits.lock();
                *limits = match self.field {
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
        write!(out, "{}", self.value()).map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.state.net.get()) {
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
                self.set(v);
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

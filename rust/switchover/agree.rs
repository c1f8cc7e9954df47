// SPDX-License-Identifier: GPL-2.0

//! Opportunistic protection (issue 19, `net.ipv4.sitemh_lf.auto`, `net.ipv6.sitemh_lf.auto`):
//! every TCP connection this host opens is protected without its application's help.
//!
//! The packet path notes the SYN of each connection a local socket opens (its initial
//! sequence number with it); once the connection is established, the work item tracks it
//! and offers the peer an ephemeral X25519 key (code 12, repeated as route lists are, at
//! most `LIST_TRIES` times). A peer whose module protects connections (its `auto` on)
//! checks that the offer names one of its established connections with the ISN its socket
//! saw (an off-path host cannot know it), tracks the connection, derives the keys and
//! answers with its key and a confirmation (code 13); the offerer checks the confirmation
//! and takes the keys. From then on the connection is protected as one registered with
//! `SITEMH_SO_SEQPARAM`: the route lists follow (`lists.rs`), and a notice moves it. A
//! peer that never answers (no sitemh, or `auto` off) leaves the connection as it was; it
//! is counted (`auto_unanswered`, also when it closes first) and forgotten. Wire format and derivation:
//! `logic/agree.rs`. An application's own keys (`SITEMH_SO_SEQPARAM`) take precedence:
//! they replace agreed ones, and a connection with keys is never offered again.

#![forbid(unsafe_code)]

use core::ops::Range;

use super::{exchange::earliest, *};
use crate::{
    ffi::sock::{
        random_bytes,
        TcpPhase, //
    },
    logic::{
        agree::{
            derive,
            Agreement,
            CODE_KEY_ANSWER,
            CODE_KEY_OFFER,
            CONFIRM_LEN, //
        },
        switchover::{
            LIST_RETRY_MS,
            LIST_TRIES, //
        },
        x25519::{self, KEY_LEN},
    },
};

/// Room for a key offer or answer of either family (an IPv6 answer is the longest).
pub(super) const AGREE_MAX: usize = Agreement::<u128>::ANSWER_LEN;
/// Connections being opened that wait for their offer, at most (SYNs beyond are counted
/// `auto_skipped`: a host opening more at once leaves the rest unprotected).
pub(super) const OPENING_MAX: usize = 256;
/// How long a connection may take to be established before it is given up (ms).
const OPENING_TIMEOUT_MS: u64 = 10_000;
/// How often the work item looks at connections being opened (ms).
const OPENING_POLL_MS: u32 = 20;
/// TCP's protocol number.
const IPPROTO_TCP: u8 = 6;

/// A connection this host is opening: its socket and the initial sequence number of its
/// SYN.
pub(super) struct Opening {
    sock: SockRef,
    isn: u32,
    since_ms: u64,
    /// Queued by `ktls` (`ktls.rs`) rather than by its SYN: its keys come from its kTLS
    /// state, not from an offer.
    ktls: bool,
}

impl Opening {
    /// A connection with kernel TLS, to protect with keys from its kTLS state.
    pub(super) fn ktls(sock: SockRef) -> Self {
        Self {
            sock,
            isn: 0,
            since_ms: now_ms(),
            ktls: true,
        }
    }
}

/// An ephemeral X25519 secret, wiped when it goes.
pub(super) struct Ephemeral([u8; KEY_LEN]);

impl Drop for Ephemeral {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Where a connection's key agreement stands.
pub(super) enum Agreeing {
    /// This end (the one that opened the connection) offered `public`.
    Offered {
        secret: Ephemeral,
        public: [u8; KEY_LEN],
        isn: u32,
        sent: u8,
    },
    /// This end answered the offer of `offer` (repeated if the offer is).
    Answered {
        offer: [u8; KEY_LEN],
        answer: [u8; AGREE_MAX],
        len: usize,
    },
}

/// Whether `t` offered keys (and has no answer yet, if it has no keys).
pub(super) fn offered<A>(t: &Tracked<A>) -> bool {
    matches!(t.agreeing, Some(Agreeing::Offered { sent, .. }) if sent > 0)
}

/// A message of the peer opened under the agreed keys: the peer has them, so our answer
/// is not sent again, and a later copy of its offer is a replay (refused and counted),
/// no longer a retransmission after a lost answer.
pub(super) fn peer_has_keys<A>(t: &mut Tracked<A>) {
    if matches!(t.agreeing, Some(Agreeing::Answered { .. })) {
        t.agreeing = None;
    }
}

/// Whether `message` is a key offer or answer.
pub(super) fn is_agreement(message: &[u8]) -> bool {
    matches!(message.get(1), Some(&(CODE_KEY_OFFER | CODE_KEY_ANSWER)))
}

/// A fresh ephemeral key pair; `None` if the random secret gave no public key (never,
/// for a clamped scalar).
fn key_pair() -> Option<(Ephemeral, [u8; KEY_LEN])> {
    let mut secret = Ephemeral([0; KEY_LEN]);
    random_bytes(&mut secret.0);
    let public = x25519::public_key(&secret.0)?;
    Some((secret, public))
}

/// The cgroup `auto` is limited to (`net.ipv4.sitemh_lf.auto_cgroup`), with its path as
/// written, for reading back.
pub(crate) struct AutoCgroup {
    cgroup: CgroupRef,
    path: KVec<u8>,
}

impl AutoCgroup {
    /// The cgroup at `path` (valid by [`cgroup_path_valid`]) in the writer's cgroup
    /// namespace. Process context.
    pub(super) fn lookup(path: &[u8]) -> Result<Self> {
        let mut text = KVec::with_capacity(path.len() + 1, GFP_KERNEL)?;
        text.extend_from_slice(path, GFP_KERNEL)?;
        text.push(0, GFP_KERNEL)?;
        let cgroup = CgroupRef::lookup(CStr::from_bytes_with_nul(&text).map_err(|_| EINVAL)?)?;
        text.pop();
        Ok(Self { cgroup, path: text })
    }

    /// The path as written.
    pub(super) fn path(&self) -> &[u8] {
        &self.path
    }
}

impl<F: SwitchFamily> Switchover<F> {
    /// Limits `auto` to the sockets of a cgroup (`None`: every socket). The connections
    /// tracked already stay.
    pub(super) fn set_auto_cgroup(&self, cgroup: Option<Arc<AutoCgroup>>) {
        // The old one's reference goes outside the lock.
        let old = core::mem::replace(&mut *self.auto_cgroup.lock(), cgroup);
        drop(old);
    }

    /// The cgroup `auto` is limited to.
    pub(super) fn auto_cgroup(&self) -> Option<Arc<AutoCgroup>> {
        self.auto_cgroup.lock().clone()
    }

    /// Whether `auto` protects `sock`'s connection as far as its cgroup goes. Process
    /// context.
    fn auto_cgroup_allows(&self, sock: &SockRef) -> bool {
        match self.auto_cgroup.lock().as_ref() {
            None => true,
            Some(limit) => sock.in_cgroup(&limit.cgroup),
        }
    }

    /// `auto` on or off.
    pub(super) fn set_auto(&self, on: bool) {
        self.auto.store(u32::from(on), Ordering::Relaxed);
        self.watch_changed();
    }

    /// Limits `auto` to the service ports `ports` (none: every port).
    pub(super) fn set_auto_ports(&self, ports: &PortRanges) {
        for (slot, packed) in self.auto_ports.iter().zip(ports.packed()) {
            slot.store(packed, Ordering::Relaxed);
        }
    }

    /// The service ports `auto` is limited to.
    pub(super) fn auto_ports(&self) -> PortRanges {
        PortRanges::from_packed(&core::array::from_fn(|i| {
            self.auto_ports[i].load(Ordering::Relaxed)
        }))
    }

    /// Whether `auto` protects connections to service port `port`. (A write of the knob
    /// racing with this may be seen half done: a SYN then goes by the old or new ports.)
    fn auto_port_allowed(&self, port: u16) -> bool {
        PortRanges::packed_allows(
            self.auto_ports.iter().map(|p| p.load(Ordering::Relaxed)),
            port,
        )
    }

    /// Whether `auto` or `ktls` has the packet hooks watch the connections this host's
    /// sockets open.
    pub(super) fn watches(&self) -> bool {
        self.auto.load(Ordering::Relaxed) != 0 || self.ktls.load(Ordering::Relaxed) != 0
    }

    /// `auto` or `ktls` changed: the packet hooks are wanted while either is on (they see
    /// the SYNs and the kTLS sockets' packets).
    pub(super) fn watch_changed(&self) {
        let _membership = self.membership.lock();
        if self.watches() {
            if let Err(e) = self.hooks.want(F::SWITCH_HOOKS_BIT, true) {
                pr_warn!("switchover: auto/ktls: no packet hooks ({:?})\n", e);
            }
        } else if self.conns.lock().is_empty() {
            let _ = self.hooks.want(F::SWITCH_HOOKS_BIT, false);
        }
    }

    /// The packet path (LOCAL_OUT): a SYN a local TCP socket sends opens a connection to
    /// protect; it is queued (with its ISN) for the work item.
    pub(super) fn note_syn(&self, packet: &Packet<'_>) {
        let mut tcp = [0u8; 14];
        if F::tcp_header(packet, &mut tcp) < tcp.len() {
            return;
        }
        // SYN without ACK: the connecting end's first segment (or its retransmission).
        if tcp[13] & 0x12 != 0x02 {
            return;
        }
        // Limited to some services: the SYN's destination port is the service's.
        if !self.auto_port_allowed(u16::from_be_bytes([tcp[2], tcp[3]])) {
            return;
        }
        let isn = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
        let Some(sock) = packet.tcp_sock() else {
            return;
        };
        let _ = self.queue_opening(Opening {
            sock,
            isn,
            since_ms: now_ms(),
            ktls: false,
        });
    }

    /// The packet path: queues `opening` for the work item (into room it made), unless
    /// its socket is queued already; false if the queue was full.
    pub(super) fn queue_opening(&self, opening: Opening) -> bool {
        let id = opening.sock.id();
        let (queued, refused) = {
            let mut queue = self.opening.lock();
            if queue.iter().any(|o| o.sock.id() == id) {
                // A retransmitted SYN (or another packet of a kTLS socket): queued already.
                (true, Some(opening))
            } else {
                match queue.push_within_capacity(opening) {
                    Ok(()) => (true, None),
                    Err(PushError(o)) => {
                        self.counters.auto_skipped.fetch_add(1, Ordering::Relaxed);
                        (false, Some(o))
                    }
                }
            }
        };
        // The socket's reference goes outside the lock (never the last: the packet holds
        // one).
        drop(refused);
        self.arm(OPENING_POLL_MS);
        queued
    }

    /// The work item: connections this host opened that are established now are tracked
    /// and get their offer; those still connecting wait (up to `OPENING_TIMEOUT_MS`).
    pub(super) fn take_up_opened(&self, now: u64) {
        if self.opening.lock().is_empty() {
            return;
        }
        let Ok(fresh) = KVec::with_capacity(OPENING_MAX, GFP_KERNEL) else {
            return;
        };
        let queued = core::mem::replace(&mut *self.opening.lock(), fresh);
        if queued.is_empty() {
            return;
        }
        let mut waiting = KVec::<Opening>::new();
        for o in queued {
            if o.ktls {
                self.protect_ktls(o.sock, now);
                continue;
            }
            match o.sock.tcp_phase() {
                TcpPhase::Established => self.offer_for(o, now),
                TcpPhase::Connecting if now < o.since_ms + OPENING_TIMEOUT_MS => {
                    let _ = waiting.push(o, GFP_KERNEL);
                }
                _ => {}
            }
        }
        if waiting.is_empty() {
            return;
        }
        // What finds no room (SYNs may have filled the queue meanwhile) is given up, its
        // socket reference dropped outside the lock: room for all of it is made first.
        let Ok(mut left) = KVec::<Opening>::with_capacity(waiting.len(), GFP_KERNEL) else {
            return;
        };
        {
            let mut queue = self.opening.lock();
            for o in waiting {
                if let Err(PushError(o)) = queue.push_within_capacity(o) {
                    let _ = left.push_within_capacity(o);
                }
            }
        }
        drop(left);
        self.arm(OPENING_POLL_MS);
    }

    /// Tracks the established connection `o` with a fresh key offer, due at once.
    fn offer_for(&self, o: Opening, now: u64) {
        if self.auto.load(Ordering::Relaxed) == 0 || !self.auto_cgroup_allows(&o.sock) {
            return;
        }
        let Ok(tuple) = F::tuple(&o.sock) else {
            return;
        };
        if tuple.proto != IPPROTO_TCP {
            return;
        }
        let Some((secret, public)) = key_pair() else {
            return;
        };
        let own = IdPcb::of_tuple(&tuple);
        let Some(routes) = Routes::new(&[(own.laddr, own.faddr)]) else {
            return;
        };
        let mut conn = Conn::new(own, routes);
        conn.stat = STAT_DO_NOT_ALTER;
        let mut t = Tracked::new(conn, o.sock);
        t.agreeing = Some(Agreeing::Offered {
            secret,
            public,
            isn: o.isn,
            sent: 0,
        });
        t.agree_due_ms = now;
        if self.track_new(t).is_err() {
            self.counters.auto_skipped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds `t` to the table (within the namespace's and its owner's quota); not if its
    /// socket is tracked already.
    pub(super) fn track_new(&self, t: Tracked<F::Addr>) -> Result {
        let quota = self.user_quota.load(Ordering::Relaxed) as usize;
        let _membership = self.membership.lock();
        self.reserve_one()?;
        let refused = {
            let mut conns = self.conns.lock();
            let id = t.sock.id();
            if Self::slot_of_sock(&conns, id).is_some() {
                Err((t, EEXIST))
            } else if conns.len() >= MAX_TRACKED || conns.user_count(t.uid) >= quota {
                Err((t, ENOBUFS))
            } else {
                conns.insert(t).map(|_| ()).map_err(|t| (t, ENOMEM))
            }
        };
        // A refused connection's socket reference goes outside the lock.
        match refused {
            Ok(()) => {
                let _ = self.hooks.want(F::SWITCH_HOOKS_BIT, true);
                self.arm(0);
                Ok(())
            }
            Err((t, e)) => {
                drop(t);
                Err(e)
            }
        }
    }

    /// Under the lock: sends the offers due in the slots `range`, and gives up on those
    /// never answered (the connection is forgotten, counted `auto_unanswered`). Returns
    /// when the next falls due.
    pub(super) fn carry_offers(
        &self,
        conns: &mut Table<Tracked<F::Addr>>,
        range: Range<usize>,
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) -> Option<u64> {
        let mut next: Option<u64> = None;
        for at in range {
            let Some(t) = conns.get_mut(at) else {
                continue;
            };
            if t.keys.is_some() || t.agree_due_ms > now {
                if t.keys.is_none() && t.agreeing.is_some() {
                    next = earliest(next, Some(t.agree_due_ms));
                }
                continue;
            }
            let pcb = t.conn.wire_pcb();
            let (src, dst) = t.conn.current();
            let Some(Agreeing::Offered {
                public, isn, sent, ..
            }) = t.agreeing.as_mut()
            else {
                continue;
            };
            if *sent >= LIST_TRIES {
                self.counters
                    .auto_unanswered
                    .fetch_add(1, Ordering::Relaxed);
                if let Some(t) = conns.remove(at) {
                    chores.forget(t);
                }
                continue;
            }
            let offer = Agreement {
                code: CODE_KEY_OFFER,
                pcb,
                isn: *isn,
                public: *public,
                confirm: [0; CONFIRM_LEN],
            };
            let mut out = RawOutgoing {
                src,
                dst,
                len: 0,
                message: [0; AGREE_MAX],
            };
            out.len = offer.write(F::icmp_type(), F::VERIFY_CHECKSUM, &mut out.message);
            let interval = LIST_RETRY_MS << (*sent).min(5);
            *sent += 1;
            t.agree_due_ms = now + interval;
            next = earliest(next, Some(t.agree_due_ms));
            if chores.send_raw(out) {
                self.counters.auto_offers.fetch_add(1, Ordering::Relaxed);
            }
        }
        next
    }

    /// Counts and logs an agreement message refused.
    fn refuse_agreement(&self, src: F::Addr, why: &str) {
        self.counters.auto_refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "switchover: refusing a key agreement message from {}: {}\n",
                F::shown(src, &mut [0; 48]),
                why
            );
        }
    }

    /// The packet path: a key offer or answer for this host, queued for the work item
    /// within its sender's rate limit (`auto` off: offers are not answered).
    pub(super) fn receive_agreement(&self, src: F::Addr, message: &[u8]) -> Verdict {
        let Ok(agreement) =
            Agreement::<F::Addr>::parse(F::icmp_type(), message, F::VERIFY_CHECKSUM)
        else {
            self.refuse_agreement(src, "malformed");
            return Verdict::Drop(EINVAL);
        };
        if agreement.code == CODE_KEY_OFFER && self.auto.load(Ordering::Relaxed) == 0 {
            return Verdict::Drop(EINVAL);
        }
        // Rate-limited as the messages about one connection are: keyed by its ports, kept
        // apart from sockets' identities (never this large).
        let key = usize::MAX - ports_hash(agreement.pcb.lport, agreement.pcb.fport) as usize;
        if !self.within_limit(key, src, now_ms(), |l| &mut l.received) {
            return Verdict::Drop(EINVAL);
        }
        if !self.queue_incoming(src, key, message) {
            self.counters.auto_refused.fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Drop(EINVAL)
    }

    /// The work item: the key offers and answers of `inbox`.
    pub(super) fn handle_agreements(
        &self,
        inbox: &[Incoming<F::Addr>],
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) {
        for incoming in inbox {
            let Some(message) = incoming.message.get(..incoming.len) else {
                continue;
            };
            if !is_agreement(message) {
                continue;
            }
            let Ok(agreement) =
                Agreement::<F::Addr>::parse(F::icmp_type(), message, F::VERIFY_CHECKSUM)
            else {
                continue;
            };
            let result = if agreement.code == CODE_KEY_OFFER {
                self.answer_offer(incoming.src, &agreement, now, chores)
            } else {
                self.take_answer(incoming.src, &agreement, now)
            };
            if let Err(why) = result {
                self.refuse_agreement(incoming.src, why);
            }
        }
    }

    /// The slot of the tracked connection of `sock`.
    fn slot_of_sock(conns: &Table<Tracked<F::Addr>>, id: usize) -> Option<usize> {
        conns
            .chain(BY_SOCK, sock_hash(id))
            .find(|&at| conns.get(at).is_some_and(|t| t.sock.id() == id))
    }

    /// An offer from `src`: answered if it names one of this host's established TCP
    /// connections, from the connection's peer, with the ISN the socket saw.
    fn answer_offer(
        &self,
        src: F::Addr,
        offer: &Agreement<F::Addr>,
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) -> core::result::Result<(), &'static str> {
        // Not answered, as with `auto` off, for a service `auto` is not limited to (the
        // offer's peer port is this end's).
        if self.auto.load(Ordering::Relaxed) == 0 || !self.auto_port_allowed(offer.pcb.fport) {
            return Ok(());
        }
        let (sock, own) = self.offered_connection(src, offer)?;
        // Nor for a socket outside the cgroup `auto` is limited to.
        if !self.auto_cgroup_allows(&sock) {
            return Ok(());
        }
        if let Some(done) = self.answered_before(&sock, offer, own.laddr, src, chores) {
            return done;
        }
        let (secret, public) = key_pair().ok_or("no key pair")?;
        let derived = derive(
            &secret.0,
            &offer.public,
            &offer.public,
            &public,
            &offer.pcb,
            offer.isn,
        )
        .ok_or("the offered key gives no shared secret")?;
        drop(secret);
        let keys = Keys::from_key_block(&derived.block, false);
        let keys = Arc::new(
            KeySet::new(&keys).map_err(|_| "no memory")?,
            GFP_KERNEL_ACCOUNT,
        )
        .map_err(|_| "no memory")?;
        let answer = Agreement {
            code: CODE_KEY_ANSWER,
            pcb: offer.pcb,
            isn: offer.isn,
            public,
            confirm: derived.confirmation(&offer.public, &public),
        };
        let mut message = [0u8; AGREE_MAX];
        let len = answer.write(F::icmp_type(), F::VERIFY_CHECKSUM, &mut message);
        let routes = Routes::new(&[(own.laddr, own.faddr)]).ok_or("routes")?;
        let mut t = Tracked::new(Conn::new(own, routes), sock);
        t.keys = Some(keys);
        t.carried = Some(Carried::new());
        t.list_due_ms = now + LIST_FIRST_MS;
        t.agreeing = Some(Agreeing::Answered {
            offer: offer.public,
            answer: message,
            len,
        });
        if self.track_new(t).is_err() {
            self.counters.auto_skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        self.carries_lists.store(true, Ordering::Relaxed);
        self.counters.auto_protected.fetch_add(1, Ordering::Relaxed);
        chores.send_raw(RawOutgoing {
            src: own.laddr,
            dst: src,
            len,
            message,
        });
        Ok(())
    }

    /// The established TCP connection an offer from `src` names, and the connection as
    /// this end names it: the offer must come from the connection's peer and carry the
    /// ISN this end's socket saw.
    fn offered_connection(
        &self,
        src: F::Addr,
        offer: &Agreement<F::Addr>,
    ) -> core::result::Result<(SockRef, IdPcb<F::Addr>), &'static str> {
        let pcb = &offer.pcb;
        if pcb.proto != IPPROTO_TCP || src != pcb.laddr {
            return Err("not from the offering end of a TCP connection");
        }
        let ours = Tuple {
            proto: IPPROTO_TCP,
            saddr: pcb.faddr,
            sport: pcb.fport,
            daddr: pcb.laddr,
            dport: pcb.lport,
        };
        let sock =
            F::established(self.net.get(), &ours).ok_or("names no established connection")?;
        if sock.peer_isn() != offer.isn {
            return Err("wrong initial sequence number (an off-path forgery?)");
        }
        Ok((sock, pcb.reversed()))
    }

    /// If the connection of `sock` is tracked already: the same answer again for a
    /// repeated offer (ours was lost), from `local` to `src`; a refusal for any other.
    fn answered_before(
        &self,
        sock: &SockRef,
        offer: &Agreement<F::Addr>,
        local: F::Addr,
        src: F::Addr,
        chores: &mut Chores<F::Addr>,
    ) -> Option<core::result::Result<(), &'static str>> {
        let conns = self.conns.lock();
        let t = Self::slot_of_sock(&conns, sock.id()).and_then(|at| conns.get(at))?;
        Some(match &t.agreeing {
            Some(Agreeing::Answered {
                offer: key,
                answer,
                len,
            }) if *key == offer.public => {
                chores.send_raw(RawOutgoing {
                    src: local,
                    dst: src,
                    len: *len,
                    message: *answer,
                });
                Ok(())
            }
            _ if t.keys.is_some() => Err("the connection is protected already"),
            _ => Err("the connection is being registered"),
        })
    }

    /// An answer from `src` to one of our offers: its confirmation must check; then the
    /// connection has its keys.
    fn take_answer(
        &self,
        src: F::Addr,
        answer: &Agreement<F::Addr>,
        now: u64,
    ) -> core::result::Result<(), &'static str> {
        let pcb = &answer.pcb;
        // What the offer needs, copied out of the lock (the secret wiped after).
        let found = {
            let guard = self.conns.lock();
            let conns: &Table<Tracked<F::Addr>> = &guard;
            let found = conns
                .chain(BY_PORTS, ports_hash(pcb.lport, pcb.fport))
                .filter_map(|at| conns.get(at))
                .find(|t| t.conn.tuple == *pcb && t.keys.is_none())
                .and_then(|t| match &t.agreeing {
                    Some(Agreeing::Offered {
                        secret,
                        public,
                        isn,
                        ..
                    }) => Some((t.sock.id(), Ephemeral(secret.0), *public, *isn)),
                    _ => None,
                });
            found
        };
        let Some((id, secret, public, isn)) = found else {
            // A late copy after the keys were agreed is no forgery; anything else names
            // no offer of ours.
            return Err("answers no offer of ours");
        };
        if src != pcb.faddr {
            return Err("not from the connection's peer");
        }
        if answer.isn != isn {
            return Err("wrong initial sequence number");
        }
        let derived = derive(&secret.0, &answer.public, &public, &answer.public, pcb, isn)
            .ok_or("the answer's key gives no shared secret")?;
        drop(secret);
        if !derived.confirms(&public, &answer.public, &answer.confirm) {
            return Err("the confirmation does not check");
        }
        let keys = Keys::from_key_block(&derived.block, true);
        let mut keys = Some(
            Arc::new(
                KeySet::new(&keys).map_err(|_| "no memory")?,
                GFP_KERNEL_ACCOUNT,
            )
            .map_err(|_| "no memory")?,
        );
        let old = {
            let mut conns = self.conns.lock();
            let at = Self::slot_of_sock(&conns, id).ok_or("the connection is gone")?;
            let t = conns.get_mut(at).ok_or("the connection is gone")?;
            if t.keys.is_some() {
                return Ok(());
            }
            t.keys = keys.take();
            t.conn.stat = STAT_ALTER;
            if !t.routes_set && t.carried.is_none() {
                t.carried = Some(Carried::new());
                t.list_due_ms = now + LIST_FIRST_MS;
            }
            // The secret is wiped outside the lock.
            t.agreeing.take()
        };
        drop(old);
        self.carries_lists.store(true, Ordering::Relaxed);
        self.counters.auto_protected.fetch_add(1, Ordering::Relaxed);
        self.arm(LIST_FIRST_MS as u32);
        Ok(())
    }
}

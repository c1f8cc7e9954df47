// SPDX-License-Identifier: GPL-2.0

//! The packet path: exchange messages queued from LOCAL_IN, and the translation of a moved
//! connection's packets (and the ICMP errors about them) between the socket's own tuple
//! and the pair on the wire.

#![forbid(unsafe_code)]

use super::*;

impl<A: Copy + Eq> PeerLimits<A> {
    pub(super) const fn new(rate: u32, burst: u32) -> Self {
        Self {
            received: PeerLimiter::new(rate, burst),
            sent: PeerLimiter::new(rate, burst),
            rate,
            burst,
        }
    }
}

impl<A> MovedView<A> {
    pub(super) fn empty() -> Self {
        Self {
            entries: KVVec::new(),
            index: KVVec::new(),
        }
    }
}

impl<A: WireAddr> MovedEntry<A> {
    /// Whether the packet path would treat `other` as it treats this entry.
    pub(super) fn same_as(&self, other: &MovedEntry<A>) -> bool {
        let (a, b) = (&self.conn, &other.conn);
        self.sock.id() == other.sock.id()
            && a.tuple == b.tuple
            && a.routes == b.routes
            && a.in_use == b.in_use
            && a.pending.map(|p| p.route) == b.pending.map(|p| p.route)
            && a.left == b.left
    }
}

impl<F: SwitchFamily> Switchover<F> {
    /// A sealed message (codes 3, 4, 10, 11) for this host (LOCAL_IN): queued for the work item if its clear
    /// part names a tracked connection with keys and it comes from one of that
    /// connection's peers, within the connection's rate limit and share of the queue.
    /// Everything else is garbage, refused here: it takes no room from real messages.
    pub(crate) fn receive(&self, src: F::Addr, message: &[u8]) -> Verdict {
        if agree::is_agreement(message) {
            return self.receive_agreement(src, message);
        }
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
        if !self.queue_incoming(src, conn, message) {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Drop(EINVAL)
    }

    /// Queues `message` from `src` about connection `conn` (a [`SockRef::id`], or a key
    /// of its own for agreement messages) for the work item, within the inbox's room
    /// and the connection's share of it; false if it was not queued.
    pub(super) fn queue_incoming(&self, src: F::Addr, conn: usize, message: &[u8]) -> bool {
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
            inbox.len() < inbox.capacity()
                && inbox.iter().filter(|m| m.conn == conn).count() < INBOX_PER_CONN
                && inbox.push_within_capacity(incoming).is_ok()
        };
        if queued {
            self.arm(0);
        }
        queued
    }

    /// The clear part of a code 3/4 message of this family's exact length, if it checks.
    pub(super) fn clear_part(message: &[u8]) -> Option<Sealed<F::Addr>> {
        parse_sealed::<F::Addr>(F::icmp_type(), message, F::VERIFY_CHECKSUM).ok()
    }

    /// The connection a message names, as this end names it: a request (or a route
    /// list) names it as the peer sees it, an answer as we do.
    pub(super) fn as_we_name_it(sealed: &Sealed<F::Addr>) -> IdPcb<F::Addr> {
        if matches!(sealed.code, CODE_SET_ALT_ROUTE | CODE_ROUTE_LIST) {
            sealed.pcb.reversed()
        } else {
            sealed.pcb
        }
    }

    /// Whether a message naming `ours` from `src` may be about `t`: the connection is
    /// open, named so, and `src` is one of its peers.
    pub(super) fn may_be_from(t: &Tracked<F::Addr>, ours: &IdPcb<F::Addr>, src: F::Addr) -> bool {
        !t.sock.closed() && t.conn.is_named_by(ours) && t.conn.is_peer(src)
    }

    /// Whether one more message keyed `key` (to or from `peer`) is within its rate limit
    /// (counted if not).
    pub(super) fn within_limit<K: Copy + Eq>(
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
    pub(super) fn find_live<R>(
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
    pub(super) fn on_wire_ok(
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
    pub(super) fn still_local(&self, net: &Net, addr: F::Addr) -> bool {
        if F::is_local(net, addr) {
            return true;
        }
        let guard = rcu::read_lock();
        self.domains.snapshot(&guard).own_home == Some(addr)
    }

    /// Whether the connection at `at` may move to the wire pair (`local`, `peer`):
    /// [`Switchover::on_wire_ok`], and no other tracked connection uses that pair with the
    /// same ports or is moving onto it (their packets could not be told apart).
    pub(super) fn claimable(
        &self,
        conns: &Table<Tracked<F::Addr>>,
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
        // Only a connection with the same ports can claim the same wire tuple.
        self.on_wire_ok(&t.sock, &t.conn, local, peer)
            && !conns
                .chain(BY_PORTS, ports_hash(c.lport, c.fport))
                .filter(|&i| i != at)
                .filter_map(|i| conns.get(i))
                .any(|other| {
                    !other.sock.closed()
                        && other.conn.claims(c.proto, local, peer, c.lport, c.fport)
                })
    }

    /// Outgoing packets of moved connections get the pair in use (LOCAL_OUT); with
    /// `auto`, the SYNs of connections this host opens are noted.
    pub(crate) fn egress(&self, packet: &mut Packet<'_>) -> Verdict {
        if self.auto.load(Ordering::Relaxed) != 0 {
            self.note_syn(packet);
        }
        if self.ktls.load(Ordering::Relaxed) != 0 {
            self.note_ktls(packet);
        }
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
        match pair.map(|(s, d)| packet.translate(s, d, true)) {
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
        match pair.map(|(s, d)| packet.translate(s, d, false)) {
            Some(Err(e)) => Verdict::Drop(e),
            _ => Verdict::Accept,
        }
    }

    /// An ICMP error about a packet a moved connection sent over its new pair (a router on
    /// that path needing a smaller MTU, say): the quote is given the socket's own pair, or
    /// the socket would never hear of it (a black hole for path MTU discovery).
    pub(super) fn ingress_icmp_error(&self, packet: &mut Packet<'_>) -> Verdict {
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

    pub(super) fn refuse(&self, src: F::Addr, why: &str) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "switchover: refusing a message from {}: {}\n",
                F::shown(src, &mut [0; 48]),
                why
            );
        }
    }

    /// Whether a packet with local port `lport` and peer port `fport` may belong to a
    /// connection that moved (else it needs no look-up).
    pub(super) fn may_have_moved(&self, lport: u16, fport: u16) -> bool {
        if self.moved.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let bit = port_filter_bit(lport, fport);
        self.moved_ports
            .get(bit / 64)
            .is_some_and(|word| word.load(Ordering::Relaxed) & (1 << (bit % 64)) != 0)
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The per-connection state of the draft's switchover (section 2.1.2: the `inpcb` fields
//! `inp_lf_routes`, `inp_lf_stat`, `inp_seq_params`) and the decisions taken on it.
//!
//! A connection keeps its own addresses (the socket's tuple) for its whole life; when it
//! moves, the module translates the addresses of its packets to the pair in use and back
//! (SHIM6 style). So a connection is named by three things:
//!
//! - its tuple: what the socket and the application see;
//! - its routes: every (local, peer) pair it may use, best first, as the application set
//!   them with `SO_LFROUTES`;
//! - the pair in use on the wire: the tuple's own pair, or one of the routes.
//!
//! The exchange: the end that learns of a failure picks an alternate route and sends
//! `SET_ALT_ROUTE` (it is then *pending*); the peer checks the route is one of its own
//! routes, moves, and answers `ALT_ROUTE_ESTABLISHED`; the first end moves when the answer
//! arrives. While pending, packets arriving on the proposed pair are translated already:
//! the peer may use it before its answer arrives, and a segment for an unknown tuple would
//! draw a reset.

use super::{
    linkfail::{
        AddrList,
        AltRoute,
        IdPcb,
        ReplayWindow,
        CODE_ALT_ROUTE_ESTABLISHED,
        CODE_SET_ALT_ROUTE, //
    },
    prefix::WireAddr,
    select::{
        PathAttrs,
        Service, //
    },
};

/// How a connection that must move orders its candidate routes (draft 2.1.2: "for best
/// effort traffic route is selected by sending echo messages and calculating round trip
/// delay; for the rest it follows the approach stated in section 2.1.1"). Best effort: by
/// the round trip its echo probes measured, `rtt_us` (0: not measured, or no answer: last).
/// Low latency (the socket's TOS, [`Service::of_tos`]): section 2.1.1's ranking, the
/// measured one-way latency or else the configured one of the local address's provider
/// (`attrs`), then the fewest hops, unknown last. The smaller key first; among equal keys
/// the application's order stands.
pub(crate) fn candidate_key(service: Service, rtt_us: u32, attrs: &PathAttrs) -> (u64, u64) {
    let unknown_last = |v: u32| if v == 0 { u64::MAX } else { u64::from(v) };
    match service {
        Service::BestEffort => (unknown_last(rtt_us), 0),
        Service::LowLatency => {
            let latency_us = if rtt_us > 0 {
                rtt_us.div_ceil(2)
            } else {
                attrs.latency_us
            };
            (unknown_last(latency_us), unknown_last(attrs.hops))
        }
    }
}

/// The most routes a connection may have (`SITEMH_MAX_LFROUTES`).
pub(crate) const MAX_LFROUTES: usize = 16;

/// Bits of the filter that lets a packet of a connection that never moved skip the look-up
/// through every tracked connection.
pub(crate) const PORT_FILTER_BITS: usize = 4096;

/// The filter bit of a connection with local port `lport` and peer port `fport`
/// (multiplicative hashing: the top 12 bits of the product).
pub(crate) fn port_filter_bit(lport: u16, fport: u16) -> usize {
    let key = (u32::from(lport) << 16) | u32::from(fport);
    (key.wrapping_mul(0x9e37_79b1) >> 20) as usize
}

/// Slots of the index of moved connections by ports ([`port_index_insert`]) for `moved`
/// of them: a power of two, at most half full, so that probe runs stay short.
pub(crate) fn port_index_slots(moved: usize) -> usize {
    moved.saturating_mul(2).next_power_of_two().max(16)
}

/// Where the probe for (`lport`, `fport`) starts in an index of `slots` slots (a power of
/// two): the top bits of the same multiplicative hash as the filter's.
fn port_index_home(lport: u16, fport: u16, slots: usize) -> usize {
    let key = (u32::from(lport) << 16) | u32::from(fport);
    let bits = slots.trailing_zeros().clamp(1, 31);
    (key.wrapping_mul(0x9e37_79b1) >> (32 - bits)) as usize & (slots - 1)
}

/// Records in `slots` (open addressing, linear probing; 0 is an empty slot, else the
/// position plus one) that the connection at `position` has ports (`lport`, `fport`).
/// False if it cannot: the table is full, not a power of two long, or the position does
/// not fit.
pub(crate) fn port_index_insert(
    slots: &mut [u32],
    lport: u16,
    fport: u16,
    position: usize,
) -> bool {
    let Some(value) = position.checked_add(1).and_then(|v| u32::try_from(v).ok()) else {
        return false;
    };
    let len = slots.len();
    if !len.is_power_of_two() {
        return false;
    }
    let mut at = port_index_home(lport, fport, len);
    for _ in 0..len {
        if let Some(slot) = slots.get_mut(at) {
            if *slot == 0 {
                *slot = value;
                return true;
            }
        }
        at = (at + 1) & (len - 1);
    }
    false
}

/// The positions that may hold the connection with ports (`lport`, `fport`): the run of
/// occupied slots from where its probe starts. Every connection inserted with those ports
/// is among them; so may be others, which the caller tells apart by their tuple.
pub(crate) fn port_index_candidates(
    slots: &[u32],
    lport: u16,
    fport: u16,
) -> impl Iterator<Item = usize> + '_ {
    let len = slots.len();
    let home = if len.is_power_of_two() {
        port_index_home(lport, fport, len)
    } else {
        0
    };
    let run = if len.is_power_of_two() { len } else { 0 };
    (0..run)
        .map(move |i| slots.get((home + i) & (len - 1)).copied().unwrap_or(0))
        .take_while(|&v| v != 0)
        .map(|v| v as usize - 1)
}

/// The routes of a connection whose route lists the module carries (issue 19: registered
/// without `SO_LFROUTES`): the socket's own pair first, then `keep` (the pairs in use,
/// proposed or just left, which must stay routes while the lists change), then every
/// (local, peer) of the two ends' lists in their order, each pair once, at most
/// [`MAX_LFROUTES`]. Four addresses an end (`LIST_MAX`) fill the sixteen.
pub(crate) fn routes_of_lists<B: WireAddr>(
    own: (B, B),
    keep: &[(B, B)],
    locals: &[B],
    peers: &[B],
) -> Routes<B> {
    let mut pairs = [own; MAX_LFROUTES];
    let mut n = 1;
    let cross = locals
        .iter()
        .flat_map(|&local| peers.iter().map(move |&peer| (local, peer)));
    for pair in keep.iter().copied().chain(cross) {
        if n < MAX_LFROUTES && !pairs[..n].contains(&pair) {
            pairs[n] = pair;
            n += 1;
        }
    }
    Routes {
        pairs,
        len: n as u8,
    }
}

/// Transmissions of one route list, at most (sitemh's addition, issue 19).
pub(crate) const LIST_TRIES: u8 = 6;
/// How long after the keys arrive the first list goes (ms): the peer's application sets
/// its keys when its end of the handshake completes, about half a round trip later, and a
/// list arriving before them is refused. An application that calls `SO_LFROUTES` right
/// after `SO_SEQPARAM` (the draft's way) sends none at all.
pub(crate) const LIST_FIRST_MS: u64 = 100;
/// The interval after the first transmission (ms), doubling after each: six cover about
/// six seconds, for a peer whose application is slow to set its keys.
pub(crate) const LIST_RETRY_MS: u64 = 200;

/// The route lists the module carries for a connection registered without `SO_LFROUTES`
/// (issue 19): this end tells the peer its addresses in sealed code 10 messages, until a
/// code 11 answers with the peer's; the routes are the two lists crossed
/// ([`routes_of_lists`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Carried<B> {
    /// This end's addresses as last worked out (empty: not yet).
    pub(crate) own: AddrList<B>,
    /// The peer's, as last heard (empty: not heard yet; the peer's own address stands for
    /// them).
    pub(crate) peer: AddrList<B>,
    /// `own` is not acknowledged yet.
    pub(crate) unacked: bool,
    /// Transmissions of `own` so far.
    pub(crate) sent: u8,
}

impl<B: WireAddr> Carried<B> {
    /// Nothing worked out, nothing heard.
    pub(crate) fn new() -> Self {
        Self {
            own: AddrList::empty(),
            peer: AddrList::empty(),
            unacked: true,
            sent: 0,
        }
    }

    /// This end's addresses are `own` now: whether they changed (and go to the peer again).
    pub(crate) fn set_own(&mut self, own: AddrList<B>) -> bool {
        if own == self.own {
            return false;
        }
        self.own = own;
        self.unacked = true;
        self.sent = 0;
        true
    }

    /// Whether a transmission is due: the list is unacknowledged and tries are left.
    pub(crate) fn wants_sending(&self) -> bool {
        self.unacked && self.sent < LIST_TRIES && !self.own.as_slice().is_empty()
    }

    /// Counts a transmission; returns the interval before the next (ms).
    pub(crate) fn sent_once(&mut self) -> u64 {
        let interval = LIST_RETRY_MS << self.sent.min(5);
        self.sent = self.sent.saturating_add(1);
        interval
    }
}

/// `inp_lf_stat`: never move the connection.
pub(crate) const STAT_DO_NOT_ALTER: u8 = 0;
/// `inp_lf_stat`: move the connection when its path fails.
pub(crate) const STAT_ALTER: u8 = 1;
/// `SITEMH_LFROUTE_OWN`: the connection uses the socket's own addresses.
pub(crate) const ROUTE_OWN: u8 = 0xff;

/// Why a request or an answer was not acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExchangeError {
    /// The encrypted code differs from the header's.
    CodeMismatch,
    /// The proposed pair is not one of this end's routes.
    NotARoute,
    /// The connection must not be moved (`STAT_DO_NOT_ALTER`).
    NotAlterable,
    /// An answer that matches no request of ours.
    Unsolicited,
    /// The proposed pair's local address is in a domain this end knows is down.
    LinkDown,
    /// A request older than one already acted on (a late retransmission).
    Stale,
    /// The proposed pair carries another socket's traffic, or its local address is no
    /// longer this host's: moving there would take what is not this connection's.
    Taken,
    /// Sealed long before the peer's newest accepted message: held back and replayed.
    TooOld,
}

/// How much later than the peer's newest accepted message suggests a message may arrive
/// (ms): the spread of network delays, and more than any retransmission interval.
pub(crate) const FRESH_MS: u64 = 3000;
/// Clock drift tolerated between the two ends, in parts per million of the time since
/// the newest accepted message (monotonic clocks under NTP slew by at most 500).
const DRIFT_PPM: u64 = 1000;

/// The freshness of the peer's messages (sitemh's addition to the draft): each carries the
/// peer's clock when it was sealed. Measured against the newest one accepted, a message
/// that arrives more than [`FRESH_MS`] (plus drift) later than its stamp says is refused:
/// a copy held back by someone on the path cannot be played later within the window of
/// sequence numbers. The first message of a connection has nothing to compare with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Freshness {
    /// The newest stamp accepted and when (this end's clock, ms) it arrived.
    newest: Option<(u64, u64)>,
}

impl Freshness {
    /// Whether a message stamped `stamp` arriving at `now` is fresh enough.
    pub(crate) fn is_fresh(&self, stamp: u64, now: u64) -> bool {
        let Some((seen, at)) = self.newest else {
            return true;
        };
        let elapsed = now.saturating_sub(at);
        // The peer's clock now, as far as the newest message tells.
        let expected = seen.saturating_add(elapsed);
        let lag = expected.saturating_sub(stamp);
        lag <= FRESH_MS.saturating_add(elapsed.saturating_mul(DRIFT_PPM) / 1_000_000)
    }

    /// Records an accepted message.
    pub(crate) fn accept(&mut self, stamp: u64, now: u64) {
        match self.newest {
            Some((seen, _)) if stamp <= seen => {}
            _ => self.newest = Some((stamp, now)),
        }
    }
}

/// The routes of a connection, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Routes<B> {
    pairs: [(B, B); MAX_LFROUTES],
    len: u8,
}

impl<B: WireAddr> Routes<B> {
    /// `pairs` (local, peer), 1..=[`MAX_LFROUTES`] of them; `None` otherwise.
    pub(crate) fn new(pairs: &[(B, B)]) -> Option<Self> {
        let first = *pairs.first()?;
        if pairs.len() > MAX_LFROUTES {
            return None;
        }
        let mut all = [first; MAX_LFROUTES];
        all[..pairs.len()].copy_from_slice(pairs);
        Some(Self {
            pairs: all,
            len: pairs.len() as u8,
        })
    }

    /// The routes as set.
    pub(crate) fn as_slice(&self) -> &[(B, B)] {
        &self.pairs[..usize::from(self.len)]
    }

    /// The index of route (`local`, `peer`).
    pub(crate) fn find(&self, local: B, peer: B) -> Option<u8> {
        self.as_slice()
            .iter()
            .position(|&pair| pair == (local, peer))
            .map(|i| i as u8)
    }
}

/// An exchange this end started and that is not answered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The proposed route.
    pub(crate) route: u8,
    /// Transmissions of `SET_ALT_ROUTE` still allowed.
    pub(crate) tries_left: u8,
}

/// One connection's switchover state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conn<B> {
    /// The socket's own tuple (`laddr`: this end).
    pub(crate) tuple: IdPcb<B>,
    /// `inp_lf_routes`.
    pub(crate) routes: Routes<B>,
    /// `inp_lf_stat`.
    pub(crate) stat: u8,
    /// The route in use on the wire; `None`: the tuple's own pair.
    pub(crate) in_use: Option<u8>,
    /// The exchange in progress, if this end started one.
    pub(crate) pending: Option<Pending>,
    /// Moves so far.
    pub(crate) switches: u32,
    /// The route used before the last move (`None`: the socket's own pair): the peer may
    /// still send on it until it has moved too.
    pub(crate) left: Option<u8>,
    /// This end moved the connection away from its own pair because of a failure: it
    /// (and only it, so the two ends never pull in opposite directions) moves it back.
    pub(crate) fled: bool,
    /// The last sequence number this end sent.
    pub(crate) seq_out: u64,
    /// The peer's sequence numbers seen.
    pub(crate) replay: ReplayWindow,
    /// The sequence number of the last request acted on.
    pub(crate) last_request: u64,
    /// The peer's clock, as its accepted messages tell.
    pub(crate) fresh: Freshness,
    /// Routes proposed and left unanswered (the peer refused them, or never heard), bit
    /// per route: not proposed again until something changes (a notice, or the peer
    /// moving the connection), so that two ends that lost a provider each converge on the
    /// pair that still works instead of proposing pairs the other refuses.
    pub(crate) unanswered: u32,
}

impl<B: WireAddr> Conn<B> {
    /// A connection with its routes, ready to move (`STAT_ALTER`, as `SO_LFROUTES` sets).
    pub(crate) fn new(tuple: IdPcb<B>, routes: Routes<B>) -> Self {
        Self {
            tuple,
            routes,
            stat: STAT_ALTER,
            in_use: None,
            pending: None,
            switches: 0,
            left: None,
            fled: false,
            seq_out: 0,
            replay: ReplayWindow::default(),
            last_request: 0,
            fresh: Freshness::default(),
            unanswered: 0,
        }
    }

    /// The pairs that must stay routes when the routes change: the one in use, the one
    /// proposed and the one left by the last move.
    pub(crate) fn held_pairs(&self) -> [Option<(B, B)>; 3] {
        [self.in_use, self.pending.map(|p| p.route), self.left]
            .map(|r| r.and_then(|r| self.route(r)))
    }

    /// The routes the lists `carried` make for this connection (see [`routes_of_lists`]).
    pub(crate) fn routes_of(&self, carried: &Carried<B>) -> Routes<B> {
        let own = (self.tuple.laddr, self.tuple.faddr);
        let mut keep = [own; 3];
        let mut n = 0;
        for pair in self.held_pairs().into_iter().flatten() {
            keep[n] = pair;
            n += 1;
        }
        let peers = carried.peer.as_slice();
        let fallback = [self.tuple.faddr];
        let peers = if peers.is_empty() {
            &fallback[..]
        } else {
            peers
        };
        let locals = carried.own.as_slice();
        let fallback = [self.tuple.laddr];
        let locals = if locals.is_empty() {
            &fallback[..]
        } else {
            locals
        };
        routes_of_lists(own, &keep[..n], locals, peers)
    }

    /// Replaces the routes by `routes` (the lists the module carries changed), keeping
    /// the pair in use, the one proposed and the one left, whose indexes follow them;
    /// false, changing nothing, if one of them is not among `routes`. Every route may be
    /// proposed again.
    pub(crate) fn adopt_routes(&mut self, routes: Routes<B>) -> bool {
        let remap = |r: Option<u8>| match r {
            None => Some(None),
            Some(r) => {
                let (local, peer) = self.route(r)?;
                routes.find(local, peer).map(Some)
            }
        };
        let (Some(in_use), Some(left), Some(pending)) = (
            remap(self.in_use),
            remap(self.left),
            remap(self.pending.map(|p| p.route)),
        ) else {
            return false;
        };
        self.routes = routes;
        self.in_use = in_use;
        self.left = left;
        if let (Some(p), Some(route)) = (self.pending.as_mut(), pending) {
            p.route = route;
        }
        self.unanswered = 0;
        true
    }

    /// Whether route `index` went unanswered since the last change.
    fn was_unanswered(&self, index: usize) -> bool {
        index < 32 && self.unanswered & (1 << index) != 0
    }

    /// The exchange in progress went unanswered: it ends, and its route is not proposed
    /// again until [`Conn::something_changed`]. Returns the route.
    pub(crate) fn give_up(&mut self) -> Option<u8> {
        let pending = self.pending.take()?;
        if pending.route < 32 {
            self.unanswered |= 1 << pending.route;
        }
        Some(pending.route)
    }

    /// Links failed or came back: every route may be proposed again.
    pub(crate) fn something_changed(&mut self) {
        self.unanswered = 0;
    }

    fn route(&self, index: u8) -> Option<(B, B)> {
        self.routes.as_slice().get(usize::from(index)).copied()
    }

    /// The (local, peer) pair on the wire.
    pub(crate) fn current(&self) -> (B, B) {
        self.pair_of(self.in_use)
    }

    /// The (local, peer) pair of route `in_use` (`None`: the tuple's own pair).
    pub(crate) fn pair_of(&self, in_use: Option<u8>) -> (B, B) {
        in_use
            .and_then(|r| self.route(r))
            .unwrap_or((self.tuple.laddr, self.tuple.faddr))
    }

    /// The connection as this end names it on the wire: `struct id_pcb` of its messages.
    pub(crate) fn wire_pcb(&self) -> IdPcb<B> {
        let (laddr, faddr) = self.current();
        IdPcb {
            laddr,
            faddr,
            ..self.tuple
        }
    }

    /// `SITEMH_LFROUTE_OWN` or the index of the route in use.
    pub(crate) fn in_use_index(&self) -> u8 {
        self.in_use.unwrap_or(ROUTE_OWN)
    }

    /// Whether `pcb`, as this end would write it, names this connection (draft 2.1.2:
    /// protocol and ports equal, addresses one of the routes; or the tuple's own pair).
    pub(crate) fn is_named_by(&self, pcb: &IdPcb<B>) -> bool {
        pcb.proto == self.tuple.proto
            && pcb.lport == self.tuple.lport
            && pcb.fport == self.tuple.fport
            && ((pcb.laddr, pcb.faddr) == (self.tuple.laddr, self.tuple.faddr)
                || self.routes.find(pcb.laddr, pcb.faddr).is_some())
    }

    /// Whether the connection uses, or is moving onto, the wire pair (`local`, `peer`)
    /// with protocol `proto` and ports (`lport`, `fport`): no other connection may then
    /// take it (the two could not be told apart on the wire).
    pub(crate) fn claims(&self, proto: u8, local: B, peer: B, lport: u16, fport: u16) -> bool {
        let t = &self.tuple;
        (proto, lport, fport) == (t.proto, t.lport, t.fport)
            && ((local, peer) == (t.laddr, t.faddr)
                || [self.in_use, self.pending.map(|p| p.route)]
                    .into_iter()
                    .flatten()
                    .any(|r| self.route(r) == Some((local, peer))))
    }

    /// Whether `addr` is one of the connection's peers: the socket's own or one of its
    /// routes'. Messages about the connection come from no other address.
    pub(crate) fn is_peer(&self, addr: B) -> bool {
        addr == self.tuple.faddr || self.routes.as_slice().iter().any(|&(_, peer)| peer == addr)
    }

    /// The next sequence number to send.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq_out += 1;
        self.seq_out
    }

    /// The best route whose local address `usable` accepts, that `claim` lets this
    /// connection take (see [`Conn::accept_request`]), that differs from the pair in use
    /// and that did not go unanswered since the last change: where to move when the path
    /// in use failed.
    pub(crate) fn alternate(
        &self,
        usable: impl Fn(B) -> bool,
        claim: impl Fn(B, B) -> bool,
    ) -> Option<u8> {
        self.alternate_by(usable, claim, |_, _| 0)
    }

    /// As [`Conn::alternate`], the candidate with the smallest `key` (of its pair); among
    /// equal keys the first listed (the application's order).
    pub(crate) fn alternate_by<K: Ord>(
        &self,
        usable: impl Fn(B) -> bool,
        claim: impl Fn(B, B) -> bool,
        key: impl Fn(B, B) -> K,
    ) -> Option<u8> {
        let current = self.current();
        self.routes
            .as_slice()
            .iter()
            .enumerate()
            .filter(|&(i, &(local, peer))| {
                (local, peer) != current
                    && !self.was_unanswered(i)
                    && usable(local)
                    && self.may_claim(local, peer, &claim)
            })
            .min_by_key(|&(i, &(local, peer))| (key(local, peer), i))
            .map(|(i, _)| i as u8)
    }

    /// Whether the connection may use (`local`, `peer`) on the wire: its own pair always
    /// (the socket owns that tuple), another only if `claim` agrees.
    fn may_claim(&self, local: B, peer: B, claim: impl Fn(B, B) -> bool) -> bool {
        (local, peer) == (self.tuple.laddr, self.tuple.faddr) || claim(local, peer)
    }

    /// The route of the socket's own pair, if the connection moved away from it, the pair
    /// is among its routes and `usable` accepts its local address: where to move back
    /// once the failed link works again.
    pub(crate) fn home_route(&self, usable: impl Fn(B) -> bool) -> Option<u8> {
        // The socket's own pair: always the connection's to take.
        if !self.fled {
            return None;
        }
        self.in_use?;
        let route = self.routes.find(self.tuple.laddr, self.tuple.faddr)?;
        (usable(self.tuple.laddr) && !self.was_unanswered(usize::from(route))).then_some(route)
    }

    /// Starts an exchange for route `route` with `tries` transmissions; returns the
    /// plaintext of the first `SET_ALT_ROUTE`.
    pub(crate) fn propose(&mut self, route: u8, tries: u8) -> Option<AltRoute<B>> {
        let (src, dst) = self.route(route)?;
        self.pending = Some(Pending {
            route,
            tries_left: tries,
        });
        Some(AltRoute {
            code: CODE_SET_ALT_ROUTE,
            stamp: 0,
            src,
            dst,
        })
    }

    fn move_to(&mut self, route: u8) {
        let pair = self.route(route);
        let own = (self.tuple.laddr, self.tuple.faddr);
        let target = if pair == Some(own) { None } else { Some(route) };
        if target.is_none() {
            self.fled = false;
        }
        if self.in_use != target {
            self.left = self.in_use;
            self.in_use = target;
            self.switches = self.switches.saturating_add(1);
        }
    }

    /// The peer asks to move (`SET_ALT_ROUTE` number `seq`, decrypted: `alt` as the peer
    /// wrote it); `usable` says whether a local address's domain works; `claim` whether
    /// this connection may take the pair (local, peer) on the wire: no other socket owns
    /// that tuple, no other tracked connection uses it, and the local address is still
    /// this host's. Moves and returns the plaintext of the answer (the same fields, code
    /// 4; the caller stamps it). A request older than the last one acted on is a late copy
    /// of a superseded proposal: acting on it would move this end back to a pair the peer
    /// left.
    pub(crate) fn accept_request(
        &mut self,
        alt: &AltRoute<B>,
        seq: u64,
        usable: impl Fn(B) -> bool,
        claim: impl Fn(B, B) -> bool,
    ) -> Result<AltRoute<B>, ExchangeError> {
        if alt.code != CODE_SET_ALT_ROUTE {
            return Err(ExchangeError::CodeMismatch);
        }
        if seq < self.last_request {
            return Err(ExchangeError::Stale);
        }
        if self.stat != STAT_ALTER {
            return Err(ExchangeError::NotAlterable);
        }
        if !usable(alt.dst) {
            return Err(ExchangeError::LinkDown);
        }
        // The peer's source is our peer address, its destination our local one.
        let route = self
            .routes
            .find(alt.dst, alt.src)
            .ok_or(ExchangeError::NotARoute)?;
        if !self.may_claim(alt.dst, alt.src, claim) {
            return Err(ExchangeError::Taken);
        }
        self.move_to(route);
        // Moved by the peer: whoever fled is the peer, and it pulls back; and the peer's
        // choice is news: every route may be proposed again.
        self.fled = false;
        self.unanswered = 0;
        self.last_request = seq;
        // Whatever we proposed ourselves is superseded by the peer's choice.
        self.pending = None;
        Ok(AltRoute {
            code: CODE_ALT_ROUTE_ESTABLISHED,
            ..*alt
        })
    }

    /// The peer's answer (`ALT_ROUTE_ESTABLISHED`, decrypted): moves to the pending route
    /// if `claim` still lets it (see [`Conn::accept_request`]; a refusal ends the
    /// exchange). A second answer to a request already answered (the peer answers every
    /// copy) changes nothing.
    pub(crate) fn accept_answer(
        &mut self,
        alt: &AltRoute<B>,
        claim: impl Fn(B, B) -> bool,
    ) -> Result<(), ExchangeError> {
        if alt.code != CODE_ALT_ROUTE_ESTABLISHED {
            return Err(ExchangeError::CodeMismatch);
        }
        // The pair in use, away or the own one (the answer to a retransmitted copy of the
        // request that moved it there): nothing to do.
        if self.pending.is_none() && self.current() == (alt.src, alt.dst) {
            return Ok(());
        }
        let pending = self.pending.ok_or(ExchangeError::Unsolicited)?;
        if self.route(pending.route) != Some((alt.src, alt.dst)) {
            return Err(ExchangeError::Unsolicited);
        }
        if !self.may_claim(alt.src, alt.dst, claim) {
            self.pending = None;
            return Err(ExchangeError::Taken);
        }
        self.move_to(pending.route);
        self.pending = None;
        Ok(())
    }

    /// A packet this end sends, (`proto`, `src`, `dst`, `sport`, `dport`): the pair it
    /// must carry on the wire, if it is this connection's and the connection moved.
    pub(crate) fn egress(
        &self,
        proto: u8,
        src: B,
        dst: B,
        sport: u16,
        dport: u16,
    ) -> Option<(B, B)> {
        let t = &self.tuple;
        if (proto, src, dst, sport, dport) != (t.proto, t.laddr, t.faddr, t.lport, t.fport) {
            return None;
        }
        self.in_use.and_then(|r| self.route(r))
    }

    /// A packet this end receives: the (source, destination) the socket expects, if it
    /// is this connection's and arrived on the route in use, the one proposed, or the one
    /// left by the last move: around a move the two ends switch at different times, and a
    /// segment on a pair one end has just left must not reach TCP under an unknown tuple
    /// (which answers with a reset). Other routes are left alone: another socket may use
    /// the same pair and ports.
    pub(crate) fn ingress(
        &self,
        proto: u8,
        src: B,
        dst: B,
        sport: u16,
        dport: u16,
    ) -> Option<(B, B)> {
        let t = &self.tuple;
        if (proto, sport, dport) != (t.proto, t.fport, t.lport) || (dst, src) == (t.laddr, t.faddr)
        {
            return None;
        }
        let pending = self.pending.map(|p| p.route);
        [self.in_use, pending, self.left]
            .into_iter()
            .flatten()
            .any(|r| self.route(r) == Some((dst, src)))
            .then_some((t.faddr, t.laddr))
    }
}

/// How long the peer takes to answer a request of the exchange, estimated from the answers
/// to requests sent once (Karn's rule: a retransmitted request's answer may be to either
/// copy), as TCP estimates its retransmission timeout (RFC 6298): a smoothed round trip
/// and its variation. A connection's own round trip says how far the peer is; this says
/// how busy it is: when a link fails under thousands of connections the peer opens and
/// seals every request in turn, and requests repeated before their turn only queue more
/// work behind them, then give up.
///
/// Packed into one `u64` (smoothed round trip times 8, variation times 4, both in ms, as
/// RFC 6298's fixed point) so that the kernel keeps it in one atomic word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExchangeRtt {
    srtt8: u32,
    rttvar4: u32,
}

impl ExchangeRtt {
    /// The longest answer time taken into account (ms): a sample past it is one.
    pub(crate) const SAMPLE_MAX_MS: u32 = 60_000;

    /// From its packed form.
    pub(crate) fn from_packed(word: u64) -> Self {
        Self {
            srtt8: (word >> 32) as u32,
            rttvar4: word as u32,
        }
    }

    /// Its packed form (0: no sample yet).
    pub(crate) fn packed(self) -> u64 {
        (u64::from(self.srtt8) << 32) | u64::from(self.rttvar4)
    }

    /// Takes in one answer's time (ms from the request's only transmission).
    pub(crate) fn sample(self, ms: u32) -> Self {
        let ms = ms.min(Self::SAMPLE_MAX_MS);
        if self.srtt8 == 0 {
            // The first sample: the variation is half of it.
            return Self {
                srtt8: ms.saturating_mul(8).max(1),
                rttvar4: ms.saturating_mul(2),
            };
        }
        let srtt = self.srtt8 / 8;
        let deviation = srtt.abs_diff(ms);
        // rttvar = 3/4 rttvar + 1/4 |srtt - sample|; srtt = 7/8 srtt + 1/8 sample (the
        // parts that decay rounded up, so that steady samples wear the variation away).
        let rttvar4 = self.rttvar4 - self.rttvar4.div_ceil(4) + deviation;
        let srtt8 = self.srtt8 - self.srtt8.div_ceil(8) + ms;
        Self {
            srtt8: srtt8.max(1),
            rttvar4,
        }
    }

    /// How long to wait for an answer before repeating a request (ms): the smoothed time
    /// plus four times its variation; 0 before any sample.
    pub(crate) fn timeout_ms(self) -> u32 {
        if self.srtt8 == 0 {
            return 0;
        }
        (self.srtt8 / 8).saturating_add(self.rttvar4)
    }
}

/// Doublings of the interval between copies of a request, at most: enough that a peer
/// busy with thousands of requests is not sent more before it answers, few enough that a
/// refused route (which is never answered: the draft has no refusal) is given up on in
/// 15 intervals rather than 5, not 31.
const BACKOFF_DOUBLINGS_MAX: u32 = 2;

/// The interval before transmission number `sent + 1` of a request, in ms: `base` (the
/// connection's interval, at least the peer's answer time) doubled for every transmission
/// after the first up to [`BACKOFF_DOUBLINGS_MAX`] times, at most `cap`.
pub(crate) fn backed_off_ms(base: u32, sent: u8, cap: u32) -> u32 {
    let doublings = u32::from(sent.saturating_sub(1)).min(BACKOFF_DOUBLINGS_MAX);
    base.max(1).saturating_mul(1 << doublings).min(cap.max(1))
}

/// Cases shared by the host tests and KUnit.
pub(crate) mod vectors {
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* switchover {
                peers_of_a_connection,
                pairs_of_other_sockets_not_taken,
                what_an_unmoved_connection_claims,
                freshness_of_messages,
                route_count_limits,
                exchange_and_translation,
                exchange_refusals_and_way_back,
                duplicate_answer_after_failback,
                both_ends_converge,
                candidates_by_round_trip_and_service,
                index_of_moved_connections,
                routes_of_carried_lists,
                answer_time_estimate,
                requests_back_off,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    const H1: u32 = 0xc633_640a; // 198.51.100.10
    const H2: u32 = 0xcb00_710a; // 203.0.113.10
    const X1: u32 = 0xc000_020a; // 192.0.2.10
    const X2: u32 = 0xc000_020e; // 192.0.2.14

    fn pcb(laddr: u32, faddr: u32, lport: u16, fport: u16) -> IdPcb<u32> {
        IdPcb {
            proto: 6,
            laddr,
            faddr,
            lport,
            fport,
        }
    }

    /// Host H (client) and peer X (server), both with the m*n routes.
    pub(crate) fn pair_of_ends() -> Option<(Conn<u32>, Conn<u32>)> {
        let h = Conn::new(
            pcb(H1, X1, 40000, 443),
            Routes::new(&[(H1, X1), (H1, X2), (H2, X1), (H2, X2)])?,
        );
        let x = Conn::new(
            pcb(X1, H1, 443, 40000),
            Routes::new(&[(X1, H1), (X2, H1), (X1, H2), (X2, H2)])?,
        );
        Some((h, x))
    }

    /// Either peer address is the peer; no local or foreign one is.
    pub(crate) fn peers_of_a_connection() -> Result<(), &'static str> {
        let (h, _) = pair_of_ends().ok_or("routes")?;
        if !h.is_peer(X1) || !h.is_peer(X2) || h.is_peer(H2) || h.is_peer(0x0a00_0001) {
            return Err("the peers of a connection");
        }
        Ok(())
    }

    /// Another socket's pair is never taken: not as the alternate, not on request, not
    /// on an answer; the own pair always may be.
    pub(crate) fn pairs_of_other_sockets_not_taken() -> Result<(), &'static str> {
        let free = |_: u32, _: u32| true;
        let (h, x) = pair_of_ends().ok_or("routes")?;
        let taken = |local: u32, peer: u32| (local, peer) != (H2, X1);
        if h.routes.as_slice()[usize::from(h.alternate(|l| l != H1, taken).ok_or("alt")?)]
            != (H2, X2)
        {
            return Err("the alternate skips a pair another socket owns");
        }
        if h.alternate(|l| l != H1, |_, _| false).is_some() {
            return Err("no alternate when every other pair is owned");
        }
        {
            let mut x2 = x;
            let over_h2 = AltRoute {
                code: CODE_SET_ALT_ROUTE,
                stamp: 0,
                src: H2,
                dst: X1,
            };
            if x2.accept_request(&over_h2, 1, |_| true, |l, p| (l, p) != (X1, H2))
                != Err(ExchangeError::Taken)
                || x2.in_use.is_some()
            {
                return Err("a request for an owned pair");
            }
            let own = AltRoute { src: H1, ..over_h2 };
            if x2.accept_request(&own, 2, |_| true, |_, _| false).is_err() {
                return Err("the own pair is always the connection's");
            }
            let mut h2 = h;
            let r = h2.alternate(|l| l != H1, free).ok_or("alt")?;
            let proposal = h2.propose(r, 3).ok_or("propose")?;
            let answer = AltRoute {
                code: CODE_ALT_ROUTE_ESTABLISHED,
                ..proposal
            };
            if h2.accept_answer(&answer, |_, _| false) != Err(ExchangeError::Taken)
                || h2.in_use.is_some()
                || h2.pending.is_some()
            {
                return Err("an answer for a pair taken since the proposal");
            }
        }
        Ok(())
    }

    /// An unmoved connection claims its own pair and ports, nothing else.
    pub(crate) fn what_an_unmoved_connection_claims() -> Result<(), &'static str> {
        let (h, _) = pair_of_ends().ok_or("routes")?;
        if !h.claims(6, H1, X1, 40000, 443)
            || h.claims(6, H2, X1, 40000, 443)
            || h.claims(6, H1, X1, 40001, 443)
            || h.claims(17, H1, X1, 40000, 443)
        {
            return Err("what an unmoved connection claims");
        }
        Ok(())
    }

    /// Freshness: the first message sets the reference; later ones may be late by the
    /// spread of delays (and the clocks' drift), not more.
    pub(crate) fn freshness_of_messages() -> Result<(), &'static str> {
        let mut fresh = Freshness::default();
        if !fresh.is_fresh(5, 1_000_000) {
            return Err("the first message");
        }
        fresh.accept(100_000, 1_000_000);
        if !fresh.is_fresh(100_000 + 10_000 - FRESH_MS, 1_010_000)
            || fresh.is_fresh(100_000 + 10_000 - FRESH_MS - 20, 1_010_000)
            || fresh.is_fresh(90_000, 1_000_100)
            || !fresh.is_fresh(200_000, 1_000_100)
        {
            return Err("a message held back beyond the spread of delays");
        }
        // An hour later, an hour's drift at DRIFT_PPM is tolerated on top.
        if !fresh.is_fresh(100_000 + 3_600_000 - FRESH_MS - 3_000, 4_600_000) {
            return Err("drift");
        }
        fresh.accept(50_000, 2_000_000);
        if fresh.is_fresh(90_000, 1_000_100) {
            return Err("an older accepted message moves the reference back");
        }
        Ok(())
    }

    /// A connection has one route at least and `MAX_LFROUTES` at most.
    pub(crate) fn route_count_limits() -> Result<(), &'static str> {
        if Routes::<u32>::new(&[]).is_some() || Routes::new(&[(H1, X1); MAX_LFROUTES + 1]).is_some()
        {
            return Err("route count limits");
        }
        Ok(())
    }

    /// Lists the module carries: the own pair first, then the two lists crossed; the
    /// pair in use stays a route (its index follows it) when the lists change; the list
    /// is sent at most [`LIST_TRIES`] times, at doubling intervals, again when it changes.
    pub(crate) fn routes_of_carried_lists() -> Result<(), &'static str> {
        let mut h = Conn::new(
            pcb(H1, X1, 40000, 443),
            Routes::new(&[(H1, X1)]).ok_or("routes")?,
        );
        let mut carried = Carried::new();
        // Nothing known: the own pair alone.
        if h.routes_of(&carried).as_slice() != [(H1, X1)] {
            return Err("routes before any list");
        }
        if !carried.set_own(AddrList::of([H1, H2])) || carried.set_own(AddrList::of([H1, H2])) {
            return Err("a new list is news, the same one is not");
        }
        // The peer not heard yet: its own address stands for its list.
        if h.routes_of(&carried).as_slice() != [(H1, X1), (H2, X1)] {
            return Err("routes with this end's list only");
        }
        carried.peer = AddrList::of([X1, X2]);
        let routes = h.routes_of(&carried);
        if routes.as_slice() != [(H1, X1), (H1, X2), (H2, X1), (H2, X2)] {
            return Err("routes of both lists, the draft's order");
        }
        if !h.adopt_routes(routes) {
            return Err("adopting routes");
        }
        // Moved to (H2, X2); then X2 leaves X's list: the pair in use stays, its index follows.
        h.in_use = Some(3);
        carried.peer = AddrList::of([X1]);
        let fewer = h.routes_of(&carried);
        if fewer.as_slice() != [(H1, X1), (H2, X2), (H2, X1)] || !h.adopt_routes(fewer) {
            return Err("the pair in use stays a route");
        }
        if h.in_use != Some(1) || h.current() != (H2, X2) {
            return Err("the index of the pair in use follows it");
        }
        // Routes without the pair in use are not adopted.
        let without = Routes::new(&[(H1, X1), (H2, X1)]).ok_or("routes")?;
        let before = h;
        if h.adopt_routes(without) || h != before {
            return Err("routes without the pair in use are adopted");
        }
        // At most 16 routes.
        let many = routes_of_lists((1u32, 2u32), &[(9, 9)], &[1, 3, 5, 7, 11], &[2, 4, 6, 8]);
        if many.as_slice().len() != MAX_LFROUTES || many.as_slice()[..2] != [(1, 2), (9, 9)] {
            return Err("sixteen routes at most, own and kept pairs first");
        }
        // Sending: LIST_TRIES times at doubling intervals; acknowledged: no more.
        let mut intervals = [0u64; LIST_TRIES as usize];
        for slot in intervals.iter_mut() {
            if !carried.wants_sending() {
                return Err("a list wants sending until its tries are spent");
            }
            *slot = carried.sent_once();
        }
        if carried.wants_sending()
            || intervals[0] != LIST_RETRY_MS
            || intervals[1] != 2 * LIST_RETRY_MS
        {
            return Err("list retransmissions");
        }
        if !carried.set_own(AddrList::of([H2])) || !carried.wants_sending() {
            return Err("a changed list goes again");
        }
        carried.unacked = false;
        if carried.wants_sending() {
            return Err("an acknowledged list goes again");
        }
        Ok(())
    }

    /// The exchange between the two ends, translation in both directions, refusals, and
    /// the move back to the own pair.
    /// Both sites lose their first provider at once (H1 and X1 down): H proposes (H2, X1),
    /// which X refuses; H then proposes (H2, X2) and not (H2, X1) again, and both ends end
    /// on the one pair that works. X's own proposals over H1 fare the same. After a change
    /// every route may be proposed again; with none left the connection stays.
    pub(crate) fn both_ends_converge() -> Result<(), &'static str> {
        let free = |_: u32, _: u32| true;
        let (mut h, mut x) = pair_of_ends().ok_or("routes")?;
        let (h_up, x_up) = (|l: u32| l != H1, |l: u32| l != X1);
        let first = h.alternate(h_up, free).ok_or("no alternate")?;
        let request = h.propose(first, 2).ok_or("propose")?;
        if x.accept_request(&request, 1, x_up, free) != Err(ExchangeError::LinkDown) {
            return Err("X takes a pair over its failed link");
        }
        if h.give_up() != Some(first) || h.pending.is_some() {
            return Err("give up");
        }
        let second = h.alternate(h_up, free).ok_or("no second alternate")?;
        if second == first || h.routes.as_slice()[usize::from(second)] != (H2, X2) {
            return Err("the refused pair is proposed again");
        }
        // X, meanwhile, proposed (X2, H1); H refuses, X gives up on it.
        let x_first = x.alternate(x_up, free).ok_or("X: no alternate")?;
        let x_request = x.propose(x_first, 2).ok_or("X: propose")?;
        if h.accept_request(&x_request, 1, h_up, free) != Err(ExchangeError::LinkDown) {
            return Err("H takes a pair over its failed link");
        }
        x.give_up();
        let request = h.propose(second, 2).ok_or("propose again")?;
        let answer = x
            .accept_request(&request, 2, x_up, free)
            .map_err(|_| "X refuses the working pair")?;
        h.accept_answer(&answer, free).map_err(|_| "answer")?;
        if h.current() != (H2, X2) || x.current() != (X2, H2) {
            return Err("the ends did not meet on the working pair");
        }
        // Being moved by the peer is news: X may propose any route again.
        if x.unanswered != 0 {
            return Err("X still remembers refusals after the peer moved it");
        }
        // With every other route refused, H stays where it is until something changes.
        for route in [0u8, 1, 2] {
            h.propose(route, 1);
            h.give_up();
        }
        if h.alternate(|_| true, free).is_some() {
            return Err("a refused route proposed before anything changed");
        }
        h.something_changed();
        if h.alternate(|_| true, free) != Some(0) {
            return Err("after a change every route may be proposed");
        }
        Ok(())
    }

    /// A connection that must move takes the candidate with the shortest measured round
    /// trip (best effort) or the lowest latency (low latency), unmeasured ones last, the
    /// application's order among equals; refused routes stay out whatever they measure.
    pub(crate) fn candidates_by_round_trip_and_service() -> Result<(), &'static str> {
        let free = |_: u32, _: u32| true;
        let (mut h, _) = pair_of_ends().ok_or("routes")?;
        let up = |l: u32| l != H1;
        // Routes (H1, X1), (H1, X2), (H2, X1), (H2, X2): the candidates are (H2, X1) and
        // (H2, X2). X1 measured slower, X2 faster.
        let rtt = |_: u32, peer: u32| if peer == X1 { 80_000 } else { 3_000 };
        let none = PathAttrs::UNKNOWN;
        let best_effort = |l: u32, p: u32| candidate_key(Service::BestEffort, rtt(l, p), &none);
        let second = |(l, p): (u32, u32)| (l, p) == (H2, X2);
        let chosen = h
            .alternate_by(up, free, best_effort)
            .ok_or("no alternate")?;
        if !second(h.routes.as_slice()[usize::from(chosen)]) {
            return Err("best effort: not the shortest round trip");
        }
        // Unmeasured (no answer) ranks after any measured one; with none measured the
        // application's order stands.
        let only_x1 = |_: u32, p: u32| {
            candidate_key(Service::BestEffort, if p == X1 { 9_000 } else { 0 }, &none)
        };
        if h.alternate_by(up, free, only_x1) != h.alternate(up, free) {
            return Err("an unanswered probe ranks before a measured one");
        }
        let unmeasured = |_: u32, _: u32| candidate_key(Service::BestEffort, 0, &none);
        if h.alternate_by(up, free, unmeasured) != h.alternate(up, free) {
            return Err("without measurements the application's order changed");
        }
        // Low latency: the configured latency of the provider when nothing was measured,
        // then hops.
        let slow = PathAttrs {
            latency_us: 40_000,
            hops: 3,
            ..PathAttrs::UNKNOWN
        };
        let fast = PathAttrs {
            latency_us: 40_000,
            hops: 2,
            ..PathAttrs::UNKNOWN
        };
        let by_hops = |_: u32, p: u32| {
            candidate_key(Service::LowLatency, 0, if p == X1 { &slow } else { &fast })
        };
        let chosen = h.alternate_by(up, free, by_hops).ok_or("no alternate")?;
        if !second(h.routes.as_slice()[usize::from(chosen)]) {
            return Err("low latency: equal latency, not the fewer hops");
        }
        // A measured latency beats a configured one.
        let measured = |_: u32, p: u32| {
            candidate_key(Service::LowLatency, if p == X1 { 2_000 } else { 0 }, &fast)
        };
        let chosen = h.alternate_by(up, free, measured).ok_or("no alternate")?;
        if h.routes.as_slice()[usize::from(chosen)] != (H2, X1) {
            return Err("low latency: the measured latency did not count");
        }
        // A refused route is not proposed, however fast.
        h.propose(3, 1);
        h.give_up();
        let chosen = h
            .alternate_by(up, free, best_effort)
            .ok_or("no alternate")?;
        if second(h.routes.as_slice()[usize::from(chosen)]) {
            return Err("a refused route proposed again");
        }
        Ok(())
    }

    /// H, X, H's request and X's answer.
    type MovedAway = (Conn<u32>, Conn<u32>, AltRoute<u32>, AltRoute<u32>);

    /// H and X after H's P1 provider failed and H moved the connection to (H2, X1): H's
    /// request and X's answer, both ends checked on the way.
    fn moved_away() -> Result<MovedAway, &'static str> {
        let free = |_: u32, _: u32| true;
        let (mut h, mut x) = pair_of_ends().ok_or("routes")?;
        // H's P1 provider fails: the best route avoiding H1.
        let alt = h
            .alternate(|local| local != H1, free)
            .ok_or("no alternate")?;
        if h.routes.as_slice()[usize::from(alt)] != (H2, X1) {
            return Err("alternate is the best route avoiding the failed source");
        }
        let request = h.propose(alt, 3).ok_or("propose")?;
        // Nothing moves on H yet, but the pending pair is translated on the way in.
        if h.egress(6, H1, X1, 40000, 443).is_some() {
            return Err("egress before the answer");
        }
        if h.ingress(6, X1, H2, 443, 40000) != Some((X1, H1)) {
            return Err("ingress on the pending pair");
        }
        // X names H's connection from the clear part, then accepts.
        if !x.is_named_by(&h.wire_pcb().reversed()) {
            return Err("peer finds the connection");
        }
        if x.accept_request(&request, 1, |local| local != X1, free) != Err(ExchangeError::LinkDown)
        {
            return Err("a pair over a link known down");
        }
        let answer = x
            .accept_request(&request, 1, |_| true, free)
            .map_err(|_| "accept request")?;
        if x.current() != (X1, H2) || x.egress(6, X1, H1, 443, 40000) != Some((X1, H2)) {
            return Err("peer moved");
        }
        if x.ingress(6, H2, X1, 40000, 443) != Some((H1, X1)) {
            return Err("peer translates arrivals");
        }
        if h.home_route(|_| true).is_some() {
            return Err("no way home before moving");
        }
        h.accept_answer(&answer, free)
            .map_err(|_| "accept answer")?;
        if h.home_route(|_| true).is_some() {
            return Err("only the end that fled goes home");
        }
        h.fled = true;
        if h.home_route(|local| local != H1).is_some() || h.home_route(|_| true) != Some(0) {
            return Err("the way home once the own source works again");
        }
        if h.current() != (H2, X1) || h.pending.is_some() || h.switches != 1 {
            return Err("host moved");
        }
        if !h.claims(6, H2, X1, 40000, 443) || h.claims(6, H2, X2, 40000, 443) {
            return Err("a moved connection claims the pair in use");
        }
        if h.egress(6, H1, X1, 40000, 443) != Some((H2, X1)) {
            return Err("host translates departures");
        }
        // Other connections and the own pair are left alone.
        if h.egress(6, H1, X1, 40001, 443).is_some() || h.ingress(6, X1, H1, 443, 40000).is_some() {
            return Err("only this connection's moved packets");
        }
        Ok((h, x, request, answer))
    }

    pub(crate) fn exchange_and_translation() -> Result<(), &'static str> {
        moved_away().map(|_| ())
    }

    /// After the move: what each end refuses, and X's way back to its own pair.
    pub(crate) fn exchange_refusals_and_way_back() -> Result<(), &'static str> {
        let free = |_: u32, _: u32| true;
        let (mut h, mut x, request, answer) = moved_away()?;
        // A second answer changes nothing; an answer for a pair never proposed is
        // unsolicited; a request for a pair that is not a route fails.
        if h.accept_answer(&answer, free) != Ok(()) || h.current() != (H2, X1) || h.switches != 1 {
            return Err("duplicate answer");
        }
        let other = AltRoute {
            src: H2,
            dst: X2,
            ..answer
        };
        if h.accept_answer(&other, free) != Err(ExchangeError::Unsolicited) {
            return Err("unsolicited answer");
        }
        let bogus = AltRoute {
            code: CODE_SET_ALT_ROUTE,
            stamp: 0,
            src: 0x0a00_0001,
            dst: X1,
        };
        if x.home_route(|_| true).is_some() {
            return Err("the peer never pulls the connection home");
        }
        if x.accept_request(&bogus, 2, |_| true, free) != Err(ExchangeError::NotARoute)
            || x.current() != (X1, H2)
        {
            return Err("foreign pair refused");
        }
        if x.accept_request(&answer, 3, |_| true, free) != Err(ExchangeError::CodeMismatch) {
            return Err("code in the encrypted part");
        }
        x.stat = STAT_DO_NOT_ALTER;
        if x.accept_request(&request, 4, |_| true, free) != Err(ExchangeError::NotAlterable) {
            return Err("STAT_DO_NOT_ALTER");
        }
        // A late copy of an old request is refused.
        x.stat = STAT_ALTER;
        if x.accept_request(&request, 5, |_| true, free).is_err() {
            return Err("a newer request");
        }
        if x.accept_request(&request, 4, |_| true, free) != Err(ExchangeError::Stale) {
            return Err("a late copy of an older request");
        }
        // Moving back to the own pair translates nothing on the way out again, but late
        // packets on the pair just left still reach the socket.
        let back = AltRoute {
            code: CODE_SET_ALT_ROUTE,
            stamp: 0,
            src: H1,
            dst: X1,
        };
        x.accept_request(&back, 6, |_| true, free)
            .map_err(|_| "move back")?;
        if x.in_use.is_some() || x.egress(6, X1, H1, 443, 40000).is_some() || x.switches != 2 {
            return Err("back on the own pair");
        }
        if x.ingress(6, H2, X1, 40000, 443) != Some((H1, X1)) {
            return Err("late packets on the pair just left");
        }
        Ok(())
    }

    /// The peer answers every copy of a request: when H retransmitted its request to go
    /// back to its own pair, the answer to the second copy arrives after the first moved
    /// it home. That answer names the pair in use and changes nothing; it is no forgery.
    pub(crate) fn duplicate_answer_after_failback() -> Result<(), &'static str> {
        let free = |_: u32, _: u32| true;
        let (mut h, mut x) = pair_of_ends().ok_or("routes")?;
        let away = h
            .alternate(|local| local != H1, free)
            .ok_or("no alternate")?;
        let request = h.propose(away, 3).ok_or("propose")?;
        let answer = x
            .accept_request(&request, 1, |_| true, free)
            .map_err(|_| "accept request")?;
        h.accept_answer(&answer, free)
            .map_err(|_| "accept answer")?;
        h.fled = true;
        let home = h.home_route(|_| true).ok_or("no way home")?;
        let back = h.propose(home, 3).ok_or("propose home")?;
        let answer_home = x
            .accept_request(&back, 2, |_| true, free)
            .map_err(|_| "accept the way home")?;
        h.accept_answer(&answer_home, free)
            .map_err(|_| "accept the answer home")?;
        if h.in_use.is_some() || h.current() != (H1, X1) {
            return Err("back on the own pair");
        }
        let switches = h.switches;
        if h.accept_answer(&answer_home, free) != Ok(()) {
            return Err("a second answer naming the own pair in use is refused");
        }
        if h.in_use.is_some() || h.switches != switches || h.pending.is_some() {
            return Err("a second answer changed something");
        }
        // An answer for the pair just left is still unsolicited.
        if h.accept_answer(&answer, free) != Err(ExchangeError::Unsolicited) {
            return Err("an answer for the pair left");
        }
        Ok(())
    }

    /// The index of moved connections: every one inserted is among its candidates.
    pub(crate) fn index_of_moved_connections() -> Result<(), &'static str> {
        let mut slots = [0u32; 64];
        for position in 0..32usize {
            let (lport, fport) = (40000 + position as u16, 443);
            if !port_index_insert(&mut slots, lport, fport, position)
                || !port_index_candidates(&slots, lport, fport).any(|p| p == position)
            {
                return Err("the index of moved connections");
            }
        }
        Ok(())
    }

    /// The answer time: the first sample sets it, steady samples converge on it, a busy
    /// peer's late answers raise the timeout at once, and the packed form round-trips.
    pub(crate) fn answer_time_estimate() -> Result<(), &'static str> {
        let none = ExchangeRtt::default();
        if none.timeout_ms() != 0 || ExchangeRtt::from_packed(none.packed()) != none {
            return Err("no sample: no timeout");
        }
        let first = none.sample(20);
        // RFC 6298: srtt = R, rttvar = R/2, timeout srtt + 4 rttvar = 3 R.
        if first.timeout_ms() != 60 {
            return Err("the first sample");
        }
        let mut steady = first;
        for _ in 0..64 {
            steady = steady.sample(20);
        }
        if !(20..=22).contains(&steady.timeout_ms()) {
            return Err("steady samples converge on the answer time");
        }
        let busy = steady.sample(400);
        if busy.timeout_ms() < 400 {
            return Err("a late answer raises the timeout past it");
        }
        if ExchangeRtt::from_packed(busy.packed()) != busy {
            return Err("the packed form");
        }
        let huge = none.sample(u32::MAX).sample(u32::MAX);
        if huge.timeout_ms() < ExchangeRtt::SAMPLE_MAX_MS || huge.timeout_ms() == u32::MAX {
            return Err("samples beyond the longest are that long, nothing overflows");
        }
        if none.sample(0).timeout_ms() != 0 || none.sample(0).packed() == 0 {
            return Err("a zero sample still counts as a sample");
        }
        Ok(())
    }

    /// Repetitions of a request are spaced twice as far each time, twice at most, within
    /// the cap.
    pub(crate) fn requests_back_off() -> Result<(), &'static str> {
        let spacing: [u32; 6] = core::array::from_fn(|sent| backed_off_ms(10, sent as u8, 1000));
        if spacing != [10, 10, 20, 40, 40, 40] {
            return Err("doubling after the first two transmissions");
        }
        if backed_off_ms(300, 5, 1000) != 1000 || backed_off_ms(2000, 255, 5000) != 5000 {
            return Err("at most the cap");
        }
        if backed_off_ms(0, 1, 0) != 1 {
            return Err("never zero");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([switchover] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_index_finds_every_connection_inserted() {
        let mut next = crate::logic::xorshift(0x1dea);
        for moved in [0usize, 1, 2, 15, 16, 17, 100, 4096, 100_000] {
            let mut slots = std::vec![0u32; port_index_slots(moved)];
            assert!(slots.len() >= 2 * moved && slots.len().is_power_of_two());
            // Ephemeral ports to few server ports, some pairs repeated (same ports, other
            // addresses).
            let ports: std::vec::Vec<(u16, u16)> = (0..moved)
                .map(|i| {
                    let r = next();
                    if i % 7 == 3 && i > 0 {
                        ((1024 + (i - 1) % 64000) as u16, 443)
                    } else {
                        ((1024 + i % 64000) as u16, [443, 80, 8443][(r % 3) as usize])
                    }
                })
                .collect();
            for (position, &(l, f)) in ports.iter().enumerate() {
                assert!(port_index_insert(&mut slots, l, f, position));
            }
            let mut longest = 0;
            for (position, &(l, f)) in ports.iter().enumerate() {
                let found: std::vec::Vec<usize> = port_index_candidates(&slots, l, f).collect();
                assert!(
                    found.contains(&position),
                    "{moved}: {l}->{f} at {position} not found"
                );
                longest = longest.max(found.len());
            }
            // Half full: the runs stay short.
            assert!(longest <= 32, "{moved}: a run of {longest}");
            // Ports never inserted find at most a short run, never a panic.
            assert!(port_index_candidates(&slots, 1, 2).count() <= 32);
        }
        // Refusals: a full table, a length that is no power of two, a position too large.
        let mut full = [0u32; 16];
        for p in 0..16 {
            assert!(port_index_insert(&mut full, p as u16, 9, p));
        }
        assert!(!port_index_insert(&mut full, 99, 9, 16));
        assert_eq!(port_index_candidates(&full, 99, 9).count(), 16);
        assert!(!port_index_insert(&mut [0u32; 12], 1, 2, 0));
        assert_eq!(port_index_candidates(&[5u32; 12], 1, 2).count(), 0);
        assert!(!port_index_insert(&mut [0u32; 16], 1, 2, u32::MAX as usize));
        // Positions past 65,535 fit (100,000 moved connections).
        let mut big = std::vec![0u32; port_index_slots(100_000)];
        assert!(port_index_insert(&mut big, 1, 2, 99_999));
        assert_eq!(
            port_index_candidates(&big, 1, 2).collect::<std::vec::Vec<_>>(),
            [99_999]
        );
        assert_eq!(port_index_candidates(&[], 1, 2).count(), 0);
    }

    #[test]
    fn port_filter_bits_are_in_range_and_spread() {
        let mut seen = std::vec![false; PORT_FILTER_BITS];
        // Consecutive ephemeral ports to one server port, and the reverse direction.
        for port in 32768..32768 + 4096u16 {
            for bit in [port_filter_bit(port, 443), port_filter_bit(443, port)] {
                assert!(bit < PORT_FILTER_BITS);
                seen[bit] = true;
            }
        }
        let used = seen.iter().filter(|&&s| s).count();
        assert!(used > PORT_FILTER_BITS / 2, "only {used} bits used");
        assert_eq!(
            port_filter_bit(u16::MAX, u16::MAX),
            port_filter_bit(u16::MAX, u16::MAX)
        );
        assert!(port_filter_bit(u16::MAX, u16::MAX) < PORT_FILTER_BITS);
    }

    #[test]
    fn no_alternate_when_every_source_failed() {
        let (h, _) = vectors::pair_of_ends().unwrap();
        assert_eq!(h.alternate(|_| false, |_, _| true), None);
    }

    #[test]
    fn sequence_numbers_start_at_one() {
        let (mut h, _) = vectors::pair_of_ends().unwrap();
        assert_eq!(h.next_seq(), 1);
        assert_eq!(h.next_seq(), 2);
    }
}

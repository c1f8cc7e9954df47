// SPDX-License-Identifier: GPL-2.0

//! The exchange (draft 2.1.2): sealing and opening code 3/4 messages, answering the peer's
//! proposals, proposing moves when a notice marks a connection's pair down, retransmitting,
//! and publishing the moved connections for the packet path; the work item that does it.

#![forbid(unsafe_code)]

use core::ops::Range;

use crate::{
    ffi::events,
    logic::select::Service, //
};

use super::{
    candidates::PairFacts,
    *, //
};

impl Drop for Sealer {
    fn drop(&mut self) {
        wipe(&mut self.salt);
    }
}

impl KeySet {
    pub(super) fn new(keys: &Keys) -> Result<Self> {
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

impl<A> Chores<A> {
    pub(super) fn new() -> Self {
        Self {
            send: KVVec::new(),
            raw: KVVec::new(),
            kick: KVVec::new(),
            forget: KVVec::new(),
        }
    }

    /// Room for `n` more of each, made before the work item takes the lock under which
    /// it records them (interrupts off): recording them then allocates nothing.
    pub(super) fn make_room(&mut self, n: usize) {
        // Without it, recording falls back to an atomic allocation (`push_in_room`).
        let _ = self.send.reserve(n, GFP_KERNEL);
        let _ = self.raw.reserve(n, GFP_KERNEL);
        let _ = self.kick.reserve(n, GFP_KERNEL);
        let _ = self.forget.reserve(n, GFP_KERNEL);
    }

    /// Records a message to send; false if there was no room even after trying.
    pub(super) fn send(&mut self, job: Outgoing<A>) -> bool {
        push_in_room(&mut self.send, job)
    }

    /// Records a message to send as it is.
    pub(super) fn send_raw(&mut self, out: RawOutgoing<A>) -> bool {
        push_in_room(&mut self.raw, out)
    }

    /// Records a socket to kick.
    pub(super) fn kick(&mut self, sock: SockRef) {
        push_in_room(&mut self.kick, sock);
    }

    /// Records a connection to forget (its references go outside the lock). Without room
    /// it is dropped at once after all: better than keeping a dead socket.
    pub(super) fn forget(&mut self, t: Tracked<A>) {
        push_in_room(&mut self.forget, t);
    }
}

/// Pushes `item` into the room made for it; only if there is none (the table grew since
/// the room was made) does it allocate, atomically: the caller holds a spinlock.
pub(super) fn push_in_room<T>(list: &mut KVVec<T>, item: T) -> bool {
    match list.push_within_capacity(item) {
        Ok(()) => true,
        Err(PushError(item)) => list.push(item, GFP_ATOMIC).is_ok(),
    }
}

pub(super) fn exchange_error(e: ExchangeError) -> &'static str {
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

/// A message's clear part, its connection's index in the table, and the (local, peer)
/// pair it is about.
type Addressed<A> = (Sealed<A>, usize, A, A);

impl<F: SwitchFamily> Switchover<F> {
    /// Forgets the connections in the slots `range` that are over (their references go
    /// outside the lock, with the chores).
    fn forget_closed(
        &self,
        conns: &mut Table<Tracked<F::Addr>>,
        range: Range<usize>,
        chores: &mut Chores<F::Addr>,
    ) {
        for at in range {
            if conns.get(at).is_some_and(|t| t.sock.closed()) {
                if let Some(t) = conns.remove(at) {
                    // Closed before the peer answered its key offer: never protected.
                    if t.keys.is_none() && agree::offered(&t) {
                        self.counters
                            .auto_unanswered
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    // On failure it is dropped here after all: better than keeping a dead
                    // socket.
                    chores.forget(t);
                }
            }
        }
    }

    /// Seals and sends the messages of this run, within the peers' limits.
    fn send_all(&self, chores: &Chores<F::Addr>, now: u64) {
        let net = self.net.get();
        for out in chores.raw.iter() {
            if !self.within_limit(out.dst, out.dst, now, |l| &mut l.sent) {
                continue;
            }
            if let Some(message) = out.message.get(..out.len) {
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
        }
        let started = now_ms();
        for out in chores.send.iter() {
            // Over the limit: a request goes again at its next retry, an answer when the
            // peer repeats its request.
            if !self.within_limit(out.dst, out.dst, now, |l| &mut l.sent) {
                continue;
            }
            let Some((sealed, len)) = Self::seal(out) else {
                continue;
            };
            let Some(message) = sealed.get(..len) else {
                continue;
            };
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
        if !chores.send.is_empty() {
            // Decaying slowly: a small run after a big one does not hide the big one's
            // requests, still waiting at the peer.
            let took = u32::try_from(now_ms().saturating_sub(started)).unwrap_or(u32::MAX);
            let _ = self
                .send_ms
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                    Some(took.max(old - old / 4))
                });
        }
    }
}

impl<F: SwitchFamily> Tick for Switchover<F> {
    fn tick(&self) {
        let now = now_ms();
        // The packet path's next inbox, allocated here (without it, messages are refused
        // until the next run), with room for a message about every connection (within
        // bounds): when a link fails, all of them may be answered at once.
        let tracked = self.conns.lock().len();
        let room = tracked.clamp(INBOX_MIN, INBOX_MAX);
        let fresh = KVec::with_capacity(room, GFP_KERNEL).unwrap_or_default();
        let inbox = core::mem::replace(&mut *self.inbox.lock(), fresh);
        let mut chores = Chores::new();
        // Connections this host opened that are established now get their key offers.
        self.take_up_opened(now);
        self.handle_agreements(&inbox, now, &mut chores);
        self.handle_inbox(&inbox, now, &mut chores);
        drop(inbox);
        // The candidates of connections that must move, measured before any proposal.
        let facts = self.measure_candidates();
        // This end's addresses, for the route lists the module carries.
        let in_domains = self.addrs_in_domains();
        let (next, collected, moved, words) =
            self.walk(now, &facts, in_domains.as_deref(), &mut chores);
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
        self.send_all(&chores, now);
        for sock in chores.kick.iter() {
            sock.kick();
        }
        drop(chores);
        if self.conns.lock().is_empty() && self.opening.lock().is_empty() {
            self.release_if_empty();
        } else {
            let delay = next.map_or(PRUNE_MS, |due| {
                due.saturating_sub(now).min(u64::from(PRUNE_MS)) as u32
            });
            self.arm(delay);
        }
    }
}

/// Room for new requests in this walk of the table ([`EXCHANGE_WINDOW`]), and whether a
/// proposal had to wait for it.
pub(super) struct Window {
    room: usize,
    held_back: bool,
}

/// How soon the work item runs again when the window held proposals back (ms).
const WINDOW_RECHECK_MS: u32 = 20;

/// The earlier of two optional times.
pub(super) fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What a walk of the table found: when to run next, whether every moved connection
/// was copied, the copies, and the filter of their ports.
type Walked<A> = (
    Option<u64>,
    bool,
    KVVec<MovedEntry<A>>,
    [u64; PORT_FILTER_BITS / 64],
);

impl<F: SwitchFamily> Switchover<F> {
    /// Walks the table [`BATCH`] slots per hold of its lock, letting others run in
    /// between: proposes moves, repeats requests, forgets closed sockets and copies the
    /// moved connections for the packet path. The room each batch needs is made before
    /// its lock.
    fn walk(
        &self,
        now: u64,
        facts: &[PairFacts<F::Addr>],
        in_domains: Option<&[lists::InDomain<F::Addr>]>,
        chores: &mut Chores<F::Addr>,
    ) -> Walked<F::Addr> {
        let mut moved = KVVec::new();
        let mut words = [0u64; PORT_FILTER_BITS / 64];
        let (mut next, mut collected, mut start) = (None, true, 0);
        // Requests still unanswered: those of the last walk, less the answers since (a
        // request given up on since counts until this walk's end; the window errs on the
        // side of fewer).
        let answered = self.answered.swap(0, Ordering::Relaxed);
        let in_flight = self
            .in_flight
            .load(Ordering::Relaxed)
            .saturating_sub(answered);
        let mut window = Window {
            room: EXCHANGE_WINDOW.saturating_sub(in_flight),
            held_back: false,
        };
        let mut pending = 0;
        loop {
            chores.make_room(BATCH);
            collected = collected && moved.reserve(BATCH, GFP_KERNEL).is_ok();
            let slots = {
                let mut conns = self.conns.lock();
                let range = start..(start + BATCH).min(conns.slots());
                let failback =
                    self.propose_moves(&mut conns, range.clone(), now, facts, &mut window, chores);
                let retry = self.retransmit(&mut conns, range.clone(), now, chores);
                let list = self.carry_lists(&mut conns, range.clone(), now, in_domains, chores);
                let offer = self.carry_offers(&mut conns, range.clone(), now, chores);
                let list = earliest(list, offer);
                next = earliest(next, earliest(failback, earliest(retry, list)));
                self.forget_closed(&mut conns, range.clone(), chores);
                pending += range
                    .clone()
                    .filter(|&at| conns.get(at).is_some_and(|t| t.conn.pending.is_some()))
                    .count();
                collected = collected && Self::collect_moved(&conns, range, &mut moved, &mut words);
                conns.slots()
            };
            // The forgotten connections' references go outside the lock.
            chores.forget.clear();
            start += BATCH;
            if start >= slots {
                self.in_flight.store(pending, Ordering::Relaxed);
                if window.held_back {
                    // Answers to the requests in flight run the work item again; this
                    // is for the answers that never come.
                    self.counters.deferred.fetch_add(1, Ordering::Relaxed);
                    next = earliest(next, Some(now + u64::from(WINDOW_RECHECK_MS)));
                }
                return (next, collected, moved, words);
            }
            cond_resched();
        }
    }

    /// The table is empty: the packet hooks are released, and the table's memory (after
    /// a busy day, room for 100,000 connections) goes with them.
    fn release_if_empty(&self) {
        let _membership = self.membership.lock();
        let old = {
            let mut conns = self.conns.lock();
            conns
                .is_empty()
                .then(|| core::mem::replace(&mut *conns, Table::new()))
        };
        // With `auto` or `ktls` the hooks stay: they see the connections this host opens.
        if old.is_some() && !self.watches() {
            let _ = self.hooks.want(F::SWITCH_HOOKS_BIT, false);
        }
        drop(old);
    }
}

impl<F: SwitchFamily> Switchover<F> {
    /// Prepares a message of `t` sealing `plain` (whose code is `code`), naming the
    /// connection as `pcb`, from `src` to `dst`: takes its sequence number now;
    /// [`Switchover::seal`] encrypts it later, outside the lock.
    pub(super) fn seal_job(
        t: &mut Tracked<F::Addr>,
        code: u8,
        pcb: &IdPcb<F::Addr>,
        plain: Plaintext<F::Addr>,
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
            plain,
        })
    }

    /// Seals a prepared message; returns it and its length.
    pub(super) fn seal(out: &Outgoing<F::Addr>) -> Option<([u8; MESSAGE_MAX], usize)> {
        let mut m = [0u8; MESSAGE_MAX];
        // Stamped now, whatever the fields came from (an answer copies the request's).
        let plain = out.plain.stamped(now_ms());
        let plain_len = plain.len();
        let len = Layout::<F::Addr>::len_for(plain_len);
        if len > MESSAGE_MAX {
            return None;
        }
        write_clear_len(
            F::icmp_type(),
            out.code,
            &out.pcb,
            out.seq,
            plain_len,
            &mut m,
        );
        let ciphertext = Layout::<F::Addr>::CIPHERTEXT;
        plain.write(m.get_mut(ciphertext..ciphertext + plain_len)?);
        let nonce = kdf::nonce(&out.keys.seal.salt, out.seq);
        let (ad, rest) = m.get_mut(..len)?.split_at_mut(Layout::<F::Addr>::NONCE);
        let (plain, tag) = rest.get_mut(NONCE_LEN..)?.split_at_mut(plain_len);
        let tag: &mut [u8; TAG_LEN] = tag.try_into().ok()?;
        out.keys.seal.aead.seal(&nonce, ad, plain, tag).ok()?;
        // ICMPv6's checksum, over the addresses too, is the sending socket's job.
        if F::VERIFY_CHECKSUM {
            finish_checksum(m.get_mut(..len)?);
        }
        Some((m, len))
    }

    /// Opens the encrypted part of `message` (whose clear part is `sealed`) with `keys`;
    /// `None` if it does not authenticate or is malformed.
    pub(super) fn open(
        keys: &KeySet,
        message: &[u8],
        sealed: &Sealed<F::Addr>,
    ) -> Option<Plaintext<F::Addr>> {
        let mut ad_room = [0u8; Layout::<u128>::NONCE];
        let ad = ad_room.get_mut(..Layout::<F::Addr>::NONCE)?;
        ad.copy_from_slice(message.get(..Layout::<F::Addr>::NONCE)?);
        ad.get_mut(2..4)?.fill(0);
        let ciphertext = Layout::<F::Addr>::CIPHERTEXT;
        let tag_at = ciphertext + sealed.plain_len;
        let mut plain_room = [0u8; PLAIN_MAX];
        let plain = plain_room.get_mut(..sealed.plain_len)?;
        plain.copy_from_slice(message.get(ciphertext..tag_at)?);
        let tag = <&[u8; TAG_LEN]>::try_from(message.get(tag_at..)?).ok()?;
        let nonce = kdf::nonce(&keys.open.salt, sealed.seq);
        keys.open.aead.open(&nonce, ad, plain, tag).ok()?;
        Plaintext::read(sealed.code, plain)
    }

    /// The positions in `conns` of the connections a message naming `ours` from `src`
    /// may be about: those whose pair in use is the one named first (a connection's own
    /// peer names it so), then those that merely list it among their routes.
    pub(super) fn named<'a>(
        conns: &'a Table<Tracked<F::Addr>>,
        ours: &'a IdPcb<F::Addr>,
        src: F::Addr,
    ) -> impl Iterator<Item = usize> + 'a {
        let in_use = |t: &Tracked<F::Addr>| t.conn.current() == (ours.laddr, ours.faddr);
        // Only connections with the named ports can be named.
        let with_ports = move || {
            conns
                .chain(BY_PORTS, ports_hash(ours.lport, ours.fport))
                .filter_map(move |at| Some((at, conns.get(at)?)))
        };
        let exact = with_ports().filter(move |(_, t)| Self::may_be_from(t, ours, src) && in_use(t));
        let listed =
            with_ports().filter(move |(_, t)| Self::may_be_from(t, ours, src) && !in_use(t));
        Iterator::chain(exact, listed).map(|(at, _)| at)
    }

    /// Under the lock: adds to `out` the connections message number `index` may be about,
    /// with their keys, to be tried outside the lock. `None`, or why there is none.
    pub(super) fn candidates(
        conns: &Table<Tracked<F::Addr>>,
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

    /// The clear part of a message that connection `conn`'s keys opened (`alt`), where the
    /// connection is in `conns`, and the (local, peer) pair it is about; or why it is
    /// refused. The messages travel over the proposed pair (see `transmit` and the answer
    /// in `accept_request`): the source is the peer's address on it, never another of its
    /// peers. Checked before the sequence number counts as seen, so that a copy sent from
    /// elsewhere first cannot make the real one a replay.
    fn addressed(
        conns: &Table<Tracked<F::Addr>>,
        incoming: &Incoming<F::Addr>,
        conn: usize,
        plain: &Plaintext<F::Addr>,
    ) -> core::result::Result<Addressed<F::Addr>, &'static str> {
        let src = incoming.src;
        let sealed = incoming
            .message
            .get(..incoming.len)
            .and_then(Self::clear_part)
            .ok_or("malformed")?;
        let ours = Self::as_we_name_it(&sealed);
        let at = conns
            .chain(BY_SOCK, sock_hash(conn))
            .find(|&at| {
                conns
                    .get(at)
                    .is_some_and(|t| t.sock.id() == conn && Self::may_be_from(t, &ours, src))
            })
            .ok_or("its connection is gone")?;
        let alt = match plain {
            Plaintext::Route(alt) => alt,
            // Sent over the pair in use, from one of the connection's peers
            // (`may_be_from`): the two ends may be between pairs.
            Plaintext::List(_) => {
                let (local, peer) = conns
                    .get(at)
                    .ok_or("its connection is gone")?
                    .conn
                    .current();
                return Ok((sealed, at, local, peer));
            }
        };
        let (local, peer) = if sealed.code == CODE_SET_ALT_ROUTE {
            (alt.dst, alt.src)
        } else {
            (alt.src, alt.dst)
        };
        if src != peer {
            return Err("not sent from the peer's address on the proposed pair");
        }
        Ok((sealed, at, local, peer))
    }

    /// Under the lock: acts on a received message that the keys of connection `conn`
    /// opened (`plain`).
    pub(super) fn apply(
        &self,
        conns: &mut Table<Tracked<F::Addr>>,
        incoming: &Incoming<F::Addr>,
        conn: usize,
        plain: Plaintext<F::Addr>,
        chores: &mut Chores<F::Addr>,
        now: u64,
    ) {
        let src = incoming.src;
        let (sealed, at, local, peer) = match Self::addressed(conns, incoming, conn, &plain) {
            Ok(found) => found,
            Err(why) => return self.refuse(src, why),
        };
        let claimable = self.claimable(conns, at, local, peer);
        let Some(t) = conns.get_mut(at) else {
            return;
        };
        // A copy of the same message earlier in this batch was acted on already.
        if !t.conn.replay.check(sealed.seq) {
            return self.refuse(src, "replayed");
        }
        t.conn.replay.accept(sealed.seq);
        if plain.code() != sealed.code {
            return self.refuse(src, "code differs in the encrypted part");
        }
        if !t.conn.fresh.is_fresh(plain.stamp(), now) {
            return self.refuse(src, exchange_error(ExchangeError::TooOld));
        }
        t.conn.fresh.accept(plain.stamp(), now);
        agree::peer_has_keys(t);
        let alt = match plain {
            Plaintext::Route(alt) => alt,
            Plaintext::List(list) => return self.apply_list(t, &sealed, &list, chores),
        };
        let before = t.conn.in_use;
        let was_pending = t.conn.pending.is_some();
        let acted = if sealed.code == CODE_SET_ALT_ROUTE {
            self.accept_request(t, &sealed, &alt, claimable, chores)
        } else {
            t.conn
                .accept_answer(&alt, |_, _| claimable)
                .map_err(|e| Some(exchange_error(e)))
        };
        if was_pending && t.conn.pending.is_none() {
            // Room in the window; and, for the answer to a request sent once (a repeated
            // one's answer may be to either copy), the peer's answer time.
            self.answered.fetch_add(1, Ordering::Relaxed);
            if sealed.code == CODE_ALT_ROUTE_ESTABLISHED && acted.is_ok() && t.transmissions == 1 {
                self.note_answer_time(now.saturating_sub(t.requested_ms));
            }
        }
        match acted {
            Ok(()) => {}
            // A late copy of our peer's own earlier request: nothing to see.
            Err(None) => return,
            Err(Some(why)) => return self.refuse(src, why),
        }
        if t.conn.in_use != before {
            self.switched(t, before, chores);
        }
    }

    /// The peer's request to move `t` to `alt`: accepted (and answered from our new local
    /// address) or refused, why (`None`: a stale copy, silently).
    fn accept_request(
        &self,
        t: &mut Tracked<F::Addr>,
        sealed: &Sealed<F::Addr>,
        alt: &AltRoute<F::Addr>,
        claimable: bool,
        chores: &mut Chores<F::Addr>,
    ) -> core::result::Result<(), Option<&'static str>> {
        let is_down = self.down_view();
        let answer =
            match t
                .conn
                .accept_request(alt, sealed.seq, |local| !is_down(local), |_, _| claimable)
            {
                Ok(answer) => answer,
                Err(ExchangeError::Stale) => return Err(None),
                Err(e) => return Err(Some(exchange_error(e))),
            };
        // From our new local address to the peer's.
        let job = Self::seal_job(
            t,
            CODE_ALT_ROUTE_ESTABLISHED,
            &sealed.pcb,
            Plaintext::Route(answer),
            alt.dst,
            alt.src,
        );
        if let Some(job) = job {
            if chores.send(job) {
                self.counters.answers.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Handles the received messages: which connection each may be about is read under
    /// the lock, the AES-GCM opening is done outside it, and what they ask is done under
    /// it again (with everything checked anew: the table may have changed meanwhile).
    pub(super) fn handle_inbox(
        &self,
        inbox: &[Incoming<F::Addr>],
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) {
        if inbox.is_empty() {
            return;
        }
        let room = inbox.len() * CANDIDATES_PER_MESSAGE;
        let (Ok(mut candidates), Ok(mut refusals), Ok(mut opened)) = (
            KVec::<Candidate>::with_capacity(room, GFP_KERNEL),
            KVec::<Option<&'static str>>::with_capacity(inbox.len(), GFP_KERNEL),
            KVec::<(usize, usize, Plaintext<F::Addr>)>::with_capacity(inbox.len(), GFP_KERNEL),
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
        self.open_all(inbox, &candidates, &refusals, &mut opened);
        // The keys go outside the lock.
        drop(candidates);
        if opened.is_empty() {
            return;
        }
        // A batch per hold of the lock, as the table's walk does.
        for (n, batch) in opened.chunks(BATCH).enumerate() {
            if n > 0 {
                cond_resched();
            }
            chores.make_room(2 * BATCH);
            let mut conns = self.conns.lock();
            for &(index, conn, alt) in batch {
                if let Some(incoming) = inbox.get(index) {
                    self.apply(&mut conns, incoming, conn, alt, chores, now);
                }
            }
        }
    }

    /// Opens each message of `inbox` with the keys of the connections it may be about
    /// (`candidates`, found under the lock), outside the lock; what opens goes into
    /// `opened` (message, connection, route), what does not is refused, for the reason
    /// `refusals` gives or as not authenticating.
    fn open_all(
        &self,
        inbox: &[Incoming<F::Addr>],
        candidates: &[Candidate],
        refusals: &[Option<&'static str>],
        opened: &mut KVec<(usize, usize, Plaintext<F::Addr>)>,
    ) {
        for (index, incoming) in inbox.iter().enumerate() {
            let Some(message) = incoming.message.get(..incoming.len) else {
                continue;
            };
            if agree::is_agreement(message) {
                continue;
            }
            let Some(sealed) = Self::clear_part(message) else {
                continue;
            };
            let found = candidates
                .iter()
                .filter(|c| c.message == index)
                .find_map(|c| Some((c.conn, Self::open(&c.keys, message, &sealed)?)));
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
    }

    /// `t` moved from route `before` to the one in use now: counted, its socket kicked,
    /// and announced (to the owner's own listeners too).
    pub(super) fn switched(
        &self,
        t: &Tracked<F::Addr>,
        before: Option<u8>,
        chores: &mut Chores<F::Addr>,
    ) {
        self.counters.switched.fetch_add(1, Ordering::Relaxed);
        chores.kick(t.sock.clone());
        let (old_local, old_peer) = t.conn.pair_of(before);
        let (new_local, new_peer) = t.conn.current();
        let own = t.conn.tuple;
        let kind = if t.conn.in_use.is_none() {
            events::Kind::ConnFailedBack
        } else {
            events::Kind::ConnMoved
        };
        events::Event::new::<F::Addr>(kind)
            .tuple(own.proto, own.laddr, own.lport, own.faddr, own.fport)
            .addr(events::Addr::OldSaddr, old_local)
            .addr(events::Addr::OldDaddr, old_peer)
            .addr(events::Addr::NewSaddr, new_local)
            .addr(events::Addr::NewDaddr, new_peer)
            .owner(t.uid)
            .announce_owned(self.net.get(), self.events_own.load(Ordering::Relaxed) != 0);
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

    /// The interval before the next transmission of the request of `t` (sent
    /// `t.transmissions` times): `retry_ms` if set; else twice the connection's smoothed
    /// round trip, or the peer's answer time if longer, doubled after every copy.
    pub(super) fn retry_interval(&self, t: &Tracked<F::Addr>) -> u32 {
        match self.retry_ms.load(Ordering::Relaxed) {
            0 => {
                let own = match t.sock.srtt_us() {
                    0 => 100,
                    srtt => (2 * srtt / 1000).clamp(10, 1000),
                };
                let busy =
                    ExchangeRtt::from_packed(self.answer_time.load(Ordering::Relaxed)).timeout_ms();
                backed_off_ms(own.max(busy), t.transmissions, RETRY_MAX_MS)
            }
            ms => ms,
        }
    }

    /// An answer came `ms` after its request's only transmission.
    fn note_answer_time(&self, ms: u64) {
        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
        let _ = self
            .answer_time
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
                Some(ExchangeRtt::from_packed(word).sample(ms).packed())
            });
    }

    /// Whether a local address is in a domain that a notice marked down, as things are now.
    ///
    /// A connection of this host's home address travels under its care-of address (see
    /// `home/`): the home address is down when the care-of address is.
    pub(super) fn down_view(&self) -> impl Fn(F::Addr) -> bool {
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
    pub(super) fn propose_moves(
        &self,
        conns: &mut Table<Tracked<F::Addr>>,
        range: Range<usize>,
        now: u64,
        facts: &[PairFacts<F::Addr>],
        window: &mut Window,
        chores: &mut Chores<F::Addr>,
    ) -> Option<u64> {
        let is_down = self.down_view();
        let retries = self.retries.load(Ordering::Relaxed).clamp(1, 255) as u8;
        let failback_ms = self.failback_ms.load(Ordering::Relaxed);
        let last_notice = self.last_notice_ms.load(Ordering::Relaxed);
        let calm_at = last_notice + u64::from(failback_ms);
        let changes = (last_notice, F::down_mask(&self.linkfail));
        let mut due = None;
        for at in range {
            let Some(t) = conns.get_mut(at) else {
                continue;
            };
            if t.changes_seen != changes {
                t.changes_seen = changes;
                t.conn.something_changed();
                t.stranded = false;
            }
            let Some(t) = conns.get(at) else {
                continue;
            };
            if t.conn.stat != STAT_ALTER || t.keys.is_none() || t.conn.pending.is_some() {
                continue;
            }
            let route = if is_down(t.conn.current().0) {
                let service = Service::of_tos(t.sock.tos());
                let alternate = t.conn.alternate_by(
                    |local| !is_down(local),
                    |local, peer| self.claimable(conns, at, local, peer),
                    |local, peer| candidates::key_of(facts, service, local, peer),
                );
                let Some(route) = alternate else {
                    // Every other route is down, taken or refused: stay, and try again
                    // when something changes.
                    if let Some(t) = conns.get_mut(at) {
                        self.note_stranded(t);
                    }
                    continue;
                };
                route
            } else if let Some(route) = t.conn.home_route(|local| !is_down(local)) {
                // Back to its own pair once notices have been quiet for `failback_ms`.
                match (failback_ms, now < calm_at) {
                    (0, _) => continue,
                    (_, true) => {
                        due = Some(calm_at);
                        continue;
                    }
                    _ => route,
                }
            } else {
                continue;
            };
            // The window is full: this one waits for answers to the others.
            let Some(room) = window.room.checked_sub(1) else {
                window.held_back = true;
                continue;
            };
            if let Some(t) = conns.get_mut(at) {
                window.room = room;
                self.request_move(t, route, retries, now, chores);
            }
        }
        due
    }

    /// Proposes `route` to the peer of `t`: a move away from its own pair makes it the
    /// end that fled (the one that later goes home).
    fn request_move(
        &self,
        t: &mut Tracked<F::Addr>,
        route: u8,
        retries: u8,
        now: u64,
        chores: &mut Chores<F::Addr>,
    ) {
        let pcb = t.conn.wire_pcb();
        let Some(alt) = t.conn.propose(route, retries) else {
            return;
        };
        let own = t.conn.routes.find(t.conn.tuple.laddr, t.conn.tuple.faddr);
        if Some(route) != own {
            t.conn.fled = true;
        }
        t.requested_ms = now;
        t.transmissions = 0;
        self.transmit(t, &pcb, &alt, now, chores);
    }

    /// Counts and logs, once per change, a connection left on a failed pair because no
    /// other route is up, free and not refused.
    fn note_stranded(&self, t: &mut Tracked<F::Addr>) {
        if t.stranded {
            return;
        }
        t.stranded = true;
        self.counters.stranded.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "switchover: port {} has no route that avoids the failed link; staying until \
                 something changes\n",
                t.conn.tuple.lport
            );
        }
    }

    /// Sends (again) the request of `t` for `alt`.
    pub(super) fn transmit(
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
        t.transmissions = t.transmissions.saturating_add(1);
        // Over the proposed route itself: the old one is dead.
        let plain = Plaintext::Route(*alt);
        let Some(job) = Self::seal_job(t, CODE_SET_ALT_ROUTE, pcb, plain, alt.src, alt.dst) else {
            return;
        };
        if chores.send(job) {
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
        }
        t.next_try_ms = now + u64::from(self.retry_interval(t));
    }

    /// Repeats unanswered requests that are due, or gives up on them.
    pub(super) fn retransmit(
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
            let Some(pending) = t.conn.pending else {
                continue;
            };
            // The requests of a run are due from when the run began, and the peer has
            // to open (and answer) all of them as this end sealed them: that long again
            // for the peer's work and as long for its answers' sealing.
            let due = t.next_try_ms + 2 * u64::from(self.send_ms.load(Ordering::Relaxed));
            if due > now {
                next = earliest(next, Some(due));
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
            next = earliest(next, Some(t.next_try_ms));
        }
        next
    }

    /// Under the `conns` lock: copies into `entries` (room reserved outside the lock) the
    /// connections that moved, are moving or ever moved, and sums them up for the packet
    /// path's filter. False if `entries` had too little room (nothing to publish then).
    pub(super) fn collect_moved(
        conns: &Table<Tracked<F::Addr>>,
        range: Range<usize>,
        entries: &mut KVVec<MovedEntry<F::Addr>>,
        words: &mut [u64; PORT_FILTER_BITS / 64],
    ) -> bool {
        for t in conns.used_in(range).filter_map(|at| conns.get(at)) {
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
    pub(super) fn publish_moved(
        &self,
        entries: KVVec<MovedEntry<F::Addr>>,
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
            let index = KVVec::from_elem(0u32, port_index_slots(entries.len()), GFP_KERNEL)
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
}

// SPDX-License-Identifier: GPL-2.0

//! The packet path: stacking a home address's packets out (care-of on the wire), restoring
//! stacked packets in, and finding the care-of address a home agent's tunnel delivers to.

#![forbid(unsafe_code)]

use super::*;

pub(super) fn stacking_error(e: StackingError) -> &'static str {
    match e {
        StackingError::Truncated => "truncated option",
        StackingError::UnknownType(_) => "unknown stacking type",
        StackingError::WrongLength => "wrong option length",
        StackingError::NotStacking => "not a stacking header",
        StackingError::Duplicate => "two stacking options",
        StackingError::BadAddress => "an address no node can have as its home",
    }
}

impl<F: StackPath> Home<F> {
    pub(super) fn peer_careof(&self, dst: F::Addr) -> Option<F::Addr> {
        if self.bound.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.bindings.lock().lookup(dst, now_ms())
    }

    /// Whether `home` is bound to `careof`, by an authenticated update or by the
    /// administrator, and the binding has not lapsed.
    pub(super) fn is_bound(&self, home: F::Addr, careof: F::Addr) -> bool {
        self.bound.load(Ordering::Relaxed) != 0
            && self.bindings.lock().is_bound(home, careof, now_ms())
    }

    /// A stacked packet from this node's home address leaves for `correspondent`: makes
    /// sure the correspondent hears an authenticated binding update (before the packet
    /// when none was sent yet: the ticker runs at once, and the packet may need to be sent
    /// again, as the first packet of any new path may).
    pub(super) fn note_correspondent(&self, correspondent: F::Addr) {
        if !self.has_key.load(Ordering::Acquire) {
            return;
        }
        if self.updates.lock().note(correspondent, now_ms()) {
            self.ticker.arm(0);
        }
    }

    /// A locally generated packet (LOCAL_OUT, before routing by source domain): from the
    /// home address or to a bound peer, it leaves stacked between care-of addresses.
    pub(crate) fn egress(&self, packet: &mut Packet<'_>) -> Verdict {
        let (src, dst) = F::addrs(packet);
        if !F::leaves_link(packet, src, dst) {
            return Verdict::Accept;
        }
        if !self.in_use() {
            return Verdict::Accept;
        }
        let config = self.config();
        let Some(out) = home::egress(&config, self.peer_careof(dst), src, dst) else {
            return Verdict::Accept;
        };
        if out.stacking.sender_home().is_some() {
            self.note_correspondent(out.dst);
        }
        match F::stack(packet, &out) {
            Ok(()) => {
                self.counters.stacked.fetch_add(1, Ordering::Relaxed);
                Verdict::Accept
            }
            Err(e) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                if net_ratelimit() {
                    pr_warn!(
                        "home: a packet from the home address could not be stacked (error {}; IPv4 options of its own are not stacked): dropped\n",
                        e.to_errno()
                    );
                }
                Verdict::Drop(e)
            }
        }
    }

    /// An arriving packet (PRE_ROUTING): if it is for this node and stacks home addresses,
    /// its socket sees them, and the sender's binding is remembered.
    pub(crate) fn ingress(&self, packet: &mut Packet<'_>) -> Verdict {
        if !self.in_use() {
            return Verdict::Accept;
        }
        let (src, dst) = F::addrs(packet);
        let found = match F::find(packet) {
            Ok(None) => return self.arrived_unstacked(packet, dst),
            Ok(Some(found)) => Ok(found),
            Err(e) => Err(e),
        };
        // Routers pass stacked packets on: only the addressee restores them.
        if !F::is_local(packet, dst) {
            return Verdict::Accept;
        }
        let found = match found {
            Ok(found) => found,
            Err(e) => return self.refuse(src, stacking_error(e)),
        };
        let bound = |home, careof| self.is_bound(home, careof) && !F::is_local(packet, home);
        let restored = match home::ingress(&self.config(), &found.stacking, src, dst, bound) {
            Ok(restored) => restored,
            Err(RestoreError::NotOurs) => {
                return self.refuse(src, "it stacks a home address that is not this node's")
            }
            Err(RestoreError::Impossible) => {
                return self.refuse(src, "it stacks this node's address or its own source")
            }
            Err(RestoreError::Unbound) => {
                if let Some(home) = found.stacking.sender_home() {
                    if self.errors.lock().push(src, dst, home, now_ms()) {
                        self.ticker.arm(0);
                    }
                }
                return self.refuse(
                    src,
                    "no authenticated binding of its sender's home address to its source",
                );
            }
        };
        if let Err(e) = F::unstack(packet, &found, restored.src, restored.dst) {
            return Verdict::Drop(e);
        }
        self.counters.restored.fetch_add(1, Ordering::Relaxed);
        Verdict::Accept
    }

    /// Draft 2.3.4: a packet for the home address without stacked addresses, while the
    /// home address is outside the domains, came through the home agent's tunnel (IP in
    /// IP, decapsulated by the stack before it passes here again). With no care-of
    /// address configured, the node finds its co-located care-of address: the local end
    /// of the tunnel it arrived by if that is one of its provider addresses, else the
    /// first such address on its interfaces. What it sends from the home address (the
    /// SYN-ACK first) then leaves stacked from there, and the peer learns where to reach
    /// it directly. A SYN that came this way advertises an MSS lowered as stacking
    /// needs, since the answers leave stacked. Back at home (the home address inside a
    /// domain), a found care-of address is forgotten.
    pub(super) fn arrived_unstacked(&self, packet: &mut Packet<'_>, dst: F::Addr) -> Verdict {
        let away = {
            // Held throughout: nothing in here sleeps, and the table says what is routed.
            let guard = rcu::read_lock();
            let snapshot = self.family.snapshot(&guard);
            let Some(home) = snapshot.own_home.filter(|&home| home == dst) else {
                return Verdict::Accept;
            };
            if snapshot.table.domain_of(home).is_some() {
                if self.has_found.load(Ordering::Acquire) {
                    self.set_found_careof(None);
                }
                return Verdict::Accept;
            }
            self.counters.tunnelled.fetch_add(1, Ordering::Relaxed);
            snapshot.careof.is_some() || self.find_careof(packet, snapshot, home)
        };
        if away {
            if let Err(e) = F::lower_mss(packet) {
                return Verdict::Drop(e);
            }
        }
        Verdict::Accept
    }

    /// Finds the care-of address for packets reaching `home` through the home agent (see
    /// [`Self::arrived_unstacked`]), unless the one found before is still this node's;
    /// returns whether there is one.
    pub(super) fn find_careof(
        &self,
        packet: &Packet<'_>,
        snapshot: &crate::domains::Snapshot<F>,
        home: F::Addr,
    ) -> bool {
        if self.has_found.load(Ordering::Acquire) {
            let found = *self.found_careof.lock();
            if F::is_local(packet, found) {
                return true;
            }
        }
        let tunnel = packet.tunnel_local();
        let local = LocalAddrsNow::<LOCAL_ADDRS_SEEN>::read(self.net.get(), F::AF);
        let careof = home::careof_from_interfaces(
            home,
            Iterator::chain(tunnel.iter(), local.addrs()).map(|glue| F::Addr::read(glue)),
            |addr| {
                snapshot
                    .table
                    .domain_of(addr)
                    .is_some_and(|domain| domain.router.is_some())
            },
        );
        self.set_found_careof(careof);
        if net_ratelimit() {
            let mut buf = [[0u8; 48]; 2];
            let [home_buf, careof_buf] = &mut buf;
            let (mut shown_home, mut shown_careof) =
                (FixedBuf::new(home_buf), FixedBuf::new(careof_buf));
            let _ = F::write_addr(&mut shown_home, home);
            let home_text = core::str::from_utf8(shown_home.as_bytes()).unwrap_or("?");
            match careof {
                Some(careof) => {
                    let _ = F::write_addr(&mut shown_careof, careof);
                    pr_info!(
                        "home: {} is reached through its home agent; care-of address {} found on the interfaces\n",
                        home_text,
                        core::str::from_utf8(shown_careof.as_bytes()).unwrap_or("?")
                    );
                }
                None => pr_warn!(
                    "home: {} is reached through its home agent, but no interface has an address of a domain with a router: replies leave unstacked\n",
                    home_text
                ),
            }
        }
        careof.is_some()
    }

    pub(super) fn refuse(&self, src: F::Addr, why: &str) -> Verdict {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            let mut buf = [0u8; 48];
            let mut shown = FixedBuf::new(&mut buf);
            let _ = F::write_addr(&mut shown, src);
            pr_warn!(
                "home: dropping a stacked packet from {}: {}\n",
                core::str::from_utf8(shown.as_bytes()).unwrap_or("?"),
                why
            );
        }
        Verdict::Drop(EINVAL)
    }
}

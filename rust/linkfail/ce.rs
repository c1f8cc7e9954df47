// SPDX-License-Identifier: GPL-2.0

//! The CE router's side: announcing its uplink's and its peers' state on the LAN (each change
//! repeated, failures refreshed), keepalives to its peers, probing its PE, and answering the
//! hosts' solicitations.

#![forbid(unsafe_code)]

use super::*;
use crate::ffi::events;

/// A queued solicitation, if any: the host, our address it asked, the interface it came on.
type QueuedSolicitation<A> = Option<(A, A, i32)>;

impl LinkFail {
    /// The CE role: a solicitation from host `src` to our address `dst`, arrived on `iif`
    /// (TTL 255): queued for the work item, within the host's limit and the queue's room.
    pub(super) fn solicited_by<F: HostFamily>(
        &self,
        src: F::Addr,
        dst: F::Addr,
        iif: i32,
    ) -> Verdict {
        if F::solicits(self).lock().push(src, dst, iif, now_ms()) {
            self.arm(0);
        }
        Verdict::Drop(EINVAL)
    }

    /// What a solicitation is answered with: the PE's last announced state (its uplink
    /// works if nothing was announced since this CE started) and each peer's, as
    /// (code, slot, announcement).
    pub(super) fn current_states(&self) -> [Option<(u8, Slot, Announced)>; ANNOUNCEMENTS] {
        let announcing = *self.announcing.lock();
        let lifetime_s = self.timing().lifetime_s();
        let mut states = [None; ANNOUNCEMENTS];
        for (slot, (state, out)) in announcing.iter().zip(states.iter_mut()).enumerate() {
            let (code, seq) = match state {
                Some(a) => (a.code, a.seq),
                None if slot == PE_SLOT => (CODE_LINK_RESTORED, 0),
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
            *out = Some((code, slot, announced));
        }
        states
    }

    /// Answers the queued solicitations (IPv4 and IPv6) that came from a LAN interface of
    /// this CE: a unicast notice (TTL 255, sealed under the site key if there is one) of
    /// each of [`LinkFail::current_states`], from the address the host asked.
    pub(super) fn answer_solicitations(&self, config: &CeConfig) {
        let pending = self.solicits.lock().take();
        let pending6 = self.solicits6.lock().take();
        if config.uplink == 0 {
            return;
        }
        let states = self.current_states();
        let mut key = self.site_key();
        self.answer::<V4>(config, &pending, &states, key.as_ref());
        self.answer::<V6>(config, &pending6, &states, key.as_ref());
        if let Some(key) = key.as_mut() {
            wipe(key);
        }
    }

    /// Answers the `pending` solicitations of family `F` that came from a LAN interface.
    fn answer<F: HostFamily>(
        &self,
        config: &CeConfig,
        pending: &[QueuedSolicitation<F::Addr>],
        states: &[Option<(u8, Slot, Announced)>],
        key: Option<&[u8; KEY_LEN]>,
    ) {
        let net = self.net.get();
        let time_ms = real_ns() / 1_000_000;
        let from_lan = |iif: i32| iif != 0 && config.lan.contains(&iif);
        for &(host, ours, iif) in pending.iter().flatten().filter(|p| from_lan(p.2)) {
            let mut ours_octets = [0u8; 16];
            ours.write(&mut ours_octets);
            for &(code, slot, announced) in states.iter().flatten() {
                let seal = key.map(|key| Seal {
                    key,
                    src: &ours_octets[..F::Addr::LEN],
                    time_ms,
                });
                let mut message = [0u8; NOTICE6_MAX];
                let len = F::write_announcement(
                    self,
                    config,
                    (code, slot),
                    &announced,
                    seal.as_ref(),
                    &mut message,
                );
                // A peer this family has no address for: nothing to say in it.
                if len == 0 {
                    continue;
                }
                if F::send_unicast(net, ours, host, iif, &message[..len]).is_ok() {
                    F::answered(self).fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// How IPv4 notices name what `slot` stands for: the PE by `pe_addr`'s IPv4 address
    /// (0 if it has none: a code 1 then concerns its sender's domains), a peer by
    /// `peers`' (0: the peer has no IPv4 name, and nothing about it goes out in IPv4).
    pub(super) fn gateway4(&self, config: &CeConfig, slot: Slot) -> u32 {
        match slot {
            PE_SLOT => config.pe,
            peer => self
                .peers
                .get(peer - 1)
                .map_or(0, |p| p.load(Ordering::Relaxed)),
        }
    }

    /// How IPv6 notices name it: by its IPv6 address (`pe_addr`'s, `peers6`'), else by
    /// its IPv4-mapped address; 0 for a peer with neither. (Lock-free: a notice built while
    /// `peers6` is being rewritten may name the peer by a half of each address, the next
    /// one by the new address.)
    pub(super) fn gateway6(&self, config: &CeConfig, slot: Slot) -> u128 {
        let own = match slot {
            PE_SLOT => config.pe6,
            peer => self.peers6.get(peer - 1).map_or(0, AtomicAddr6::load),
        };
        match (own, self.gateway4(config, slot)) {
            (0, 0) if slot != PE_SLOT => 0,
            (0, v4) => ipv4_mapped(v4),
            (own, _) => own,
        }
    }

    /// How the log names what `slot` stands for.
    fn subject<'b>(&self, config: &CeConfig, slot: Slot, buf: &'b mut [u8; 48]) -> &'b str {
        match self.gateway4(config, slot) {
            0 => ipv6::canonical(self.gateway6(config, slot), buf),
            v4 => match buf.first_chunk_mut::<16>() {
                Some(buf) => ipv4::dotted(v4, buf),
                None => "?",
            },
        }
    }

    /// A keepalive to `peer` (unicast, TTL 255), sealed under the site key if there is one
    /// (then from the primary address of the interface towards the peer, which the seal
    /// names). A peer that cannot be reached is what the misses detect: errors are ignored.
    pub(super) fn send_keepalive(&self, peer: u32) {
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

    /// A keepalive to `peer` over IPv6 (unicast, hop limit 255), sealed under the site key
    /// if there is one. It goes from each of this CE's IPv6 addresses on the interface
    /// towards the peer (each LAN interface for a link-local peer): the peer knows this CE
    /// by one of them, as hosts do (`peers6` holds the addresses hosts know the CEs by),
    /// and counts the others as ignored. Only over the LAN: a peer whose address is
    /// routed elsewhere (no on-link route to its prefix) would get it with a lower hop
    /// limit and refuse it; such a peer never hears us in IPv6, so it never starts
    /// watching us there (a peer is watched once heard).
    pub(super) fn send_keepalive6(&self, config: &CeConfig, peer: u128) {
        let net = self.net.get();
        let Ok(addrs) = inet::local_addrs(net, kernel::bindings::AF_INET6 as i32) else {
            return;
        };
        let link_local = ipv6::is_link_local(peer);
        let mut oifs = [0i32; MAX_LAN];
        if link_local {
            oifs = config.lan;
        } else if let Ok(oif) = inet::route_oif(
            net,
            kernel::bindings::AF_INET6 as i32,
            &peer.to_be_bytes(),
            0,
        ) {
            if config.lan.contains(&oif) {
                oifs[0] = oif;
            }
        }
        let keepalive = Notice6 {
            code: CODE_KEEPALIVE,
            gateway: peer,
        };
        let announced = Announced {
            copy: 0,
            lifetime_s: 0,
            boot: self.boot,
            seq: 0,
        };
        let mut key = self.site_key();
        for &oif in oifs.iter().filter(|&&i| i != 0) {
            for (octets, _) in addrs.iter().filter(|(_, i)| *i == oif) {
                let mut message = [0u8; NOTICE6_MAX];
                let len = match key.as_ref() {
                    Some(key) => {
                        let seal = Seal {
                            key,
                            src: octets,
                            time_ms: real_ns() / 1_000_000,
                        };
                        write_announced6(
                            crate::params::icmp6_type(),
                            &keepalive,
                            &announced,
                            Some(&seal),
                            &mut message,
                        )
                    }
                    None => match message.first_chunk_mut::<NOTICE6_LEN>() {
                        Some(head) => {
                            write_notice6(crate::params::icmp6_type(), &keepalive, head);
                            NOTICE6_LEN
                        }
                        None => 0,
                    },
                };
                let src = u128::from_be_bytes(*octets);
                let scope = if link_local { oif } else { 0 };
                let _ = inet::send_icmp6(net, Some(src), peer, scope, 255, &message[..len]);
            }
        }
        if let Some(key) = key.as_mut() {
            wipe(key);
        }
    }

    /// The primary IPv4 address of interface `ifindex` (0: none): where this CE's
    /// broadcasts on it come from, and what their seal names.
    pub(super) fn primary_addr4(&self, ifindex: i32) -> u32 {
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
    pub(super) fn timing(&self) -> Timing {
        Timing {
            repeat_ms: self.repeat_ms.load(Ordering::Relaxed),
            repeats: self.repeats.load(Ordering::Relaxed),
            refresh_ms: self.refresh_ms.load(Ordering::Relaxed),
        }
    }

    /// The CE role: what the batch says of the uplink. A failure is announced even if
    /// the uplink works again by now (then followed by its recovery).
    pub(super) fn uplink_events(&self, batch: &DeviceBatch<'_>) {
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
    pub(super) fn uplink_now(&self, config: &CeConfig, usable: bool) {
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
        self.broadcast(config, code, PE_SLOT);
    }

    /// One echo probe of the PE (sleeps up to `wait_ms`), over IPv4 if it has an IPv4
    /// address, else over IPv6. `keepalive_misses` unanswered
    /// probes in a row on a link that is up count as the uplink failing (code 1); an
    /// answer after that, as its recovery (code 5).
    pub(super) fn probe_pe(&self, config: &CeConfig, wait_ms: u32) {
        let mut pe = [0u8; 16];
        let family = if config.pe != 0 {
            pe[..4].copy_from_slice(&config.pe.to_be_bytes());
            kernel::bindings::AF_INET
        } else {
            pe = config.pe6.to_be_bytes();
            kernel::bindings::AF_INET6
        };
        let mut rtt = [0u32; 1];
        let probed = inet::probe_rtts(
            self.net.get(),
            family as i32,
            &[[0u8; 16]],
            &[pe],
            wait_ms,
            &mut rtt,
        );
        let usable = self.uplink_usable.load(Ordering::Relaxed);
        if probed.is_ok() && rtt[0] > 0 {
            self.pe_missed.store(0, Ordering::Relaxed);
            if self.pe_silent.swap(false, Ordering::Relaxed) && usable {
                self.broadcast(config, CODE_LINK_RESTORED, PE_SLOT);
            }
            return;
        }
        let missed = self.pe_missed.fetch_add(1, Ordering::Relaxed) + 1;
        if missed >= self.keepalive_misses.load(Ordering::Relaxed)
            && !self.pe_silent.swap(true, Ordering::Relaxed)
            && usable
        {
            self.uplink_failed_ns.store(real_ns(), Ordering::Relaxed);
            self.broadcast(config, CODE_CE_PE_LINK, PE_SLOT);
        }
    }

    /// Announces a state change of what `slot` stands for (the PE, or a peer CE): the
    /// first copy now, the repetitions and refreshes from the work item (see [`Timing`]).
    /// A newer state of the same slot replaces the copies of the older one still to go.
    pub(super) fn broadcast(&self, config: &CeConfig, code: u8, slot: Slot) {
        let now = now_ms();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut announcement = Announcement::new(code, slot, seq, now);
        let copy = announcement.take_copy(&self.timing(), self.boot, now);
        if let Some(place) = self.announcing.lock().get_mut(slot) {
            *place = Some(announcement);
        }
        if let Some(next) = announcement.next_ms {
            self.arm(ms_until(next, now));
        }
        self.send_notice(config, code, slot, &copy);
        if net_ratelimit() {
            let what = if code == CODE_LINK_RESTORED {
                "works"
            } else {
                "failed"
            };
            let whose = if slot == PE_SLOT {
                "uplink to PE"
            } else {
                "peer CE"
            };
            pr_info!(
                "CE: {} {} {}: broadcast ICMP {} code {} (sequence {})\n",
                whose,
                self.subject(config, slot, &mut [0; 48]),
                what,
                crate::params::icmp_type(),
                code,
                seq
            );
        }
    }

    /// Sends the copies of announcements that are due at `now`, and arms the work item
    /// for the next.
    pub(super) fn send_due_copies(&self, config: &CeConfig, now: u64) {
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
        for (code, slot, copy) in due.iter().flatten() {
            self.send_notice(config, *code, *slot, copy);
        }
        if let Some(at) = next {
            self.arm(ms_until(at, now));
        }
    }

    /// Forgets the announcements about the PE (`pe`) or the peers (`!pe`), with their
    /// copies still to go: their subject was configured anew.
    pub(super) fn forget_announcements(&self, pe: bool) {
        let mut announcing = self.announcing.lock();
        for (i, place) in announcing.iter_mut().enumerate() {
            if (i == 0) == pe {
                *place = None;
            }
        }
    }

    /// One copy of an announcement: broadcast on every LAN interface with an IPv4
    /// address, and its IPv6 form. A peer known only by an IPv6 address is announced in
    /// IPv6 only.
    pub(super) fn send_notice(
        &self,
        config: &CeConfig,
        code: u8,
        slot: Slot,
        announced: &Announced,
    ) {
        let mut key = self.site_key();
        let gateway = self.gateway4(config, slot);
        let ipv4 = gateway != 0 || slot == PE_SLOT;
        for &ifindex in config.lan.iter().filter(|&&i| ipv4 && i != 0) {
            // The notice comes from the interface's address (and a sealed one names it);
            // on a link without IPv4 no host could take it from us.
            let primary = self.primary_addr4(ifindex);
            if primary == 0 {
                continue;
            }
            // Unsealed, the stack picks the same address.
            let src = if key.is_some() { primary } else { 0 };
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
                    // Its first copy, per interface; the repetitions are not news.
                    events::Event::new::<u32>(events::Kind::NoticeSent)
                        .code(code)
                        .addr(events::Addr::Gateway, gateway)
                        .ifindex(ifindex)
                        .announce(self.net.get());
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
        self.multicast6(config, code, slot, announced, key.as_ref());
        if let Some(key) = key.as_mut() {
            wipe(key);
        }
    }

    /// The IPv6 form of a notice: to all nodes on every LAN interface, from each of its
    /// IPv6 addresses. Nothing on interfaces without one.
    pub(super) fn multicast6(
        &self,
        config: &CeConfig,
        code: u8,
        slot: Slot,
        announced: &Announced,
        key: Option<&[u8; KEY_LEN]>,
    ) {
        let gateway = self.gateway6(config, slot);
        if gateway == 0 {
            return;
        }
        let notice = Notice6 { code, gateway };
        let net = self.net.get();
        let Ok(addrs) = inet::local_addrs(net, kernel::bindings::AF_INET6 as i32) else {
            return;
        };
        for &ifindex in config.lan.iter().filter(|&&i| i != 0) {
            let mut first_on_link = true;
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
                        // Its first copy on the link (the others are the same notice under
                        // the CE's other addresses).
                        if core::mem::take(&mut first_on_link) {
                            events::Event::new::<u128>(events::Kind::NoticeSent)
                                .code(code)
                                .addr(events::Addr::Gateway, gateway)
                                .ifindex(ifindex)
                                .announce(self.net.get());
                        }
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

    /// A keepalive from `src`: only peer CEs send them. An IPv6 peer sends one from each
    /// of its addresses on the link; those from the addresses this CE does not know it by
    /// are ignored, not refused.
    pub(super) fn heard<F: HostFamily>(&self, src: F::Addr) -> Verdict {
        let Some(i) = F::peer_index(self, src) else {
            if F::KEEPALIVE_COPIES && self.peers6.iter().any(|p| p.load() != 0) {
                F::host(self).ignored.fetch_add(1, Ordering::Relaxed);
                return Verdict::Drop(EINVAL);
            }
            return self.refuse::<F>(src, "a keepalive from a router that is not a peer");
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
}

// SPDX-License-Identifier: GPL-2.0

//! The host's side: the notices heard, which domains they mark down (and until when), and
//! asking the domains' routers for their state.

#![forbid(unsafe_code)]

use super::*;
use crate::ffi::events;
use crate::logic::{
    agree::{
        CODE_KEY_ANSWER,
        CODE_KEY_OFFER, //
    },
    announce::Hearing,
    linkfail::WireError,
    prefix::Bits, //
};

/// Why a notice marked nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unmatched {
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
pub(super) fn on_routers_link<F: Family>(
    net: &Net,
    router: F::Addr,
    router_ifindex: i32,
    iif: i32,
) -> bool {
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
pub(super) fn concerned_domains<F: Family>(
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

/// Announces the domains whose marks changed from `before` to `after` (bit per domain).
fn announce_marks<A: WireAddr>(net: &Net, before: u32, after: u32) {
    for index in 0..MAX_DOMAINS as u8 {
        let bit = 1u32 << index;
        let kind = match (before & bit != 0, after & bit != 0) {
            (false, true) => events::Kind::DomainDown,
            (true, false) => events::Kind::DomainUp,
            _ => continue,
        };
        events::Event::new::<A>(kind).domain(index).announce(net);
    }
}

/// What the host role keeps per family: the notices heard, the domains they mark down, and
/// the routers to ask for their state.
#[pin_data]
pub(crate) struct HostSide<A: Copy + Eq + Unpin> {
    /// Domains marked down by a notice, bit per domain number, as of the last look at
    /// `heard` (the packet path and selection read this).
    down: AtomicU32,
    /// When the next mark in `heard` lapses (ms; `u64::MAX`: none will): `down` is stale
    /// from then on.
    lapse_ms: AtomicU64,
    /// The notices heard, which make `down`.
    #[pin]
    heard: SpinLockIrq<HeardNotices<A, HEARD>>,
    /// Notices accepted (the first copy of each).
    pub(super) received: AtomicU64,
    /// Copies of known notices heard.
    pub(super) repeated: AtomicU64,
    /// Notices older than one heard before from the same CE about the same gateway (a late
    /// copy): ignored.
    pub(super) stale: AtomicU64,
    /// Notices refused (malformed, wrong TTL or hop limit, not from a default router).
    pub(super) refused: AtomicU64,
    /// IPv6: notices from a link-local address that is no router of ours, the copy a CE
    /// sends under the address its hosts do not know it by.
    pub(super) ignored: AtomicU64,
    /// The routers to ask for their state at the next run (unspecified: none), with the
    /// interfaces that scope them.
    #[pin]
    to_solicit: SpinLockIrq<[(A, i32); MAX_DOMAINS]>,
    /// Solicitations sent.
    pub(super) solicited: AtomicU64,
}

impl<A: WireAddr + Copy + Eq + Unpin> HostSide<A> {
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            down: AtomicU32::new(0),
            lapse_ms: AtomicU64::new(u64::MAX),
            heard <- new_spinlock_irq!(HeardNotices::new()),
            received: AtomicU64::new(0),
            repeated: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
            to_solicit <- new_spinlock_irq!([(A::ZERO, 0); MAX_DOMAINS]),
            solicited: AtomicU64::new(0),
        })
    }

    /// The domains down now by the notices heard; `down` and `lapse_ms` cache them until
    /// the next mark lapses. A lapse is logged: the CE that marked them stopped refreshing
    /// its failure (a lost restoration notice, or the CE itself gone).
    pub(super) fn current_marks(&self, family: &str, net: &Net) -> u32 {
        let now = now_ms();
        if now < self.lapse_ms.load(Ordering::Relaxed) {
            return self.down.load(Ordering::Relaxed);
        }
        let (before, after) = {
            let heard = self.heard.lock();
            let after = heard.down_mask(now);
            self.lapse_ms
                .store(heard.next_lapse(now).unwrap_or(u64::MAX), Ordering::Relaxed);
            (self.down.swap(after, Ordering::Relaxed), after)
        };
        if before & !after != 0 && net_ratelimit() {
            pr_info!(
                "{} link notice marks lapsed, not refreshed: domains {:#x} up again\n",
                family,
                before & !after
            );
        }
        announce_marks::<A>(net, before, after);
        after
    }

    /// Records a notice (sender, gateway, code) marking `domains`, and publishes the marks
    /// it leaves; returns what hearing it did.
    fn hear(&self, notice: (A, A, u8), announced: Option<Announced>, domains: u32) -> Hearing {
        let (sender, gateway, code) = notice;
        let now = now_ms();
        let mut heard = self.heard.lock();
        let hearing = heard.hear(sender, gateway, code, announced, domains, now);
        self.down.store(hearing.after, Ordering::Relaxed);
        self.lapse_ms
            .store(heard.next_lapse(now).unwrap_or(u64::MAX), Ordering::Relaxed);
        hearing
    }

    /// Remembers the default routers of `domains` to ask; whether there is any.
    fn ask<F: Family<Addr = A>>(&self, domains: &FamilyState<F>) -> bool {
        let mut routers = [(A::ZERO, 0i32); MAX_DOMAINS];
        {
            let guard = kernel::sync::rcu::read_lock();
            let table = &domains.snapshot(&guard).table;
            let found = table.domains().filter_map(|d| d.router);
            for (slot, router) in routers.iter_mut().zip(found) {
                *slot = (router.addr, router.ifindex);
            }
        }
        if routers.iter().all(|&(r, _)| r == A::ZERO) {
            return false;
        }
        *self.to_solicit.lock() = routers;
        true
    }

    /// Whether routers wait to be asked.
    fn asked(&self) -> bool {
        self.to_solicit.lock().iter().any(|&(r, _)| r != A::ZERO)
    }

    /// The routers to ask now (forgotten here).
    fn take_asked(&self) -> [(A, i32); MAX_DOMAINS] {
        core::mem::replace(&mut *self.to_solicit.lock(), [(A::ZERO, 0); MAX_DOMAINS])
    }
}

/// What the host role does differently per family; everything else is one path.
pub(crate) trait HostFamily: Family {
    /// The longest message read: an exchange message and one octet more (a longer one is
    /// refused as such).
    const MESSAGE_MAX: usize;
    /// The family's state in `linkfail`.
    fn host(linkfail: &LinkFail) -> &HostSide<Self::Addr>;
    /// Whether the message's checksum verifies, where the family needs the addresses for
    /// it (ICMPv6); IPv4 notices verify theirs as they are parsed, exchange messages in
    /// the switchover.
    fn checksum_ok(src: Self::Addr, dst: Self::Addr, message: &[u8]) -> bool;
    /// Parses a notice: its code, gateway and sitemh's tail.
    fn parse(
        message: &[u8],
        src: Self::Addr,
        dst: Self::Addr,
    ) -> Result<(u8, Self::Addr, Tail), WireError>;
    /// The CE role's queue of the hosts' solicitations.
    fn solicits(linkfail: &LinkFail) -> &SpinLockIrq<Solicitations<Self::Addr>>;
    /// The CE role's count of notices sent in answer.
    fn answered(linkfail: &LinkFail) -> &AtomicU64;
    /// The CE role: writes announcement `(code, slot)` as this family's notice into `out`,
    /// naming the slot as [`LinkFail::gateway4`] / [`LinkFail::gateway6`] do; returns its
    /// length, 0 if this family has no name for a peer (nothing to say in it).
    fn write_announcement(
        linkfail: &LinkFail,
        config: &CeConfig,
        notice: (u8, Slot),
        announced: &Announced,
        seal: Option<&Seal<'_>>,
        out: &mut [u8; NOTICE6_MAX],
    ) -> usize;
    /// The CE role: sends `message` from `ours` to `host`, on the link of `iif`, TTL 255.
    fn send_unicast(
        net: &Net,
        ours: Self::Addr,
        host: Self::Addr,
        iif: i32,
        message: &[u8],
    ) -> Result;
    /// Whether a peer sends its keepalives in this family from each of its addresses
    /// (IPv6), so that one from an address that is no peer's may be a copy, not a forgery.
    const KEEPALIVE_COPIES: bool;
    /// Whether a notice from `src`, which is no router of ours, is a copy the CE sent
    /// from another of its addresses (IPv6: its link-local address, or to all nodes).
    fn copy_from_another_address(src: Self::Addr, dst: Self::Addr, announced: bool) -> bool;
    /// Which of this CE router's peers `src` is (`peers`, `peers6`), if any: a peer's
    /// broadcasts reach the CEs of the LAN too, and are not forgeries.
    fn peer_index(linkfail: &LinkFail, src: Self::Addr) -> Option<usize>;
    /// Relays a notice onward if this router relays (IPv6: only one from an address that
    /// means something beyond the link, not a link-local one).
    fn relay(linkfail: &LinkFail, src: Self::Addr, iif: i32, message: &[u8]);
    /// Writes a solicitation into `out`; returns its length.
    fn write_solicit(out: &mut [u8; NOTICE6_LEN]) -> usize;
    /// Sends `message` to `router` (scoped to `ifindex`) with TTL 255.
    fn send_to_router(net: &Net, router: Self::Addr, ifindex: i32, message: &[u8]) -> Result;
}

/// A message of the module's ICMP type, as [`LinkFail::receive`] heard it.
struct Heard<'b, A> {
    transport: Transport,
    src: A,
    dst: A,
    message: &'b [u8],
}

impl HostFamily for V4 {
    const MESSAGE_MAX: usize = EXCHANGE_MAX;

    fn host(linkfail: &LinkFail) -> &HostSide<u32> {
        &linkfail.host4
    }

    fn checksum_ok(_src: u32, _dst: u32, _message: &[u8]) -> bool {
        true
    }

    fn parse(message: &[u8], _src: u32, _dst: u32) -> Result<(u8, u32, Tail), WireError> {
        let (notice, tail) = parse_announced(Self::icmp_type(), message)?;
        Ok((notice.code, notice.gateway, tail))
    }

    fn solicits(linkfail: &LinkFail) -> &SpinLockIrq<Solicitations<u32>> {
        &linkfail.solicits
    }

    fn answered(linkfail: &LinkFail) -> &AtomicU64 {
        &linkfail.answered
    }

    fn write_announcement(
        linkfail: &LinkFail,
        config: &CeConfig,
        (code, slot): (u8, Slot),
        announced: &Announced,
        seal: Option<&Seal<'_>>,
        out: &mut [u8; NOTICE6_MAX],
    ) -> usize {
        let gateway = linkfail.gateway4(config, slot);
        if gateway == 0 && slot != PE_SLOT {
            return 0;
        }
        match out.first_chunk_mut::<NOTICE_MAX>() {
            Some(out) => write_announced(
                Self::icmp_type(),
                &Notice { code, gateway },
                announced,
                seal,
                out,
            ),
            None => 0,
        }
    }

    fn send_unicast(net: &Net, ours: u32, host: u32, _iif: i32, message: &[u8]) -> Result {
        inet::send_icmp4(net, ours, host, 255, message)
    }

    const KEEPALIVE_COPIES: bool = false;

    fn copy_from_another_address(_src: u32, _dst: u32, _announced: bool) -> bool {
        false
    }

    fn peer_index(linkfail: &LinkFail, src: u32) -> Option<usize> {
        linkfail
            .peers
            .iter()
            .position(|peer| src != 0 && peer.load(Ordering::Relaxed) == src)
    }

    fn relay(linkfail: &LinkFail, src: u32, iif: i32, message: &[u8]) {
        linkfail.queue_relay(u128::from(src), false, iif, message);
    }

    fn write_solicit(out: &mut [u8; NOTICE6_LEN]) -> usize {
        let solicit = Notice {
            code: CODE_SOLICIT,
            gateway: 0,
        };
        match out.first_chunk_mut::<NOTICE_LEN>() {
            Some(head) => {
                write_notice(Self::icmp_type(), &solicit, head);
                NOTICE_LEN
            }
            None => 0,
        }
    }

    fn send_to_router(net: &Net, router: u32, _ifindex: i32, message: &[u8]) -> Result {
        inet::send_icmp4(net, 0, router, 255, message)
    }
}

impl HostFamily for V6 {
    const MESSAGE_MAX: usize = EXCHANGE6_MAX;

    fn host(linkfail: &LinkFail) -> &HostSide<u128> {
        &linkfail.host6
    }

    fn checksum_ok(src: u128, dst: u128, message: &[u8]) -> bool {
        icmpv6_checksum(src, dst, message) == 0
    }

    fn parse(message: &[u8], src: u128, dst: u128) -> Result<(u8, u128, Tail), WireError> {
        let (notice, tail) = parse_announced6(Self::icmp_type(), message, src, dst)?;
        Ok((notice.code, notice.gateway, tail))
    }

    fn solicits(linkfail: &LinkFail) -> &SpinLockIrq<Solicitations<u128>> {
        &linkfail.solicits6
    }

    fn answered(linkfail: &LinkFail) -> &AtomicU64 {
        &linkfail.answered6
    }

    fn write_announcement(
        linkfail: &LinkFail,
        config: &CeConfig,
        (code, slot): (u8, Slot),
        announced: &Announced,
        seal: Option<&Seal<'_>>,
        out: &mut [u8; NOTICE6_MAX],
    ) -> usize {
        let gateway = linkfail.gateway6(config, slot);
        if gateway == 0 {
            return 0;
        }
        let notice = Notice6 { code, gateway };
        write_announced6(Self::icmp_type(), &notice, announced, seal, out)
    }

    fn send_unicast(net: &Net, ours: u128, host: u128, iif: i32, message: &[u8]) -> Result {
        inet::send_icmp6(net, Some(ours), host, iif, 255, message)
    }

    const KEEPALIVE_COPIES: bool = true;

    fn copy_from_another_address(src: u128, dst: u128, announced: bool) -> bool {
        ipv6::is_link_local(src) || (announced && ipv6::is_multicast(dst))
    }

    fn peer_index(linkfail: &LinkFail, src: u128) -> Option<usize> {
        linkfail
            .peers6
            .iter()
            .position(|peer| src != 0 && peer.load() == src)
    }

    fn relay(linkfail: &LinkFail, src: u128, iif: i32, message: &[u8]) {
        // A link-local source names nobody on the links behind this router.
        if !ipv6::is_link_local(src) {
            linkfail.queue_relay(src, true, iif, message);
        }
    }

    fn write_solicit(out: &mut [u8; NOTICE6_LEN]) -> usize {
        let solicit = Notice6 {
            code: CODE_SOLICIT,
            gateway: 0,
        };
        write_notice6(Self::icmp_type(), &solicit, out);
        NOTICE6_LEN
    }

    fn send_to_router(net: &Net, router: u128, ifindex: i32, message: &[u8]) -> Result {
        inet::send_icmp6(net, None, router, ifindex, 255, message)
    }
}

impl LinkFail {
    /// IPv4 domains that notices marked down, bit per domain number.
    pub(crate) fn down_mask(&self) -> u32 {
        self.host4.current_marks("IPv4", self.net.get())
    }

    /// IPv6 domains that notices marked down, bit per domain number.
    pub(crate) fn down6_mask(&self) -> u32 {
        self.host6.current_marks("IPv6", self.net.get())
    }

    /// The host role: asks the default routers of the `v4` and `v6` domains for the state
    /// of their links, from the work item and at most once a second, so that a host
    /// configured (or whose interface came up) during an outage learns of it at once
    /// rather than at the next refresh. Their answers are notices like any other.
    pub(crate) fn solicit_routers(&self, v4: &FamilyState<V4>, v6: &FamilyState<V6>) {
        let asked4 = self.host4.ask(v4);
        let asked6 = self.host6.ask(v6);
        if asked4 || asked6 {
            self.arm(SOLICIT_DELAY_MS);
        }
    }

    /// Sends the solicitations asked for, when the last ones are a second old.
    pub(super) fn send_solicitations(&self, now: u64) {
        let next = self.next_solicit_ms.load(Ordering::Relaxed);
        if now < next {
            if self.host4.asked() || self.host6.asked() {
                self.arm(ms_until(next, now));
            }
            return;
        }
        let routers4 = self.host4.take_asked();
        let routers6 = self.host6.take_asked();
        if routers4.iter().all(|&(r, _)| r == 0) && routers6.iter().all(|&(r, _)| r == 0) {
            return;
        }
        self.next_solicit_ms
            .store(now + SOLICIT_INTERVAL_MS, Ordering::Relaxed);
        self.solicit::<V4>(&routers4);
        self.solicit::<V6>(&routers6);
    }

    /// Sends one solicitation to each router of `routers` (unspecified: none).
    fn solicit<F: HostFamily>(&self, routers: &[(F::Addr, i32)]) {
        let mut message = [0u8; NOTICE6_LEN];
        let len = F::write_solicit(&mut message);
        for (i, &(router, ifindex)) in routers.iter().enumerate() {
            if router == F::Addr::ZERO || routers[..i].contains(&(router, ifindex)) {
                continue;
            }
            if F::send_to_router(self.net.get(), router, ifindex, &message[..len]).is_ok() {
                F::host(self).solicited.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The host role: a packet for this host. Consumes valid and invalid notices of the
    /// module's ICMP type, calling `noticed` when one changed which of `domains` are down;
    /// hands messages of the authenticated exchange (codes 3 and 4) to `exchange` (source,
    /// message), and the module's route lists (codes 10 and 11) and key agreement (12 and
    /// 13) too; everything else passes.
    pub(crate) fn receive<F: HostFamily>(
        &self,
        domains: &FamilyState<F>,
        packet: &Packet<'_>,
        noticed: impl FnOnce(),
        exchange: impl FnOnce(F::Addr, &[u8]) -> Verdict,
    ) -> Verdict {
        let mut buffer = [0u8; EXCHANGE6_MAX];
        let buffer = &mut buffer[..F::MESSAGE_MAX.min(EXCHANGE6_MAX)];
        let Heard {
            transport,
            src,
            dst,
            message,
        } = match self.read_message::<F>(packet, buffer) {
            Ok(heard) => heard,
            Err(verdict) => return verdict,
        };
        if matches!(
            message[1],
            CODE_SET_ALT_ROUTE
                | CODE_ALT_ROUTE_ESTABLISHED
                | CODE_ROUTE_LIST
                | CODE_ROUTE_LIST_ACK
                | CODE_KEY_OFFER
                | CODE_KEY_ANSWER
        ) {
            return exchange(src, message);
        }
        // A host behind a router asking its domain's router, which is not on its link: not
        // a forgery, nothing to answer (the answer could not reach it with TTL 255).
        if message[1] == CODE_SOLICIT && transport.ttl != 255 {
            return Verdict::Drop(EINVAL);
        }
        let (code, gateway, tail) = match F::parse(message, src, dst) {
            Ok(parsed) if transport.ttl == 255 && transport.len == message.len() => parsed,
            _ => return self.refuse::<F>(src, "malformed, or not sent on the link (TTL != 255)"),
        };
        // A host asking for our state: not sealed (it teaches nothing), answered sealed.
        if code == CODE_SOLICIT {
            return self.solicited_by::<F>(src, dst, transport.iif);
        }
        let mut src_octets = [0u8; 16];
        src.write(&mut src_octets);
        if let Err(why) = self.authentic(message, &src_octets[..F::Addr::LEN], &tail) {
            return self.refuse::<F>(src, why);
        }
        if code == CODE_KEEPALIVE {
            return self.heard::<F>(src);
        }
        let announced = tail.announced;
        let marked = concerned_domains(packet.net(), domains, src, transport.iif, code, gateway);
        let matched = match marked {
            Ok(matched) => matched,
            Err(unmatched) => {
                return self.unmatched::<F>(
                    unmatched,
                    (src, dst),
                    transport.iif,
                    announced,
                    message,
                )
            }
        };
        self.heard_notice::<F>(
            src,
            gateway,
            code,
            announced,
            matched,
            transport.iif,
            message,
            noticed,
        )
    }

    /// The message of the module's ICMP type that `packet` carries, read into `buffer`;
    /// `Err` with the packet's verdict when it carries none (it passes) or one that is
    /// refused: our own broadcast looped back, or a bad checksum.
    fn read_message<'b, F: HostFamily>(
        &self,
        packet: &Packet<'_>,
        buffer: &'b mut [u8],
    ) -> Result<Heard<'b, F::Addr>, Verdict> {
        let Some(transport) = F::transport(packet, F::ICMP_PROTO, buffer) else {
            return Err(Verdict::Accept);
        };
        if transport.proto != F::ICMP_PROTO
            || transport.len == 0
            || buffer.first() != Some(&F::icmp_type())
        {
            return Err(Verdict::Accept);
        }
        if transport.looped {
            return Err(Verdict::Drop(EINVAL));
        }
        let (src, dst) = F::addrs(packet);
        let message = &buffer[..transport.len.min(buffer.len())];
        if !F::checksum_ok(src, dst, message) {
            return Err(self.refuse::<F>(src, "bad checksum"));
        }
        Ok(Heard {
            transport,
            src,
            dst,
            message,
        })
    }

    /// A notice that concerns none of our domains: refused, unless it is a copy the CE
    /// sent from another of its addresses.
    fn unmatched<F: HostFamily>(
        &self,
        unmatched: Unmatched,
        (src, dst): (F::Addr, F::Addr),
        iif: i32,
        announced: Option<Announced>,
        message: &[u8],
    ) -> Verdict {
        match unmatched {
            // A CE multicasts each IPv6 notice from each of its addresses on the link, and
            // a host knows it by one: the copies from the others are the same notice, not
            // a forgery. The hosts behind a relaying router may know the CE by one of
            // those others (a router names the CE by its link-local address, hosts off
            // the link cannot): relayed, as the accepted copy is.
            Unmatched::NotARouter
                if F::copy_from_another_address(src, dst, announced.is_some()) =>
            {
                F::host(self).ignored.fetch_add(1, Ordering::Relaxed);
                F::relay(self, src, iif, message);
                Verdict::Drop(EINVAL)
            }
            // Nor is a peer CE's broadcast, which its peers hear too.
            Unmatched::NotARouter if F::peer_index(self, src).is_some() => {
                F::host(self).ignored.fetch_add(1, Ordering::Relaxed);
                Verdict::Drop(EINVAL)
            }
            Unmatched::NotARouter => {
                self.refuse::<F>(src, "not from a default router of our domains")
            }
            Unmatched::OffLink => self.refuse::<F>(
                src,
                "not over the router's link (a tunnel, or another interface)",
            ),
        }
    }

    /// Records an accepted notice (relayed onward if this router relays) and reports a
    /// change of the domains down.
    #[allow(clippy::too_many_arguments)]
    fn heard_notice<F: HostFamily>(
        &self,
        src: F::Addr,
        gateway: F::Addr,
        code: u8,
        announced: Option<Announced>,
        matched: u32,
        iif: i32,
        message: &[u8],
        noticed: impl FnOnce(),
    ) -> Verdict {
        let host = F::host(self);
        let hearing = host.hear((src, gateway, code), announced, matched);
        match hearing.order {
            Order::Stale => {
                host.stale.fetch_add(1, Ordering::Relaxed);
                return Verdict::Drop(EINVAL);
            }
            Order::Repeat => host.repeated.fetch_add(1, Ordering::Relaxed),
            Order::New => {
                events::Event::new::<F::Addr>(events::Kind::NoticeReceived)
                    .code(code)
                    .addr(events::Addr::Router, src)
                    .addr(events::Addr::Gateway, gateway)
                    .ifindex(iif)
                    .announce(self.net.get());
                host.received.fetch_add(1, Ordering::Relaxed)
            }
        };
        announce_marks::<F::Addr>(self.net.get(), hearing.before, hearing.after);
        F::relay(self, src, iif, message);
        if hearing.before != hearing.after {
            noticed();
            if net_ratelimit() {
                pr_info!(
                    "{} link notice from {}: code {} for {}; domains down {:#x} (were {:#x})\n",
                    F::NAME,
                    F::shown(src, &mut [0; 48]),
                    code,
                    F::shown(gateway, &mut [0; 48]),
                    hearing.after,
                    hearing.before
                );
            }
        }
        Verdict::Drop(EINVAL)
    }

    /// Refuses (and counts) a message of the module's type from `src`.
    pub(super) fn refuse<F: HostFamily>(&self, src: F::Addr, why: &str) -> Verdict {
        F::host(self).refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "refusing an {} {} from {}: {}\n",
                F::ICMP_NAME,
                F::icmp_type(),
                F::shown(src, &mut [0; 48]),
                why
            );
        }
        Verdict::Drop(EINVAL)
    }
}

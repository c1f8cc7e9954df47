// SPDX-License-Identifier: GPL-2.0

//! The view of a packet the hooks get: its addresses and transport, and the rewrites the
//! features ask for (translation, stacking, routes), each checked by the glue.

use super::*;
use crate::{
    ffi::rcu::InHook,
    logic::prefix::WireAddr, //
};

/// The ICMP and ICMPv6 protocol numbers, as [`Packet::ipv4_transport`] reports them.
const IPPROTO_ICMP: u8 = bindings::IPPROTO_ICMP as u8;

const IPPROTO_ICMPV6: u8 = bindings::IPPROTO_ICMPV6 as u8;

/// A packet at a hook: its addresses and a way to give it another route.
///
/// # Invariants
///
/// `skb` is the packet the hook was called with, owned by the stack for `'a`, with a valid
/// network header of the hook's family.
pub(crate) struct Packet<'a> {
    skb: *mut bindings::sk_buff,
    net: &'a Net,
    point: HookPoint,
    _skb: PhantomData<&'a mut bindings::sk_buff>,
}

impl<'a> Packet<'a> {
    /// The packet a hook was called with at `point`, in `net`.
    ///
    /// # Safety
    ///
    /// `skb` is the packet netfilter handed the hook, owned by the stack for `'a`, with a
    /// valid network header of the hook's family.
    pub(super) unsafe fn from_hook(
        skb: *mut bindings::sk_buff,
        net: &'a Net,
        point: HookPoint,
    ) -> Self {
        // INVARIANT: the caller's contract is the type's.
        Self {
            skb,
            net,
            point,
            _skb: PhantomData,
        }
    }

    /// The hook's RCU read-side critical section, for as long as the hook runs.
    pub(crate) fn rcu(&self) -> InHook<'a> {
        // SAFETY: netfilter runs every hook under `rcu_read_lock` (`nf_hook`), and the
        // packet is the hook's for `'a` (type invariant).
        unsafe { InHook::new() }
    }

    /// The namespace the packet is in.
    pub(crate) fn net(&self) -> &'a Net {
        self.net
    }

    /// Where the packet's network header starts (`skb_network_header`), computed here:
    /// every packet at a hook reads its addresses, and the C helper is a call.
    fn network_header(&self) -> *const u8 {
        // SAFETY: `skb` is valid (type invariant). `headers` is the named view of the
        // `struct_group` that holds `network_header` (the union's two members are the
        // same fields); reading a `u16` of it is always valid.
        let offset = unsafe { (*self.skb).__bindgen_anon_4.headers.as_ref().network_header };
        // SAFETY: `head` plus the network header's offset stays inside the buffer (the
        // offset was set by the stack to a header within it).
        unsafe { (*self.skb).head.add(usize::from(offset)) }
    }

    /// IPv4 source and destination, host byte order.
    pub(crate) fn ipv4_addrs(&self) -> (u32, u32) {
        // SAFETY: an IPv4 hook's packet has a valid IPv4 header (type invariant), where
        // its network header is.
        let iph = unsafe { &*self.network_header().cast::<local::iphdr>() };
        // SAFETY: both members of the union are the same two addresses.
        let addrs = unsafe { iph.__bindgen_anon_1.__bindgen_anon_1.as_ref() };
        (u32::from_be(addrs.saddr), u32::from_be(addrs.daddr))
    }

    /// IPv6 source and destination, host byte order.
    pub(crate) fn ipv6_addrs(&self) -> (u128, u128) {
        // SAFETY: an IPv6 hook's packet has a valid IPv6 header (type invariant), where
        // its network header is.
        let ip6h = unsafe { &*self.network_header().cast::<local::ipv6hdr>() };
        // SAFETY: both members of the union are the same two addresses.
        let addrs = unsafe { ip6h.__bindgen_anon_1.__bindgen_anon_1.as_ref() };
        // SAFETY: every bit pattern of the address union is valid as bytes.
        let (s, d) = unsafe { (addrs.saddr.in6_u.u6_addr8, addrs.daddr.in6_u.u6_addr8) };
        (u128::from_be_bytes(s), u128::from_be_bytes(d))
    }

    /// The IPv4 packet's protocol, TTL and transport length; if its protocol is
    /// `only_proto` (or that is 0) the first transport octets are copied into `out` (as
    /// many as fit and exist), else the length reads 0. `None` for a fragment or a packet
    /// too short for its header.
    pub(crate) fn ipv4_transport(&self, only_proto: u8, out: &mut [u8]) -> Option<Transport> {
        self.transport(local::sitemh_skb_ipv4_transport, only_proto, out)
    }

    /// The same through the glue's `read` (`sitemh_skb_ipv{4,6}_transport`).
    fn transport(
        &self,
        read: TransportReader,
        only_proto: u8,
        out: &mut [u8],
    ) -> Option<Transport> {
        let (mut proto, mut ttl, mut looped, mut iif) = (0u8, 0u8, false, 0i32);
        let room = i32::try_from(out.len()).ok()?;
        // SAFETY: `skb` is valid (type invariant) and of the family `read` expects (the
        // callers pick it by family); `out` has `room` writable octets.
        let len = unsafe {
            read(
                self.skb,
                only_proto,
                &mut proto,
                &mut ttl,
                &mut looped,
                &mut iif,
                out.as_mut_ptr(),
                room,
            )
        };
        Some(Transport {
            proto,
            ttl,
            looped,
            iif,
            len: usize::try_from(len).ok()?,
        })
    }

    /// The full TCP socket that sends this packet (LOCAL_OUT), with a reference of ours.
    pub(crate) fn tcp_sock(&self) -> Option<crate::ffi::sock::SockRef> {
        // SAFETY: `skb` is valid (type invariant).
        let sk = unsafe { local::sitemh_skb_tcp_sock(self.skb) };
        // SAFETY: a socket that sends a packet is alive while the hook runs (the packet
        // holds a reference on it).
        unsafe { crate::ffi::sock::SockRef::new(sk) }
    }

    /// The full TCP socket that sends this packet (LOCAL_OUT) if it has kernel TLS as its
    /// upper-layer protocol, with a reference of ours. Other sockets cost no reference.
    pub(crate) fn tls_sock(&self) -> Option<crate::ffi::sock::SockRef> {
        // SAFETY: `skb` is valid (type invariant).
        let sk = unsafe { local::sitemh_skb_tcp_sock(self.skb) };
        // SAFETY: `sk` is NULL or a full socket that sends the packet, alive while the
        // hook runs (the packet holds a reference on it).
        if sk.is_null() || !unsafe { local::sitemh_sock_has_tls_ulp(sk) } {
            return None;
        }
        // SAFETY: as above.
        unsafe { crate::ffi::sock::SockRef::new(sk) }
    }

    /// The packet's protocol and ports, for TCP and UDP (not for later fragments); an
    /// IPv6 packet's with `ipv6`, past its extension headers.
    pub(crate) fn ports(&self, ipv6: bool) -> Option<(u8, u16, u16)> {
        let (mut proto, mut sport, mut dport) = (0u8, 0u16, 0u16);
        // SAFETY: `skb` is valid (type invariant); the out pointers are writable.
        let found =
            unsafe { local::sitemh_skb_ports(self.skb, ipv6, &mut proto, &mut sport, &mut dport) };
        found.then(|| (proto, u16::from_be(sport), u16::from_be(dport)))
    }

    /// For an ICMP error quoting a TCP or UDP packet (checksum verified): the quoted
    /// packet's (protocol, source, destination, source port, destination port), host order.
    pub(crate) fn ipv4_icmp_quote(&self) -> Option<(u8, u32, u32, u16, u16)> {
        let q = self.ipv4_icmp_error()?;
        self.icmp_sum_ok(false)
            .then_some((q.proto, q.saddr, q.daddr, q.sport, q.dport))
    }

    /// What the packet's ICMP message quotes, if it is an error about a connection (see
    /// [`icmp_error::quote4`]); the checksum is not looked at.
    fn ipv4_icmp_error(&self) -> Option<icmp_error::Quote<u32>> {
        let mut head = [0u8; icmp_error::QUOTE4_MAX];
        let t = self.ipv4_transport(IPPROTO_ICMP, &mut head)?;
        if t.proto != IPPROTO_ICMP {
            return None;
        }
        icmp_error::quote4(head.get(..t.len.min(head.len()))?)
    }

    /// Whether the packet's ICMP (`ipv6`: ICMPv6) checksum is correct: a forged error must
    /// not move anything.
    fn icmp_sum_ok(&self, ipv6: bool) -> bool {
        // SAFETY: `skb` is valid (type invariant), of the family the callers pass.
        unsafe { local::sitemh_icmp_sum_ok(self.skb, ipv6) }
    }

    /// Rewrites the addresses of the packet an ICMP error quotes (host byte order), with
    /// the checksums. `EINVAL` if the packet is no such error.
    pub(crate) fn translate_icmp_quote4(&mut self, saddr: u32, daddr: u32) -> Result {
        self.ipv4_icmp_error().ok_or(EINVAL)?;
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant).
        to_result(unsafe {
            local::sitemh_translate_icmp_quote4(self.skb, saddr.to_be(), daddr.to_be())
        })
    }

    /// Rewrites the packet's addresses to `saddr`/`daddr` (an IPv4 packet's with `u32`,
    /// an IPv6 packet's with `u128`), fixing its checksums as NAT does; with `reroute`,
    /// looks its route up again. An error (the packet is not of that family, or could not
    /// be made writable) means: drop it.
    pub(crate) fn translate<A: WireAddr>(&mut self, saddr: A, daddr: A, reroute: bool) -> Result {
        let (mut s, mut d) = ([0u8; 16], [0u8; 16]);
        saddr.write(&mut s);
        daddr.write(&mut d);
        let ipv6 = A::LEN == 16;
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant); `net` is
        // the packet's namespace; the addresses have the 4 or 16 octets `ipv6` says (the
        // glue refuses a packet of the other family).
        to_result(unsafe {
            local::sitemh_translate(
                self.net.as_raw(),
                self.skb,
                ipv6,
                s.as_ptr(),
                d.as_ptr(),
                reroute,
            )
        })
    }

    /// The IPv6 packet's transport protocol (past extension headers), hop limit and
    /// transport as [`Packet::ipv4_transport`] reports them (`ttl` is the hop limit).
    pub(crate) fn ipv6_transport(&self, only_proto: u8, out: &mut [u8]) -> Option<Transport> {
        self.transport(local::sitemh_skb_ipv6_transport, only_proto, out)
    }

    /// As [`Packet::ipv4_icmp_quote`], for ICMPv6 errors.
    pub(crate) fn ipv6_icmp_quote(&self) -> Option<(u8, u128, u128, u16, u16)> {
        let q = self.ipv6_icmp_error()?;
        self.icmp_sum_ok(true)
            .then_some((q.proto, q.saddr, q.daddr, q.sport, q.dport))
    }

    /// As [`Packet::ipv4_icmp_error`], for ICMPv6 (after the extension headers).
    fn ipv6_icmp_error(&self) -> Option<icmp_error::Quote<u128>> {
        let mut head = [0u8; icmp_error::QUOTE6_MAX];
        let t = self.ipv6_transport(IPPROTO_ICMPV6, &mut head)?;
        if t.proto != IPPROTO_ICMPV6 {
            return None;
        }
        icmp_error::quote6(head.get(..t.len.min(head.len()))?)
    }

    /// As [`Packet::translate_icmp_quote4`], for ICMPv6 errors.
    pub(crate) fn translate_icmp_quote6(&mut self, saddr: u128, daddr: u128) -> Result {
        self.ipv6_icmp_error().ok_or(EINVAL)?;
        let (s, d) = (saddr.to_be_bytes(), daddr.to_be_bytes());
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant); the
        // addresses have 16 octets each.
        to_result(unsafe { local::sitemh_translate_icmp_quote6(self.skb, s.as_ptr(), d.as_ptr()) })
    }

    /// Copies the IPv4 options (the header's octets after the first 20) into `out`;
    /// returns how many there are. `None` if they do not fit or are not all there.
    pub(crate) fn ipv4_options(&self, out: &mut [u8]) -> Option<usize> {
        let room = u32::try_from(out.len()).ok()?;
        // SAFETY: `skb` is valid (type invariant); `out` has `room` writable octets.
        let len = unsafe { local::sitemh_ipv4_options(self.skb, out.as_mut_ptr(), room) };
        usize::try_from(len).ok()
    }

    /// Inserts `option` (a multiple of 4 octets) in front of the IPv4 options.
    pub(crate) fn push_ipv4_option(&mut self, option: &[u8]) -> Result {
        let len = u32::try_from(option.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant); `option`
        // has `len` readable octets.
        to_result(unsafe { local::sitemh_ipv4_push_option(self.skb, option.as_ptr(), len) })
    }

    /// Turns `len` octets of the IPv4 options from `off` into no-operation options.
    pub(crate) fn blank_ipv4_options(&mut self, off: usize, len: usize) -> Result {
        let (off, len) = (
            u32::try_from(off).map_err(|_| EINVAL)?,
            u32::try_from(len).map_err(|_| EINVAL)?,
        );
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant).
        to_result(unsafe { local::sitemh_ipv4_blank_options(self.skb, off, len) })
    }

    /// Lowers the MSS a TCP SYN advertises by `delta` octets; nothing for other packets.
    pub(crate) fn lower_tcp_mss4(&mut self, delta: u16) -> Result {
        self.lower_tcp_mss(false, delta)
    }

    /// Lowers the MSS of a TCP SYN (IPv4, or right after the IPv6 header) as
    /// [`tcp::lower_mss`] says, fixing the checksum; `ENOMEM` if the header is not all
    /// there or cannot be made writable.
    fn lower_tcp_mss(&mut self, ipv6: bool, delta: u16) -> Result {
        let Some(fixed) = self.tcp_header(ipv6, tcp::HEADER_LEN)? else {
            return Ok(());
        };
        let len = match tcp::syn(fixed) {
            tcp::Syn::Absent => return Ok(()),
            tcp::Syn::BadOffset => return Err(ENOMEM),
            tcp::Syn::HeaderLen(len) => len,
        };
        let Some(header) = self.tcp_header(ipv6, len)? else {
            return Ok(());
        };
        let Some((old, new)) = tcp::lower_mss(header, delta) else {
            return Ok(());
        };
        let th = header.as_mut_ptr();
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant); `th` is its
        // TCP header, made writable by `tcp_header` just above, with nothing in between.
        unsafe { local::sitemh_tcp_mss_changed(self.skb, th, old, new) };
        Ok(())
    }

    /// The first `len` octets of the TCP header, writable; `None` for a packet that is no
    /// TCP (or a later IPv4 fragment).
    fn tcp_header(&mut self, ipv6: bool, len: usize) -> Result<Option<&mut [u8]>> {
        let len_c = u32::try_from(len).map_err(|_| EINVAL)?;
        let mut th = core::ptr::null_mut();
        // SAFETY: `skb` is valid and ours to change at a hook, of the family `ipv6` says
        // (type invariant; the callers are per family); `th` is writable.
        to_result(unsafe { local::sitemh_tcp_header(self.skb, ipv6, len_c, &mut th) })?;
        if th.is_null() {
            return Ok(None);
        }
        // SAFETY: the glue made `len` octets at `th` writable linear packet data. The
        // slice borrows `self` mutably: nothing else touches the packet while it lives,
        // and the next call into the glue (which may move the data) ends it.
        Ok(Some(unsafe { core::slice::from_raw_parts_mut(th, len) }))
    }

    /// The local end of the IP-in-IP tunnel the packet was decapsulated from (it arrived
    /// on an ipip or ip6tnl device with a fixed local address), in the glue's form.
    pub(crate) fn tunnel_local(&self) -> Option<[u8; 16]> {
        let mut out = [0u8; 16];
        // SAFETY: `skb` is valid (type invariant); `out` has 16 writable octets.
        let found = unsafe { local::sitemh_tunnel_local(self.skb, out.as_mut_ptr()) };
        (found == 1).then_some(out)
    }

    /// Whether `addr` (host byte order) is one of the namespace's own IPv4 addresses.
    pub(crate) fn ipv4_is_local(&self, addr: u32) -> bool {
        // SAFETY: `net` is the packet's live namespace.
        unsafe { local::sitemh_ipv4_is_local(self.net.as_raw(), addr.to_be()) }
    }

    /// Copies the routing header right after the IPv6 header into `out` (as much as fits);
    /// returns its length, 0 if there is none there. `None` if it is not all there.
    pub(crate) fn ipv6_routing_header(&self, out: &mut [u8]) -> Option<usize> {
        let room = u32::try_from(out.len()).ok()?;
        // SAFETY: `skb` is valid (type invariant); `out` has `room` writable octets.
        let len = unsafe { local::sitemh_ipv6_routing_header(self.skb, out.as_mut_ptr(), room) };
        usize::try_from(len).ok()
    }

    /// Inserts `rh` (a routing header, a multiple of 8 octets; its next header octet is
    /// filled in) after the IPv6 header, with the addresses `saddr`/`daddr` (host byte
    /// order), and looks the route up again.
    pub(crate) fn push_ipv6_routing_header(
        &mut self,
        saddr: u128,
        daddr: u128,
        rh: &mut [u8],
    ) -> Result {
        let len = u32::try_from(rh.len()).map_err(|_| EMSGSIZE)?;
        let (s, d) = (saddr.to_be_bytes(), daddr.to_be_bytes());
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant); `net` is
        // its namespace; the addresses have 16 octets and `rh` `len` writable ones.
        to_result(unsafe {
            local::sitemh_ipv6_push_routing_header(
                self.net.as_raw(),
                self.skb,
                s.as_ptr(),
                d.as_ptr(),
                rh.as_mut_ptr(),
                len,
            )
        })
    }

    /// Removes the routing header of `len` octets after the IPv6 header and sets the
    /// addresses (host byte order).
    pub(crate) fn pull_ipv6_routing_header(
        &mut self,
        saddr: u128,
        daddr: u128,
        len: usize,
    ) -> Result {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        let (s, d) = (saddr.to_be_bytes(), daddr.to_be_bytes());
        // SAFETY: `skb` is valid and ours to change at a hook (type invariant); the
        // addresses have 16 octets.
        to_result(unsafe {
            local::sitemh_ipv6_pull_routing_header(self.skb, s.as_ptr(), d.as_ptr(), len)
        })
    }

    /// Lowers the MSS a TCP SYN (right after the IPv6 header) advertises by `delta`.
    pub(crate) fn lower_tcp_mss6(&mut self, delta: u16) -> Result {
        self.lower_tcp_mss(true, delta)
    }

    /// Whether `addr` (host byte order) is one of the namespace's own IPv6 addresses.
    pub(crate) fn ipv6_is_local(&self, addr: u128) -> bool {
        let a = addr.to_be_bytes();
        // SAFETY: `net` is the packet's live namespace; `a` has 16 octets.
        unsafe { local::sitemh_ipv6_is_local(self.net.as_raw(), a.as_ptr()) }
    }

    /// Whether the IPv4 route the stack chose is plain unicast (not local, broadcast or
    /// multicast): only such packets are routed by source domain.
    pub(crate) fn ipv4_route_is_unicast(&self) -> bool {
        // SAFETY: `skb` is valid (type invariant).
        unsafe { local::sitemh_skb_route_is_unicast4(self.skb) }
    }

    /// Sends the IPv4 packet to `gateway` (host byte order), its domain's default router,
    /// keeping its destination address: the route is looked up as `ip_route_me_harder`
    /// looks one up (mark, uid, VRF, the socket's bound device, IPsec policy), from `cache`
    /// when nothing about the packet can change it. See [`Rerouted`] for the packets that
    /// keep their route. An error means there is no route to the router, or IPsec policy
    /// refuses the rerouted flow: drop the packet.
    pub(crate) fn reroute_via4(&mut self, cache: &RouteCache, gateway: u32) -> Result<Rerouted> {
        // SAFETY: `skb` is valid and ours to change at a hook, with an IPv4 header (type
        // invariant); `net` is its namespace; the cache is initialised and the glue takes
        // its route under RCU, which hooks run in; the packet may carry it without a reference.
        let done = unsafe {
            local::sitemh_reroute4(
                self.net.as_raw(),
                self.skb,
                cache.as_ptr(),
                gateway.to_be(),
                self.point == HookPoint::Forward,
            )
        };
        Rerouted::from_raw(done)
    }

    /// As [`Packet::reroute_via4`], for IPv6: `gateway` is reached on `ifindex` (0: any).
    pub(crate) fn reroute_via6(
        &mut self,
        cache: &RouteCache,
        gateway: u128,
        ifindex: i32,
    ) -> Result<Rerouted> {
        let gateway = gateway.to_be_bytes();
        // SAFETY: as for `reroute_via4`, with an IPv6 header; `gateway` has 16 octets.
        let done = unsafe {
            local::sitemh_reroute6(
                self.net.as_raw(),
                self.skb,
                cache.as_ptr(),
                gateway.as_ptr(),
                ifindex,
                self.point == HookPoint::Forward,
            )
        };
        Rerouted::from_raw(done)
    }
}

/// What source-domain routing did with a packet it did not drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rerouted {
    /// The packet now goes to its domain's router.
    Yes,
    /// The packet keeps the route the stack gave it: an IPsec transform is due (the
    /// transformed packet passes the hook again and is routed by its outer source), it is
    /// in a VRF whose table does not reach the router, or its socket is bound to another
    /// device than the router's.
    Kept,
}

impl Rerouted {
    /// From the glue's `enum sitemh_reroute` or negative errno.
    /// Matched directly, not through `to_result` (a call into the kernel crate per
    /// rerouted packet): an errno is the only negative value.
    fn from_raw(done: c_int) -> Result<Self> {
        match u32::try_from(done) {
            Ok(local::sitemh_reroute_SITEMH_REROUTE_DONE) => Ok(Rerouted::Yes),
            Ok(local::sitemh_reroute_SITEMH_REROUTE_KEPT) => Ok(Rerouted::Kept),
            Ok(_) => Err(EINVAL),
            Err(_) => Err(Error::from_errno(done)),
        }
    }
}

/// The glue's `sitemh_skb_ipv{4,6}_transport`.
type TransportReader = unsafe extern "C" fn(
    *const bindings::sk_buff,
    u8,
    *mut u8,
    *mut u8,
    *mut bool,
    *mut i32,
    *mut u8,
    i32,
) -> i32;

/// What [`Packet::ipv4_transport`] reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transport {
    /// The IP protocol.
    pub(crate) proto: u8,
    /// The TTL it arrived with.
    pub(crate) ttl: u8,
    /// Whether it is a copy of a broadcast this host sent.
    pub(crate) looped: bool,
    /// The interface it arrived on.
    pub(crate) iif: i32,
    /// Octets of transport header and payload.
    pub(crate) len: usize,
}

// SPDX-License-Identifier: GPL-2.0

//! What the switchover does differently per family: ports, translation, the quoted packet
//! of an ICMP error, socket tuples, sending the exchange's messages.

#![forbid(unsafe_code)]

use super::*;

impl<A: Copy> IdPcb<A> {
    /// The connection of a socket whose tuple is `tuple`, as this end names it.
    pub(super) fn of_tuple(tuple: &Tuple<A>) -> Self {
        Self {
            proto: tuple.proto,
            laddr: tuple.saddr,
            faddr: tuple.daddr,
            lport: tuple.sport,
            fport: tuple.dport,
        }
    }
}

/// TCP's protocol number, as the transport readers take it.
const IPPROTO_TCP: u8 = 6;

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
    /// Copies the first octets of a TCP packet's header into `out`; how many (0: not
    /// TCP, or a fragment).
    fn tcp_header(packet: &Packet<'_>, out: &mut [u8]) -> usize;
    /// The established TCP socket of `tuple` (`saddr` local). Process context.
    fn established(net: &Net, tuple: &Tuple<Self::Addr>) -> Option<SockRef>;
}

impl SwitchFamily for V4 {
    const SWITCH_HOOKS_BIT: u32 = hook_user::SWITCHOVER_V4;
    const PROC: &'static str = "switchover";
    const VERIFY_CHECKSUM: bool = true;

    fn ports(packet: &Packet<'_>) -> Option<(u8, u16, u16)> {
        packet.ports(false)
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
    fn tcp_header(packet: &Packet<'_>, out: &mut [u8]) -> usize {
        let len = out.len();
        packet
            .ipv4_transport(IPPROTO_TCP, out)
            .filter(|t| t.proto == IPPROTO_TCP)
            .map_or(0, |t| t.len.min(len))
    }
    fn established(net: &Net, tuple: &Tuple<u32>) -> Option<SockRef> {
        crate::ffi::sock::tcp_established4(net, tuple)
    }
}

impl SwitchFamily for V6 {
    const SWITCH_HOOKS_BIT: u32 = hook_user::SWITCHOVER_V6;
    const PROC: &'static str = "switchover6";
    const VERIFY_CHECKSUM: bool = false;

    fn ports(packet: &Packet<'_>) -> Option<(u8, u16, u16)> {
        packet.ports(true)
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
    fn tcp_header(packet: &Packet<'_>, out: &mut [u8]) -> usize {
        let len = out.len();
        packet
            .ipv6_transport(IPPROTO_TCP, out)
            .filter(|t| t.proto == IPPROTO_TCP)
            .map_or(0, |t| t.len.min(len))
    }
    fn established(net: &Net, tuple: &Tuple<u128>) -> Option<SockRef> {
        crate::ffi::sock::tcp_established6(net, tuple)
    }
}

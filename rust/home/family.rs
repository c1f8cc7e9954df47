// SPDX-License-Identifier: GPL-2.0

//! What home addresses do differently per family: the IPv4 stacking option or the IPv6 type 2
//! routing header, finding and removing it, binding messages.

#![forbid(unsafe_code)]

use super::*;

/// The IPv4 option layout (module parameter `stacking_layout`).
pub(super) fn layout() -> Ipv4Layout {
    if crate::params::stacking_layout() == 1 {
        Ipv4Layout::Draft
    } else {
        Ipv4Layout::Rfc791
    }
}

/// Stacked addresses found in an arriving packet, and where.
pub(crate) struct Found<A> {
    /// Where the option or header starts (IPv4: within the options).
    pub(super) at: usize,
    pub(super) len: usize,
    pub(super) stacking: Stacking<A>,
}

/// What differs between IPv4 and IPv6 stacking on the packet path.
pub(crate) trait StackPath: Family {
    /// The family's bit in the namespace's [`LazyHooks`] users.
    const HOME_HOOKS_BIT: u32;
    /// The knobs' sysctl directory, and its sysctl(8) name for log lines.
    const GROUP: &'static CStr;
    const GROUP_NAME: &'static str;
    /// The first word of the family's `/proc/net/sitemh` line.
    const PROC: &'static str;
    /// What stacking adds to a header at most: a SYN advertises this much less.
    const ROOM: u16;

    /// Whether the packet may leave the link (not local, broadcast, multicast or
    /// link-scoped): only those travel stacked.
    fn leaves_link(packet: &Packet<'_>, src: Self::Addr, dst: Self::Addr) -> bool;
    fn is_local(packet: &Packet<'_>, addr: Self::Addr) -> bool;
    /// Lowers the MSS a TCP SYN advertises by [`Self::ROOM`].
    fn lower_mss(packet: &mut Packet<'_>) -> Result;
    /// Adds the stacked addresses and puts `out`'s addresses in the header.
    fn stack(packet: &mut Packet<'_>, out: &Stacked<Self::Addr>) -> Result;
    /// The stacked addresses the packet carries; `Ok(None)` if it carries none.
    fn find(packet: &Packet<'_>) -> Result<Option<Found<Self::Addr>>, StackingError>;
    /// Takes the stacked addresses out and puts `src`/`dst` in the header.
    fn unstack(
        packet: &mut Packet<'_>,
        found: &Found<Self::Addr>,
        src: Self::Addr,
        dst: Self::Addr,
    ) -> Result;
    /// If the packet is an ICMP message of the module's type with a binding update's or
    /// a binding error's code: its octets into `out` (at most its length), and the
    /// message's length; whether its checksum verified.
    fn binding_message(packet: &Packet<'_>, out: &mut [u8]) -> Option<(usize, bool)>;
    /// Sends a binding update (checksum still zero) from `src` to `dst`.
    fn send_update(net: &Net, src: Self::Addr, dst: Self::Addr, message: &mut [u8]) -> Result;
}

impl StackPath for V4 {
    const HOME_HOOKS_BIT: u32 = hook_user::HOME_V4;
    const GROUP: &'static CStr = c"net/ipv4/sitemh_home";
    const GROUP_NAME: &'static str = "net.ipv4.sitemh_home";
    const PROC: &'static str = "home";
    const ROOM: u16 = 12;

    fn leaves_link(packet: &Packet<'_>, _src: u32, _dst: u32) -> bool {
        packet.ipv4_route_is_unicast()
    }

    fn is_local(packet: &Packet<'_>, addr: u32) -> bool {
        packet.ipv4_is_local(addr)
    }

    fn lower_mss(packet: &mut Packet<'_>) -> Result {
        packet.lower_tcp_mss4(Self::ROOM)
    }

    fn stack(packet: &mut Packet<'_>, out: &Stacked<u32>) -> Result {
        let mut option = [0u8; 12];
        let len = write_ipv4_option(&out.stacking, layout(), &mut option).map_err(|_| EINVAL)?;
        packet.lower_tcp_mss4(Self::ROOM)?;
        packet.push_ipv4_option(&option[..len])?;
        packet.translate(out.src, out.dst, true)
    }

    fn find(packet: &Packet<'_>) -> Result<Option<Found<u32>>, StackingError> {
        let mut options = [0u8; IPV4_OPTIONS_MAX];
        let len = match packet.ipv4_options(&mut options) {
            Some(len) => len,
            None => return Ok(None),
        };
        let Some((at, stacking)) = find_ipv4_option(&options[..len], layout())? else {
            return Ok(None);
        };
        let len = ipv4_option_len(stacking.stacking_type())?;
        Ok(Some(Found { at, len, stacking }))
    }

    fn unstack(packet: &mut Packet<'_>, found: &Found<u32>, src: u32, dst: u32) -> Result {
        packet.blank_ipv4_options(found.at, found.len)?;
        packet.translate(src, dst, false)
    }

    fn binding_message(packet: &Packet<'_>, out: &mut [u8]) -> Option<(usize, bool)> {
        let transport = packet.ipv4_transport(IPPROTO_ICMP, out)?;
        if transport.proto != IPPROTO_ICMP
            || out.first() != Some(&crate::params::icmp_type())
            || !matches!(
                out.get(1),
                Some(&(CODE_BINDING_UPDATE | CODE_BINDING_ERROR))
            )
        {
            return None;
        }
        let checked = out
            .get(..transport.len)
            .is_some_and(|message| internet_checksum(message) == 0);
        Some((transport.len, checked))
    }

    fn send_update(net: &Net, src: u32, dst: u32, message: &mut [u8]) -> Result {
        finish_checksum(message);
        inet::send_icmp4(net, src, dst, 0, message)
    }
}

impl StackPath for V6 {
    const HOME_HOOKS_BIT: u32 = hook_user::HOME_V6;
    const GROUP: &'static CStr = c"net/ipv6/sitemh_home";
    const GROUP_NAME: &'static str = "net.ipv6.sitemh_home";
    const PROC: &'static str = "home6";
    const ROOM: u16 = 40;

    fn leaves_link(_packet: &Packet<'_>, src: u128, dst: u128) -> bool {
        !(ipv6::is_multicast(dst) || ipv6::is_link_local(dst) || ipv6::is_link_local(src))
    }

    fn is_local(packet: &Packet<'_>, addr: u128) -> bool {
        packet.ipv6_is_local(addr)
    }

    fn lower_mss(packet: &mut Packet<'_>) -> Result {
        packet.lower_tcp_mss6(Self::ROOM)
    }

    fn stack(packet: &mut Packet<'_>, out: &Stacked<u128>) -> Result {
        let mut rh = [0u8; 40];
        // The next header octet is filled in by the glue.
        let len = write_rh(0, &out.stacking, &mut rh).map_err(|_| EINVAL)?;
        packet.lower_tcp_mss6(Self::ROOM)?;
        packet.push_ipv6_routing_header(out.src, out.dst, &mut rh[..len])
    }

    fn find(packet: &Packet<'_>) -> Result<Option<Found<u128>>, StackingError> {
        let mut rh = [0u8; 40];
        let len = match packet.ipv6_routing_header(&mut rh) {
            Some(0) | None => return Ok(None),
            Some(len) => len,
        };
        match parse_rh(&rh[..len]) {
            Ok((_, stacking)) => {
                let len = crate::logic::stacking::rh_len(stacking.stacking_type())?;
                Ok(Some(Found {
                    at: 0,
                    len,
                    stacking,
                }))
            }
            // Another routing header (segment routing, say): not ours to judge.
            Err(StackingError::NotStacking) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn unstack(packet: &mut Packet<'_>, found: &Found<u128>, src: u128, dst: u128) -> Result {
        packet.pull_ipv6_routing_header(src, dst, found.len)
    }

    fn binding_message(packet: &Packet<'_>, out: &mut [u8]) -> Option<(usize, bool)> {
        let transport = packet.ipv6_transport(IPPROTO_ICMPV6, out)?;
        if transport.proto != IPPROTO_ICMPV6
            || out.first() != Some(&crate::params::icmp6_type())
            || !matches!(
                out.get(1),
                Some(&(CODE_BINDING_UPDATE | CODE_BINDING_ERROR))
            )
        {
            return None;
        }
        let (src, dst) = packet.ipv6_addrs();
        let checked = out
            .get(..transport.len)
            .is_some_and(|message| icmpv6_checksum(src, dst, message) == 0);
        Some((transport.len, checked))
    }

    fn send_update(net: &Net, src: u128, dst: u128, message: &mut [u8]) -> Result {
        // The raw ICMPv6 socket computes the checksum over the pseudo-header.
        inet::send_icmp6(net, Some(src), dst, 0, 0, message)
    }
}

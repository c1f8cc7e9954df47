// SPDX-License-Identifier: GPL-2.0

//! What differs between IPv4 and IPv6, for every feature: the address type, the sysctl
//! directories, address texts, and how a packet is sent to a router. A leaf: it names no
//! feature module, so every feature can be generic over [`Family`].

#![forbid(unsafe_code)]

use core::fmt::Write;

use kernel::prelude::*;

use crate::{
    ffi::{
        net::Net,
        netdev,
        netfilter::{
            Packet,
            Rerouted,
            Transport, //
        },
        route::{
            route_via_gateway4,
            route_via_gateway6,
            Dst,
            RouteCache, //
        },
        uapi::UapiAddr,
    },
    hook_user,
    logic::{
        domain::{
            DomainConfig,
            Router, //
        },
        ipv4, ipv6,
        prefix::{
            AddrError,
            WireAddr, //
        },
        router_adv::LearnedDomain,
        select::Classify,
        stacking::HomeAddr,
        text::FixedBuf,
    },
};

/// What differs between IPv4 and IPv6.
pub(crate) trait Family: Send + Sync + 'static {
    /// The address bits.
    type Addr: Classify
        + WireAddr
        + HomeAddr
        + UapiAddr
        + Default
        + Send
        + Sync
        + Unpin
        + core::fmt::Debug;
    /// The address family (`AF_INET`, `AF_INET6`).
    const AF: i32;
    /// This family's bit among the namespace's hook users for its domains.
    const HOOKS_BIT: u32;
    /// Its bit for a configured home address.
    const HOME_ADDR_HOOKS_BIT: u32;
    /// The sysctl directory of the family's knobs.
    const DIR: &'static str;
    /// The same as sysctl(8) names it, for log lines.
    const SYSCTL: &'static str;
    /// The directory of the domain nodes.
    const DOMAIN_DIR: &'static str;
    /// The family's name in `/proc/net/sitemh` and in log lines.
    const NAME: &'static str;

    /// The family's ICMP protocol number (`IPPROTO_ICMP`, `IPPROTO_ICMPV6`).
    const ICMP_PROTO: u8;
    /// Its name in log lines (`ICMP`, `ICMPv6`).
    const ICMP_NAME: &'static str;

    /// The module's ICMP type for this family's messages (module parameters `icmp_type`,
    /// `icmp6_type`).
    fn icmp_type() -> u8;
    /// A packet's source and destination.
    fn addrs(packet: &Packet<'_>) -> (Self::Addr, Self::Addr);
    /// A packet's transport: see [`Packet::ipv4_transport`].
    fn transport(packet: &Packet<'_>, only_proto: u8, out: &mut [u8]) -> Option<Transport>;
    /// An address as log lines show it, written into `buf`.
    fn shown(addr: Self::Addr, buf: &mut [u8; 48]) -> &str;

    /// Parses an address.
    fn parse_addr(text: &[u8]) -> Result<Self::Addr, AddrError>;
    /// Parses a mask (`/N` or an address-form mask) into a prefix length.
    fn parse_mask(text: &[u8]) -> Result<u8, AddrError>;
    /// Writes an address.
    fn write_addr(out: &mut FixedBuf<'_>, addr: Self::Addr) -> core::fmt::Result;
    /// Parses a default router, resolving an interface name if the family has scopes.
    fn parse_router(net: &Net, text: &[u8]) -> Result<Router<Self::Addr>>;
    /// A domain learned from a router advertisement as a configured one (IPv6 only).
    fn learned_config(learned: &LearnedDomain) -> Option<DomainConfig<Self::Addr>>;

    /// The route to `router` as a known next hop, from `cache` if it holds one.
    fn route_via(net: &Net, cache: &RouteCache, router: Router<Self::Addr>) -> Result<Dst>;

    /// Sends `packet` to `router`, unless it keeps its route (IPsec, VRF, bound device:
    /// see [`Rerouted`]).
    fn reroute(
        packet: &mut Packet<'_>,
        cache: &RouteCache,
        router: Router<Self::Addr>,
    ) -> Result<Rerouted>;
}

/// IPv4.
pub(crate) struct V4;

impl Family for V4 {
    type Addr = u32;
    const AF: i32 = kernel::bindings::AF_INET as i32;
    const HOOKS_BIT: u32 = hook_user::DOMAINS_V4;
    const HOME_ADDR_HOOKS_BIT: u32 = hook_user::HOME_ADDR_V4;
    const DIR: &'static str = "net/ipv4";
    const SYSCTL: &'static str = "net.ipv4";
    const DOMAIN_DIR: &'static str = "net/ipv4/ip_domain";
    const NAME: &'static str = "ipv4";
    const ICMP_PROTO: u8 = 1;
    const ICMP_NAME: &'static str = "ICMP";

    fn icmp_type() -> u8 {
        crate::params::icmp_type()
    }

    fn addrs(packet: &Packet<'_>) -> (u32, u32) {
        packet.ipv4_addrs()
    }

    fn transport(packet: &Packet<'_>, only_proto: u8, out: &mut [u8]) -> Option<Transport> {
        packet.ipv4_transport(only_proto, out)
    }

    fn shown(addr: u32, buf: &mut [u8; 48]) -> &str {
        match buf.first_chunk_mut::<16>() {
            Some(head) => ipv4::dotted(addr, head),
            None => "?",
        }
    }

    fn parse_addr(text: &[u8]) -> Result<u32, AddrError> {
        ipv4::parse_addr(text)
    }

    fn parse_mask(text: &[u8]) -> Result<u8, AddrError> {
        ipv4::parse_mask(text)
    }

    fn write_addr(out: &mut FixedBuf<'_>, addr: u32) -> core::fmt::Result {
        write!(out, "{}", ipv4::Dotted(addr))
    }

    fn parse_router(_net: &Net, text: &[u8]) -> Result<Router<u32>> {
        let addr = ipv4::parse_addr(text).map_err(|_| EINVAL)?;
        Ok(Router { addr, ifindex: 0 })
    }

    fn learned_config(_learned: &LearnedDomain) -> Option<DomainConfig<u32>> {
        None
    }

    fn route_via(net: &Net, cache: &RouteCache, router: Router<u32>) -> Result<Dst> {
        route_via_gateway4(net, cache, router.addr)
    }

    fn reroute(
        packet: &mut Packet<'_>,
        cache: &RouteCache,
        router: Router<u32>,
    ) -> Result<Rerouted> {
        packet.reroute_via4(cache, router.addr)
    }
}

/// IPv6.
pub(crate) struct V6;

impl Family for V6 {
    type Addr = u128;
    const AF: i32 = kernel::bindings::AF_INET6 as i32;
    const HOOKS_BIT: u32 = hook_user::DOMAINS_V6;
    const HOME_ADDR_HOOKS_BIT: u32 = hook_user::HOME_ADDR_V6;
    const DIR: &'static str = "net/ipv6";
    const SYSCTL: &'static str = "net.ipv6";
    const DOMAIN_DIR: &'static str = "net/ipv6/ip_domain";
    const NAME: &'static str = "ipv6";
    const ICMP_PROTO: u8 = 58;
    const ICMP_NAME: &'static str = "ICMPv6";

    fn icmp_type() -> u8 {
        crate::params::icmp6_type()
    }

    fn addrs(packet: &Packet<'_>) -> (u128, u128) {
        packet.ipv6_addrs()
    }

    fn transport(packet: &Packet<'_>, only_proto: u8, out: &mut [u8]) -> Option<Transport> {
        packet.ipv6_transport(only_proto, out)
    }

    fn shown(addr: u128, buf: &mut [u8; 48]) -> &str {
        ipv6::canonical(addr, buf)
    }

    fn parse_addr(text: &[u8]) -> Result<u128, AddrError> {
        ipv6::parse_addr(text)
    }

    fn parse_mask(text: &[u8]) -> Result<u8, AddrError> {
        ipv6::parse_mask(text)
    }

    fn write_addr(out: &mut FixedBuf<'_>, addr: u128) -> core::fmt::Result {
        write!(out, "{}", ipv6::Canonical(addr))
    }

    /// `fe80::1%eth0`: a link-local router needs the interface it is reached on.
    fn parse_router(net: &Net, text: &[u8]) -> Result<Router<u128>> {
        let (addr_text, ifname) = match text.iter().position(|&c| c == b'%') {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        let addr = ipv6::parse_addr(addr_text).map_err(|_| EINVAL)?;
        let ifindex = match ifname {
            Some(name) => netdev::ifindex_by_name(net, name)?,
            None if ipv6::is_link_local(addr) => return Err(EINVAL),
            None => 0,
        };
        Ok(Router { addr, ifindex })
    }

    fn learned_config(learned: &LearnedDomain) -> Option<DomainConfig<u128>> {
        let mut config = DomainConfig::EMPTY;
        config.set_prefix_len(learned.prefix.prefix_len()).ok()?;
        config.set_net_addr(learned.prefix.addr()).ok()?;
        config.set_def_router(Router {
            addr: learned.router,
            ifindex: learned.ifindex,
        });
        Some(config)
    }

    fn route_via(net: &Net, cache: &RouteCache, router: Router<u128>) -> Result<Dst> {
        route_via_gateway6(net, cache, router.addr, router.ifindex)
    }

    fn reroute(
        packet: &mut Packet<'_>,
        cache: &RouteCache,
        router: Router<u128>,
    ) -> Result<Rerouted> {
        packet.reroute_via6(cache, router.addr, router.ifindex)
    }
}

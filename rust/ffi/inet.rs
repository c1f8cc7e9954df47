// SPDX-License-Identifier: GPL-2.0

//! What address selection asks of the IP stack: the host's addresses, the interface a
//! route leaves by, and echo probes. Addresses cross as 16 octets in network byte order
//! (IPv4 in the first four), as `glue.h` describes.

use kernel::{
    error::to_result,
    ffi::c_int,
    prelude::*, //
};

use super::{bindings as local, net::Net};
use crate::logic::{
    probe,
    relay, //
};

/// An address in the glue's form.
pub(crate) type GlueAddr = [u8; 16];

/// The most addresses of one family read from a namespace.
pub(crate) const MAX_LOCAL_ADDRS: usize = 64;

/// The namespace's usable unicast addresses of `family` (`AF_INET`/`AF_INET6`) with their
/// interfaces, at most [`MAX_LOCAL_ADDRS`].
pub(crate) fn local_addrs(net: &Net, family: i32) -> Result<KVec<(GlueAddr, i32)>> {
    let mut raw = KVec::with_capacity(MAX_LOCAL_ADDRS, GFP_KERNEL)?;
    for _ in 0..MAX_LOCAL_ADDRS {
        raw.push(local::sitemh_local_addr::default(), GFP_KERNEL)?;
    }
    // SAFETY: `net` is alive and `raw` has room for `MAX_LOCAL_ADDRS` entries.
    let n = unsafe {
        local::sitemh_local_addrs(
            net.as_raw(),
            family,
            raw.as_mut_ptr(),
            MAX_LOCAL_ADDRS as i32,
        )
    };
    let n = usize::try_from(n).unwrap_or(0).min(MAX_LOCAL_ADDRS);
    let mut addrs = KVec::with_capacity(n, GFP_KERNEL)?;
    for entry in &raw[..n] {
        addrs.push((entry.addr, entry.ifindex), GFP_KERNEL)?;
    }
    Ok(addrs)
}

/// At most `N` of the namespace's usable unicast addresses of one family, read without
/// allocating or sleeping (the packet path may read them).
pub(crate) struct LocalAddrsNow<const N: usize> {
    raw: [local::sitemh_local_addr; N],
    len: usize,
}

impl<const N: usize> LocalAddrsNow<N> {
    /// Reads them, in interface order (`family`: `AF_INET`/`AF_INET6`).
    pub(crate) fn read(net: &Net, family: i32) -> Self {
        let mut raw: [local::sitemh_local_addr; N] = core::array::from_fn(|_| Default::default());
        let max = i32::try_from(N).unwrap_or(i32::MAX);
        // SAFETY: `net` is alive and `raw` has room for `max` entries; the glue only
        // takes RCU and the address lists' BH-safe read locks, so it does not sleep.
        let n = unsafe { local::sitemh_local_addrs(net.as_raw(), family, raw.as_mut_ptr(), max) };
        Self {
            raw,
            len: usize::try_from(n).unwrap_or(0).min(N),
        }
    }

    /// The addresses read.
    pub(crate) fn addrs(&self) -> impl Iterator<Item = &GlueAddr> {
        self.raw[..self.len].iter().map(|entry| &entry.addr)
    }
}

/// The interface the route to `addr` leaves by (`ifindex` scopes a link-local IPv6
/// address; 0: none).
pub(crate) fn route_oif(net: &Net, family: i32, addr: &GlueAddr, ifindex: i32) -> Result<i32> {
    let mut oif = 0;
    // SAFETY: `net` is alive, `addr` has 16 readable octets, `oif` is writable.
    to_result(unsafe {
        local::sitemh_route_oif(net.as_raw(), family, addr.as_ptr(), ifindex, &mut oif)
    })?;
    Ok(oif)
}

/// A number that changes with the namespace's routes, addresses of `family` and
/// interfaces: an answer computed from them stays true while it stays the same.
pub(crate) fn selection_generation(net: &Net, family: i32) -> u64 {
    // SAFETY: `net` is alive; the glue only reads counters of it.
    unsafe { local::sitemh_selection_genid(net.as_raw(), family) }
}

/// Echo-probes every pair `src[i] -> dst[i]` at once and waits up to `timeout_ms`;
/// `rtt_us[i]` becomes the round trip in microseconds, 0 without an answer. Sleeps. What is
/// sent and what counts as the reply is [`probe`]'s to say; the glue has the sockets.
pub(crate) fn probe_rtts(
    net: &Net,
    family: i32,
    src: &[GlueAddr],
    dst: &[GlueAddr],
    timeout_ms: u32,
    rtt_us: &mut [u32],
) -> Result {
    let n = src.len().min(dst.len()).min(rtt_us.len());
    let n_c = i32::try_from(n).map_err(|_| EINVAL)?;
    let mut sent = KVec::from_elem(0u64, n, GFP_KERNEL)?;
    let mut replied = KVec::from_elem(0u64, n, GFP_KERNEL)?;
    rtt_us.fill(0);
    // SAFETY: `net` is alive; the input arrays and the two time arrays have at least `n`
    // elements; the callbacks match the glue's prototypes and read only what it passes.
    to_result(unsafe {
        local::sitemh_probe_rtts(
            net.as_raw(),
            family,
            src.as_ptr(),
            dst.as_ptr(),
            n_c,
            timeout_ms,
            Some(probe_request),
            Some(probe_is_reply),
            sent.as_mut_ptr(),
            replied.as_mut_ptr(),
        )
    })?;
    for ((rtt, &sent), &replied) in rtt_us.iter_mut().zip(sent.iter()).zip(replied.iter()) {
        *rtt = if sent != 0 && replied != 0 {
            probe::rtt_us(sent, replied)
        } else {
            0
        };
    }
    Ok(())
}

/// `request` of `sitemh_probe_rtts`: writes the echo request.
///
/// # Safety
///
/// `echo` points to `SITEMH_ECHO_LEN` writable octets.
unsafe extern "C" fn probe_request(family: c_int, id: u16, seq: u16, echo: *mut u8) {
    // `probe::ECHO_LEN` octets, which `glue_probe.h` calls `SITEMH_ECHO_LEN`.
    let request = probe::echo_request(family, id, seq);
    // SAFETY: the glue passes room for `SITEMH_ECHO_LEN` octets, `request`'s length.
    unsafe { core::ptr::copy_nonoverlapping(request.as_ptr(), echo, request.len()) };
}

/// `is_reply` of `sitemh_probe_rtts`: whether a packet read from a pair's socket is its
/// reply.
///
/// # Safety
///
/// `from` is null or points to 16 readable octets, `dst` to 16, `pkt` to `len`.
unsafe extern "C" fn probe_is_reply(
    family: c_int,
    from: *const u8,
    dst: *const u8,
    pkt: *const u8,
    len: c_int,
    id: u16,
    seq: u16,
) -> bool {
    let Ok(len) = usize::try_from(len) else {
        return false;
    };
    if dst.is_null() || pkt.is_null() {
        return false;
    }
    // SAFETY: the glue passes a 16-octet sender address or null (another family).
    let from = unsafe { from.cast::<[u8; 16]>().as_ref() };
    // SAFETY: `dst` is the pair's 16-octet destination.
    let dst = unsafe { &*dst.cast::<[u8; 16]>() };
    // SAFETY: `pkt` has the `len` octets the glue read into it.
    let packet = unsafe { core::slice::from_raw_parts(pkt, len) };
    probe::is_echo_reply(family, from, dst, packet, id, seq)
}

/// Whether the current task may have echo requests sent in `net`, as it could with an
/// ICMP socket of its own: a group of its within `net.ipv4.ping_group_range`, or
/// `CAP_NET_RAW` in the namespace's user namespace.
pub(crate) fn may_ping(net: &Net) -> bool {
    // SAFETY: `net` is alive; the glue reads the current task's credentials.
    unsafe { local::sitemh_may_ping(net.as_raw()) }
}

/// Broadcasts the ICMP message `message` (checksum included) out of interface `ifindex`
/// with TTL 255, from `saddr` (host byte order; 0: the interface's address; else under a
/// header of our own, [`relay::write_packet`]). `EINVAL` for a relayed message longer than
/// [`relay::MAX_MESSAGE`]. Process context.
pub(crate) fn send_icmp4_broadcast(net: &Net, ifindex: i32, saddr: u32, message: &[u8]) -> Result {
    let mut packet = [0u8; relay::MAX_PACKET];
    let (hdrincl, octets) = if saddr == 0 {
        (false, message)
    } else {
        let len = relay::write_packet(saddr, message, &mut packet).ok_or(EINVAL)?;
        (true, packet.get(..len).ok_or(EINVAL)?)
    };
    let len = i32::try_from(octets.len()).map_err(|_| EINVAL)?;
    // SAFETY: `net` is alive and `octets` has `len` readable octets.
    to_result(unsafe {
        local::sitemh_send_icmp4_broadcast(net.as_raw(), ifindex, hdrincl, octets.as_ptr(), len)
    })
}

/// Sends the ICMP message `message` (checksum included) from `saddr` (0: the route's
/// choice) to `daddr` (IPv4, host byte order) with TTL `ttl` (0: the default). Process
/// context.
pub(crate) fn send_icmp4(net: &Net, saddr: u32, daddr: u32, ttl: u8, message: &[u8]) -> Result {
    let len = i32::try_from(message.len()).map_err(|_| EINVAL)?;
    // SAFETY: `net` is alive and `message` has `len` readable octets.
    to_result(unsafe {
        local::sitemh_send_icmp4(
            net.as_raw(),
            saddr.to_be(),
            daddr.to_be(),
            i32::from(ttl),
            message.as_ptr(),
            len,
        )
    })
}

/// Sends the ICMPv6 message `message` (the socket computes its checksum) from `saddr`
/// (`None`: the route's choice) to `daddr` out of `ifindex` (0: any; it scopes link-local
/// and multicast addresses), with hop limit `hops` (0: the default). Process context.
pub(crate) fn send_icmp6(
    net: &Net,
    saddr: Option<u128>,
    daddr: u128,
    ifindex: i32,
    hops: u8,
    message: &[u8],
) -> Result {
    send_icmp6_from(net, saddr, daddr, ifindex, hops, false, message)
}

/// As [`send_icmp6`], from `saddr` even if it is no address of this host: a relay sends a
/// CE's notice onward under the CE's address (hop limit 255, multicast on `ifindex`).
pub(crate) fn relay_icmp6(
    net: &Net,
    saddr: u128,
    daddr: u128,
    ifindex: i32,
    message: &[u8],
) -> Result {
    send_icmp6_from(net, Some(saddr), daddr, ifindex, 255, true, message)
}

fn send_icmp6_from(
    net: &Net,
    saddr: Option<u128>,
    daddr: u128,
    ifindex: i32,
    hops: u8,
    nonlocal: bool,
    message: &[u8],
) -> Result {
    let len = i32::try_from(message.len()).map_err(|_| EINVAL)?;
    let src = saddr.map(u128::to_be_bytes);
    let dst = daddr.to_be_bytes();
    let src_ptr = src.as_ref().map_or(core::ptr::null(), |s| s.as_ptr());
    // SAFETY: `net` is alive, the addresses have 16 readable octets (or the source is
    // null), `message` has `len` readable octets.
    to_result(unsafe {
        local::sitemh_send_icmp6(
            net.as_raw(),
            src_ptr,
            dst.as_ptr(),
            ifindex,
            i32::from(hops),
            nonlocal,
            message.as_ptr(),
            len,
        )
    })
}

/// Whether the IPv6 stack of `net` takes router advertisements on `ifindex` (its
/// `accept_ra`, as ndisc reads it).
pub(crate) fn ipv6_accepts_ra(net: &Net, ifindex: i32) -> bool {
    // SAFETY: `net` is alive; the glue looks the device up under RCU.
    unsafe { local::sitemh_ipv6_accepts_ra(net.as_raw(), ifindex) }
}

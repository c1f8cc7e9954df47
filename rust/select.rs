// SPDX-License-Identifier: GPL-2.0

//! The draft's address-selection calls (`getsrcaddr`, `gethostbynamewithsrcaddr`; sections
//! 2.1, 2.3.1, 2.3.2), answered as the socket option `SITEMH_SO_PAIRS` at level
//! `IPPROTO_IP` (IPv4) and `IPPROTO_IPV6` (IPv6). The library in `lib/` turns them back
//! into the draft's functions.
//!
//! Request and answer share the caller's buffer (`include/uapi/linux/sitemh.h`):
//!
//! ```text
//! struct sitemh_pairs{,6}: u32 ndst (in), u32 npairs, u32 available, u32 service (out),
//!                          dst[SITEMH_MAX_DESTS] (in), ranked pairs[] (out, best first)
//! ranked pair:             src, dst, u64 bandwidth, u32 hops, u32 latency_us, u32 flags,
//!                          u32 reserved
//! ```

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    uaccess::UserSlice, //
};

use crate::{
    domains::{
        Family,
        FamilyState,
        V4,
        V6, //
    },
    ffi::{
        inet::{
            self,
            GlueAddr, //
        },
        net::Net,
        sockopt::{
            GetSockopt,
            Socket, //
        },
    },
    logic::{
        prefix::{
            Bits,
            WireAddr, //
        },
        select::{
            candidate_pairs,
            rank,
            Host,
            LocalAddr,
            Pair,
            PathInfo,
            Ranked,
            SelectError,
            Service,
            MAX_DESTS,
            MAX_SOURCES, //
        },
    },
    netns::SitemhNet,
    switchover,
};

/// The first socket option number of sitemh (`SITEMH_SO_BASE`, 'S' 'H').
pub(crate) const SO_BASE: i32 = 0x5348;
/// One past the last option number sitemh reserves.
pub(crate) const SO_END: i32 = SO_BASE + 16;
/// `SITEMH_SO_PAIRS`: rank the (source, destination) pairs for some destinations.
pub(crate) const SO_PAIRS: i32 = SO_BASE;

/// `ndst`, `npairs`, `available`, `service`.
const COUNTS_LEN: usize = 16;
/// bandwidth (u64), hops, latency_us, flags, reserved (u32 each).
const RANK_INFO_LEN: usize = 24;
/// `SITEMH_RANK_MEASURED`: the latency is half a measured round trip.
const RANK_MEASURED: u32 = 1;
/// `SITEMH_RANK_DOWN`: the path is known to be down.
const RANK_DOWN: u32 = 2;
/// Most pairs probed in one call (each takes a kernel socket).
const MAX_PROBED: usize = 64;

/// The IPv4 answerer.
pub(crate) struct SelectV4;
/// The IPv6 answerer.
pub(crate) struct SelectV6;

impl GetSockopt for SelectV4 {
    type State = SitemhNet;

    fn get(state: &SitemhNet, socket: &Socket<'_>, optname: i32, buf: UserSlice) -> Result<usize> {
        match optname {
            SO_PAIRS => answer_pairs::<V4>(state.v4(), state.linkfail().down_mask(), socket, buf),
            switchover::SO_LFROUTES => state.switchover().get(socket, buf),
            _ => Err(ENOPROTOOPT),
        }
    }

    fn set(state: &SitemhNet, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        state.switchover().set(socket, optname, value)
    }
}

impl GetSockopt for SelectV6 {
    type State = SitemhNet;

    fn get(state: &SitemhNet, socket: &Socket<'_>, optname: i32, buf: UserSlice) -> Result<usize> {
        match optname {
            SO_PAIRS => answer_pairs::<V6>(state.v6(), 0, socket, buf),
            switchover::SO_LFROUTES => Err(EOPNOTSUPP),
            _ => Err(ENOPROTOOPT),
        }
    }

    /// The switchover is IPv4 only so far.
    fn set(_state: &SitemhNet, _socket: &Socket<'_>, optname: i32, _value: &[u8]) -> Result {
        match optname {
            switchover::SO_LFROUTES | switchover::SO_SEQPARAM | switchover::SO_LFSTAT => {
                Err(EOPNOTSUPP)
            }
            _ => Err(ENOPROTOOPT),
        }
    }
}

/// The host as the kernel sees it now.
struct KernelHost<'a, F: Family> {
    net: &'a Net,
    addrs: KVec<LocalAddr<F::Addr>>,
}

impl<'a, F: Family> KernelHost<'a, F> {
    fn new(net: &'a Net) -> Result<Self> {
        let raw = inet::local_addrs(net, F::AF)?;
        let mut addrs = KVec::with_capacity(raw.len(), GFP_KERNEL)?;
        for (octets, ifindex) in raw.iter() {
            if let Some(addr) = F::Addr::read(octets) {
                addrs.push(
                    LocalAddr {
                        addr,
                        ifindex: *ifindex,
                    },
                    GFP_KERNEL,
                )?;
            }
        }
        Ok(Self { net, addrs })
    }
}

fn wire<F: Family>(addr: F::Addr) -> GlueAddr {
    let mut octets = [0u8; 16];
    addr.write(&mut octets);
    octets
}

impl<F: Family> Host<F::Addr> for KernelHost<'_, F> {
    fn addresses(&self) -> &[LocalAddr<F::Addr>] {
        &self.addrs
    }

    fn route_oif(&self, dst: F::Addr, ifindex: i32) -> Option<i32> {
        inet::route_oif(self.net, F::AF, &wire::<F>(dst), ifindex).ok()
    }
}

fn put_u32(out: &mut [u8], at: usize, value: u32) {
    if let Some(slot) = out.get_mut(at..at + 4) {
        slot.copy_from_slice(&value.to_ne_bytes());
    }
}

/// `SITEMH_SO_PAIRS` for family `F`; `noticed_down` has a bit set for every domain a
/// link-failure notice reported down.
fn answer_pairs<F: Family>(
    state: &FamilyState<F>,
    noticed_down: u32,
    socket: &Socket<'_>,
    buf: UserSlice,
) -> Result<usize> {
    let addr_len = <F::Addr as WireAddr>::LEN;
    let header_len = COUNTS_LEN + MAX_DESTS * addr_len;
    let pair_len = 2 * addr_len + RANK_INFO_LEN;
    let (mut reader, mut writer) = buf.reader_writer();
    let room = reader.len();
    if room < header_len {
        return Err(EINVAL);
    }
    let mut request = KVec::from_elem(0u8, header_len, GFP_KERNEL)?;
    reader.read_slice(&mut request)?;
    let ndst = request
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .map_or(0, |n| n as usize);
    if ndst == 0 || ndst > MAX_DESTS {
        return Err(EINVAL);
    }
    let mut dsts = [F::Addr::ZERO; MAX_DESTS];
    for (i, dst) in dsts.iter_mut().take(ndst).enumerate() {
        let at = COUNTS_LEN + i * addr_len;
        *dst = request.get(at..).and_then(F::Addr::read).ok_or(EINVAL)?;
    }

    let view = state.selection_view();
    let host = KernelHost::<F>::new(socket.net)?;
    let mut info = PathInfo {
        attrs: view.paths,
        down: view.down,
    };
    for (index, down) in info.down.iter_mut().enumerate() {
        *down |= noticed_down & (1 << index) != 0;
    }
    let mut pairs = KVec::from_elem(Pair::default(), MAX_SOURCES * ndst, GFP_KERNEL)?;
    let n =
        candidate_pairs(&view.table, &host, &dsts[..ndst], view.home, &mut pairs).map_err(|e| {
            match e {
                SelectError::NoDestination => EINVAL,
                SelectError::NoSource => ENETUNREACH,
            }
        })?;
    let pairs = &pairs[..n];

    let mut rtt_us = KVec::from_elem(0u32, n, GFP_KERNEL)?;
    if view.probe_ms > 0 {
        let probed = n.min(MAX_PROBED);
        let mut src = KVec::with_capacity(probed, GFP_KERNEL)?;
        let mut dst = KVec::with_capacity(probed, GFP_KERNEL)?;
        for pair in &pairs[..probed] {
            src.push(wire::<F>(pair.src), GFP_KERNEL)?;
            dst.push(wire::<F>(pair.dst), GFP_KERNEL)?;
        }
        inet::probe_rtts(socket.net, F::AF, &src, &dst, view.probe_ms, &mut rtt_us)?;
    }
    let mut ranked = KVec::with_capacity(n, GFP_KERNEL)?;
    for (pair, &rtt) in pairs.iter().zip(rtt_us.iter()) {
        let rtt = if rtt > 0 { Some(rtt) } else { None };
        ranked.push(Ranked::new(&view.table, &info, *pair, rtt), GFP_KERNEL)?;
    }
    let service = Service::of_tos(socket.tos);
    rank(&mut ranked, service);

    let written = n.min((room - header_len) / pair_len);
    let mut out = KVec::from_elem(0u8, header_len + written * pair_len, GFP_KERNEL)?;
    out[..header_len].copy_from_slice(&request);
    put_u32(&mut out, 4, written as u32);
    put_u32(&mut out, 8, n as u32);
    put_u32(&mut out, 12, u32::from(service == Service::LowLatency));
    for (i, r) in ranked.iter().take(written).enumerate() {
        let at = header_len + i * pair_len;
        r.pair.src.write(&mut out[at..]);
        r.pair.dst.write(&mut out[at + addr_len..]);
        let info_at = at + 2 * addr_len;
        out[info_at..info_at + 8].copy_from_slice(&r.bandwidth.to_ne_bytes());
        put_u32(&mut out, info_at + 8, r.hops);
        put_u32(&mut out, info_at + 12, r.latency_us);
        let flags = if r.measured { RANK_MEASURED } else { 0 } | if r.down { RANK_DOWN } else { 0 };
        put_u32(&mut out, info_at + 16, flags);
    }
    writer.write_slice(&out)?;
    Ok(out.len())
}

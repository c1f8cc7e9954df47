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

use core::sync::atomic::{
    AtomicU64,
    Ordering, //
};

use kernel::{
    new_mutex,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::Mutex,
    uaccess::UserSlice, //
};

use crate::{
    domains::{
        Family,
        FamilyState,
        SelectionView,
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
        work::now_ms,
    },
    home,
    logic::{
        prefix::{
            Bits,
            WireAddr, //
        },
        ratelimit::PeerLimiter,
        select::{
            candidate_pairs,
            for_each_outside,
            outside_class,
            rank,
            rank_outside_sources,
            Host,
            LocalAddr,
            OutsideKey,
            Pair,
            PathInfo,
            Ranked,
            RttCache,
            SelectError,
            Service,
            MAX_DESTS,
            MAX_SOURCES,
            RTT_CACHE_PAIRS, //
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
/// `SITEMH_SO_SRCADDRS`: the ranked sources for one destination (`getsrcaddr`).
pub(crate) const SO_SRCADDRS: i32 = SO_BASE + 4;

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
            SO_PAIRS => {
                let linkfail = state.linkfail();
                answer_pairs::<V4>(
                    state.v4(),
                    linkfail.down_mask(),
                    linkfail.probes(),
                    socket,
                    buf,
                )
            }
            SO_SRCADDRS => {
                let linkfail = state.linkfail();
                let down = linkfail.down_mask();
                answer_sources::<V4>(state.v4(), down, linkfail.probes(), socket, buf)
            }
            switchover::SO_LFROUTES => state.switchover().get(socket, buf),
            home::SO_CAREOF => state.home4().get_careof(buf),
            _ => Err(ENOPROTOOPT),
        }
    }

    fn set(state: &SitemhNet, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        match optname {
            home::SO_CAREOF => state.home4().set_careof(value),
            _ => state.switchover().set(socket, optname, value),
        }
    }
}

impl GetSockopt for SelectV6 {
    type State = SitemhNet;

    fn get(state: &SitemhNet, socket: &Socket<'_>, optname: i32, buf: UserSlice) -> Result<usize> {
        match optname {
            SO_PAIRS => {
                let linkfail = state.linkfail();
                let down = linkfail.down6_mask();
                answer_pairs::<V6>(state.v6(), down, linkfail.probes(), socket, buf)
            }
            SO_SRCADDRS => {
                let linkfail = state.linkfail();
                let down = linkfail.down6_mask();
                answer_sources::<V6>(state.v6(), down, linkfail.probes(), socket, buf)
            }
            home::SO_CAREOF => state.home6().get_careof(buf),
            switchover::SO_LFROUTES => state.switchover6().get(socket, buf),
            _ => Err(ENOPROTOOPT),
        }
    }

    fn set(state: &SitemhNet, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        match optname {
            home::SO_CAREOF => state.home6().set_careof(value),
            _ => state.switchover6().set(socket, optname, value),
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
/// link-failure notice reported down; `probes` measures the pairs when selection probes.
fn answer_pairs<F: Family>(
    state: &FamilyState<F>,
    noticed_down: u32,
    probes: &EchoProbes,
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
    let mut request = [0u8; COUNTS_LEN + MAX_DESTS * 16];
    let request = &mut request[..header_len];
    reader.read_slice(request)?;
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
    let dsts = &dsts[..ndst];
    let service = Service::of_tos(socket.tos);
    let room_pairs = (room - header_len) / pair_len;

    let answer = answer_outside(state, noticed_down, socket, service, dsts, |sources| {
        let mut answer = Answer::new(request, (sources.len() * ndst).min(room_pairs), pair_len)?;
        for_each_outside(sources, service, dsts, |r| answer.push(&r));
        Ok(answer)
    })?;
    let mut answer = match answer {
        Some(answer) => answer,
        None => {
            let ranked = ranked_pairs(state, noticed_down, probes, socket, service, dsts)?;
            let mut answer = Answer::new(request, ranked.len().min(room_pairs), pair_len)?;
            for r in ranked.iter() {
                answer.push(r);
            }
            answer
        }
    };
    if answer.total == 0 {
        return Err(ENETUNREACH);
    }
    let out = answer.finish(service);
    writer.write_slice(out)?;
    Ok(out.len())
}

/// `SITEMH_SO_SRCADDRS` for family `F`: the sources `SITEMH_SO_PAIRS` ranks for one
/// destination, in its order, without the ranking data.
///
/// ```text
/// struct sitemh_srcaddrs{,6}: u32 nsrc (out), u32 service (out), dst (in),
///                             src[SITEMH_MAX_SOURCES] (out, best first)
/// ```
fn answer_sources<F: Family>(
    state: &FamilyState<F>,
    noticed_down: u32,
    probes: &EchoProbes,
    socket: &Socket<'_>,
    buf: UserSlice,
) -> Result<usize> {
    let addr_len = <F::Addr as WireAddr>::LEN;
    let header_len = 8 + addr_len;
    let (mut reader, mut writer) = buf.reader_writer();
    if reader.len() < header_len + MAX_SOURCES * addr_len {
        return Err(EINVAL);
    }
    let mut out = [0u8; 8 + 16 + MAX_SOURCES * 16];
    reader.read_slice(&mut out[..header_len])?;
    let dsts = [out
        .get(8..header_len)
        .and_then(F::Addr::read)
        .ok_or(EINVAL)?];
    let service = Service::of_tos(socket.tos);
    let mut sources = [F::Addr::ZERO; MAX_SOURCES];
    let mut n = 0;
    let mut take = |r: &Ranked<F::Addr>| {
        if let Some(slot) = sources.get_mut(n) {
            *slot = r.pair.src;
            n += 1;
        }
    };
    let cached = answer_outside(state, noticed_down, socket, service, &dsts, |ranked| {
        for_each_outside(ranked, service, &dsts, |r| take(&r));
        Ok(())
    })?;
    if cached.is_none() {
        // One destination: the pairs' sources are distinct.
        for r in ranked_pairs(state, noticed_down, probes, socket, service, &dsts)?.iter() {
            take(r);
        }
    }
    if n == 0 {
        return Err(ENETUNREACH);
    }
    put_u32(&mut out, 0, n as u32);
    put_u32(&mut out, 4, u32::from(service == Service::LowLatency));
    for (i, src) in sources[..n].iter().enumerate() {
        let at = header_len + i * addr_len;
        src.write(&mut out[at..at + addr_len]);
    }
    let len = header_len + n * addr_len;
    writer.write_slice(&out[..len])?;
    Ok(len)
}

/// The answer being written: the request echoed, then the ranked pairs while the caller's
/// buffer has room; every pair counts in `total`.
struct Answer {
    out: KVec<u8>,
    pair_len: usize,
    room: usize,
    written: usize,
    total: usize,
}

impl Answer {
    /// An answer to `request` with room for `room` pairs of `pair_len` octets.
    fn new(request: &[u8], room: usize, pair_len: usize) -> Result<Self> {
        let mut out = KVec::with_capacity(request.len() + room * pair_len, GFP_KERNEL)?;
        out.extend_from_slice(request, GFP_KERNEL)?;
        Ok(Self {
            out,
            pair_len,
            room,
            written: 0,
            total: 0,
        })
    }

    fn push<B: WireAddr>(&mut self, r: &Ranked<B>) {
        self.total += 1;
        if self.written == self.room {
            return;
        }
        // One ranked pair: src, dst, then u64 bandwidth, u32 hops, latency_us, flags and a
        // reserved u32, built on the stack and appended once (into reserved room).
        let mut pair = [0u8; 2 * 16 + RANK_INFO_LEN];
        let addrs = 2 * B::LEN;
        r.pair.src.write(&mut pair[..B::LEN]);
        r.pair.dst.write(&mut pair[B::LEN..addrs]);
        let flags = if r.measured { RANK_MEASURED } else { 0 } | if r.down { RANK_DOWN } else { 0 };
        let info = &mut pair[addrs..addrs + RANK_INFO_LEN];
        info[..8].copy_from_slice(&r.bandwidth.to_ne_bytes());
        info[8..12].copy_from_slice(&r.hops.to_ne_bytes());
        info[12..16].copy_from_slice(&r.latency_us.to_ne_bytes());
        info[16..20].copy_from_slice(&flags.to_ne_bytes());
        if self
            .out
            .extend_from_slice(&pair[..self.pair_len], GFP_KERNEL)
            .is_ok()
        {
            self.written += 1;
        }
    }

    /// The octets to copy out, with the counts filled in.
    fn finish(&mut self, service: Service) -> &[u8] {
        let (written, total) = (self.written as u32, self.total as u32);
        put_u32(&mut self.out, 4, written);
        put_u32(&mut self.out, 8, total);
        put_u32(&mut self.out, 12, u32::from(service == Service::LowLatency));
        &self.out
    }
}

/// The path information of `view` with the domains `noticed_down` marked down.
fn path_info<F: Family>(view: &SelectionView<F>, noticed_down: u32) -> PathInfo {
    let mut info = PathInfo {
        attrs: view.paths,
        down: view.down,
    };
    for (index, down) in info.down.iter_mut().enumerate() {
        *down |= noticed_down & (1 << index) != 0;
    }
    info
}

/// `answer(sources)` for `dsts` when none of them is inside the domains and selection does
/// not probe, with their sources ranked: remembered while nothing the ranking depends on
/// changes (else ranked now and remembered). `None` for the other cases.
fn answer_outside<F: Family, T>(
    state: &FamilyState<F>,
    noticed_down: u32,
    socket: &Socket<'_>,
    service: Service,
    dsts: &[F::Addr],
    answer: impl FnOnce(&[Ranked<F::Addr>]) -> Result<T>,
) -> Result<Option<T>> {
    // The key is read before the ranking it names is computed: a change in between
    // leaves an entry under the old key, which no later call matches.
    let routes = inet::selection_generation(socket.net, F::AF);
    let Some(table) = state.outside_generation(dsts) else {
        return Ok(None);
    };
    let key = OutsideKey {
        table,
        routes,
        noticed_down,
        service,
        class: outside_class(dsts),
    };
    if let Some(sources) = state.outside_cache().lock().get(&key) {
        return answer(sources).map(Some);
    }
    let view = state.selection_view();
    if view.generation != table {
        // The table changed meanwhile: answer from scratch.
        return Ok(None);
    }
    let host = KernelHost::<F>::new(socket.net)?;
    let info = path_info(&view, noticed_down);
    let mut sources = [Ranked::default(); MAX_SOURCES];
    let count = rank_outside_sources(
        &view.table,
        &host,
        &info,
        key.class,
        view.home,
        service,
        &mut sources,
    );
    state.outside_cache().lock().put(key, &sources, count);
    answer(&sources[..count]).map(Some)
}

/// The ranked pairs for `dsts` from scratch: the draft's candidate pairs, echo-probed if
/// configured, ranked for `service`.
fn ranked_pairs<F: Family>(
    state: &FamilyState<F>,
    noticed_down: u32,
    probes: &EchoProbes,
    socket: &Socket<'_>,
    service: Service,
    dsts: &[F::Addr],
) -> Result<KVec<Ranked<F::Addr>>> {
    let ndst = dsts.len();
    let view = state.selection_view();
    let host = KernelHost::<F>::new(socket.net)?;
    let info = path_info(&view, noticed_down);
    let mut pairs = KVec::from_elem(Pair::default(), MAX_SOURCES * ndst, GFP_KERNEL)?;
    let n =
        candidate_pairs(&view.table, &host, dsts, view.home, &mut pairs).map_err(|e| match e {
            SelectError::NoDestination => EINVAL,
            SelectError::NoSource => ENETUNREACH,
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
        probes.measure(socket.net, F::AF, &src, &dst, view.probe_ms, &mut rtt_us)?;
    }
    let mut ranked = KVec::with_capacity(n, GFP_KERNEL)?;
    for (pair, &rtt) in pairs.iter().zip(rtt_us.iter()) {
        let rtt = if rtt > 0 { Some(rtt) } else { None };
        ranked.push(Ranked::new(&view.table, &info, *pair, rtt), GFP_KERNEL)?;
    }
    rank(&mut ranked, service);
    Ok(ranked)
}

/// Echo probes a namespace may send for selection per second, after a burst of one full
/// call's worth.
const PROBE_RATE_PER_S: u32 = 16;
const PROBE_BURST: u32 = MAX_PROBED as u32;

/// A probed pair as the cache keys it: IPv6 or not, source, destination.
type ProbedPair = (bool, GlueAddr, GlueAddr);

/// What selection's probing remembers in one namespace.
struct ProbeBook {
    /// Probes sent, one token each, for every caller of the namespace together.
    limiter: PeerLimiter<(), 1>,
    /// Round trips measured lately.
    rtts: RttCache<ProbedPair, RTT_CACHE_PAIRS>,
}

/// Selection's echo probes (draft 2.1.1) in one namespace.
///
/// The socket option that asks for them needs no privilege, and the caller picks the
/// destinations: so a caller must have the right to ping (as an ICMP socket of its own
/// would need), the probes of a namespace are rate-limited ([`PROBE_RATE_PER_S`] after a
/// burst of [`PROBE_BURST`]), and a pair measured less than `RTT_CACHE_MS` ago is answered
/// from the cache without a probe. A pair over the limit is ranked as unmeasured. The
/// replies must carry the random identifier and sequence number of their probe and come
/// from the probed destination (`sitemh_probe_rtts`).
#[pin_data]
pub(crate) struct EchoProbes {
    #[pin]
    book: Mutex<ProbeBook>,
    /// Echo requests sent, pairs answered from the cache, pairs left unmeasured by the
    /// rate limit, callers refused for want of the right to ping.
    sent: AtomicU64,
    cached: AtomicU64,
    limited: AtomicU64,
    refused: AtomicU64,
}

impl EchoProbes {
    /// Nothing measured yet, a full burst.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            book <- new_mutex!(ProbeBook {
                limiter: PeerLimiter::new(PROBE_RATE_PER_S, PROBE_BURST),
                rtts: RttCache::new(),
            }),
            sent: AtomicU64::new(0),
            cached: AtomicU64::new(0),
            limited: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// The round trips of the pairs `src[i] -> dst[i]` of `family` into `rtt_us[i]` (0:
    /// unknown), from the cache or probed (waiting up to `wait_ms`) within the rate
    /// limit. `EPERM` if the caller may not ping. Sleeps.
    pub(crate) fn measure(
        &self,
        net: &Net,
        family: i32,
        src: &[GlueAddr],
        dst: &[GlueAddr],
        wait_ms: u32,
        rtt_us: &mut [u32],
    ) -> Result {
        if !inet::may_ping(net) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(EPERM);
        }
        let ipv6 = family == kernel::bindings::AF_INET6 as i32;
        let pairs = src.iter().zip(dst.iter()).map(|(s, d)| (ipv6, *s, *d));
        let mut todo = KVec::with_capacity(rtt_us.len(), GFP_KERNEL)?;
        {
            let now = now_ms();
            let mut book = self.book.lock();
            for (i, (pair, rtt)) in pairs.zip(rtt_us.iter_mut()).enumerate() {
                *rtt = 0;
                if let Some(known) = book.rtts.get(&pair, now) {
                    *rtt = known;
                    self.cached.fetch_add(1, Ordering::Relaxed);
                } else if book.limiter.allow((), now) {
                    todo.push((i, pair), GFP_KERNEL)?;
                } else {
                    self.limited.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        let mut probe_src = KVec::with_capacity(todo.len(), GFP_KERNEL)?;
        let mut probe_dst = KVec::with_capacity(todo.len(), GFP_KERNEL)?;
        for (_, (_, s, d)) in todo.iter() {
            probe_src.push(*s, GFP_KERNEL)?;
            probe_dst.push(*d, GFP_KERNEL)?;
        }
        let mut probed = KVec::from_elem(0u32, todo.len(), GFP_KERNEL)?;
        inet::probe_rtts(net, family, &probe_src, &probe_dst, wait_ms, &mut probed)?;
        self.sent.fetch_add(todo.len() as u64, Ordering::Relaxed);
        let now = now_ms();
        let mut book = self.book.lock();
        for (&(i, pair), &measured) in todo.iter().zip(probed.iter()) {
            if let Some(rtt) = rtt_us.get_mut(i) {
                *rtt = measured;
            }
            book.rtts.put(pair, measured, now);
        }
        Ok(())
    }

    /// The `/proc/net/sitemh` line.
    pub(crate) fn show(&self, m: &SeqFile) {
        seq_print!(
            m,
            "probe sent {} cached {} limited {} refused {}\n",
            self.sent.load(Ordering::Relaxed),
            self.cached.load(Ordering::Relaxed),
            self.limited.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed)
        );
    }
}

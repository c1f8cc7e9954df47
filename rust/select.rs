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

use core::{
    mem::size_of,
    sync::atomic::{
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    new_mutex,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::Mutex,
    transmute::AsBytes,
    uaccess::UserSlice, //
};

use crate::{
    domains::{
        FamilyState,
        SelectionView, //
    },
    family::Family,
    ffi::{
        inet::{
            self,
            GlueAddr, //
        },
        net::Net,
        sockopt::{
            Socket, //
        },
        uapi::{
            self,
            UapiAddr, //
        },
        work::now_ms,
    },
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
            MAX_SOURCES,
            RTT_CACHE_PAIRS, //
        },
        sockopt::{
            srcaddrs_header_len,
            RankInfo,
            RANK_DOWN,
            RANK_MEASURED, //
        },
    },
};

/// Most pairs probed in one call (each takes a kernel socket).
const MAX_PROBED: usize = 64;

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

/// `SITEMH_SO_PAIRS` for family `F`; `noticed_down` has a bit set for every domain a
/// link-failure notice reported down; `probes` measures the pairs when selection probes.
pub(crate) fn answer_pairs<F: Family>(
    state: &FamilyState<F>,
    noticed_down: u32,
    probes: &EchoProbes,
    socket: &Socket<'_>,
    buf: UserSlice,
) -> Result<usize> {
    let header_len = size_of::<<F::Addr as UapiAddr>::Pairs>();
    let pair_len = size_of::<<F::Addr as UapiAddr>::RankedPair>();
    let (mut reader, mut writer) = buf.reader_writer();
    let room = reader.len();
    if room < header_len {
        return Err(EINVAL);
    }
    let mut request: <F::Addr as UapiAddr>::Pairs = reader.read()?;
    let asked = uapi::pairs_request::<F::Addr>(&request)?;
    let dsts = asked.dsts();
    let ndst = dsts.len();
    let service = Service::of_tos(socket.tos);
    let room_pairs = (room - header_len) / pair_len;

    let answer = answer_outside(state, noticed_down, socket, service, dsts, |sources| {
        let mut answer = Answer::new((sources.len() * ndst).min(room_pairs))?;
        for_each_outside(sources, service, dsts, |r| answer.push(&r));
        Ok(answer)
    })?;
    let answer = match answer {
        Some(answer) => answer,
        None => {
            let ranked = ranked_pairs(state, noticed_down, probes, socket, service, dsts)?;
            let mut answer = Answer::new(ranked.len().min(room_pairs))?;
            for r in ranked.iter() {
                answer.push(r);
            }
            answer
        }
    };
    if answer.total == 0 {
        return Err(ENETUNREACH);
    }
    // The request's fields stay; the counts are the answer's.
    let (npairs, available) = answer.counts();
    let service = u32::from(service == Service::LowLatency);
    F::Addr::set_pairs_counts(&mut request, npairs, available, service);
    writer.write_slice(request.as_bytes())?;
    writer.write_slice(&answer.pairs)?;
    Ok(header_len + answer.pairs.len())
}

/// `SITEMH_SO_SRCADDRS` for family `F`: the sources `SITEMH_SO_PAIRS` ranks for one
/// destination, in its order, without the ranking data.
///
/// ```text
/// struct sitemh_srcaddrs{,6}: u32 nsrc (out), u32 service (out), dst (in),
///                             src[SITEMH_MAX_SOURCES] (out, best first)
/// ```
pub(crate) fn answer_sources<F: Family>(
    state: &FamilyState<F>,
    noticed_down: u32,
    probes: &EchoProbes,
    socket: &Socket<'_>,
    buf: UserSlice,
) -> Result<usize> {
    let (mut reader, mut writer) = buf.reader_writer();
    if reader.len() < size_of::<<F::Addr as UapiAddr>::Srcaddrs>() {
        return Err(EINVAL);
    }
    let mut answer: <F::Addr as UapiAddr>::Srcaddrs = reader.read()?;
    let dsts = [F::Addr::srcaddrs_dst(&answer)];
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
    let service = u32::from(service == Service::LowLatency);
    F::Addr::set_srcaddrs(&mut answer, service, &sources[..n]);
    // Up to the last source written.
    let len = srcaddrs_header_len::<F::Addr>() + n * F::Addr::LEN;
    let out = answer.as_bytes().get(..len).ok_or(EINVAL)?;
    writer.write_slice(out)?;
    Ok(len)
}

/// The ranked pairs of an answer, while the caller's buffer has room; every pair counts in
/// `total`.
struct Answer<A: UapiAddr> {
    _family: core::marker::PhantomData<A>,
    pairs: KVec<u8>,
    room: usize,
    written: usize,
    total: usize,
}

impl<A: UapiAddr> Answer<A> {
    /// An answer with room for `room` pairs.
    fn new(room: usize) -> Result<Self> {
        let pairs = KVec::with_capacity(room * size_of::<A::RankedPair>(), GFP_KERNEL)?;
        Ok(Self {
            _family: core::marker::PhantomData,
            pairs,
            room,
            written: 0,
            total: 0,
        })
    }

    fn push(&mut self, r: &Ranked<A>) {
        self.total += 1;
        if self.written == self.room {
            return;
        }
        let info = RankInfo {
            bandwidth: r.bandwidth,
            hops: r.hops,
            latency_us: r.latency_us,
            flags: if r.measured { RANK_MEASURED } else { 0 } | if r.down { RANK_DOWN } else { 0 },
        };
        let pair = A::ranked_pair(r.pair.src, r.pair.dst, &info);
        if self
            .pairs
            .extend_from_slice(pair.as_bytes(), GFP_KERNEL)
            .is_ok()
        {
            self.written += 1;
        }
    }

    /// `npairs` and `available`: the pairs written, and the pairs found.
    fn counts(&self) -> (u32, u32) {
        // At most SITEMH_MAX_PAIRS pairs: both fit.
        (self.written as u32, self.total as u32)
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

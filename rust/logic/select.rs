// SPDX-License-Identifier: GPL-2.0

//! Address-pair selection (draft sections 2.1, 2.1.1, 2.3.1 and 2.3.2).
//!
//! [`candidate_pairs`] follows the pseudo-code of `getsrcaddr` / `gethostbynamewithsrcaddr`:
//! which destinations to use and which of the host's addresses may be their sources.
//! [`rank`] is the draft's `getendpointaddr`: it orders the (source, destination) pairs,
//! widest-shortest for best effort and lowest latency for guaranteed / controlled-load
//! service. The host's addresses and routes come in through [`Host`], so that this stays
//! pure: the module answers it from the kernel, the tests from tables.

use super::{
    domain::{
        DomainTable,
        MAX_DOMAINS, //
    },
    prefix::Bits,
};

/// Sources considered for one destination (`getsrcaddr` returns at most this many).
pub(crate) const MAX_SOURCES: usize = 16;
/// Destinations considered for one name.
pub(crate) const MAX_DESTS: usize = 16;

/// What an address is for, as far as the draft's branches care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrClass {
    /// Usable on its link only (IPv4 169.254/16, IPv6 fe80::/10).
    LinkLocal,
    /// Private address space (RFC 1918, IPv6 unique local fc00::/7).
    Private,
    /// Global unicast.
    Global,
}

/// Addresses whose class is known.
pub(crate) trait Classify: Bits + Ord {
    /// The class of the address.
    fn class(self) -> AddrClass;
}

impl Classify for u32 {
    fn class(self) -> AddrClass {
        let in_net = |net: u32, len: u8| self & u32::mask(len) == net;
        if in_net(0xa9fe_0000, 16) {
            AddrClass::LinkLocal
        } else if in_net(0x0a00_0000, 8) || in_net(0xac10_0000, 12) || in_net(0xc0a8_0000, 16) {
            AddrClass::Private
        } else {
            AddrClass::Global
        }
    }
}

impl Classify for u128 {
    fn class(self) -> AddrClass {
        if self >> 118 == 0x3fa {
            AddrClass::LinkLocal
        } else if self >> 121 == 0x7e {
            AddrClass::Private
        } else {
            AddrClass::Global
        }
    }
}

/// One of the host's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct LocalAddr<B> {
    /// The address.
    pub(crate) addr: B,
    /// The interface holding it.
    pub(crate) ifindex: i32,
}

/// What selection needs to know of the host.
pub(crate) trait Host<B> {
    /// The host's usable unicast addresses (interfaces up, loopback excluded).
    fn addresses(&self) -> &[LocalAddr<B>];
    /// The draft's `rtalloc`: the interface the route to `dst` leaves by (`ifindex` names
    /// the interface of a link-scoped `dst`, else 0); `None` without a route.
    fn route_oif(&self, dst: B, ifindex: i32) -> Option<i32>;
}

/// A (source, destination) pair: the draft's `struct addr_pair`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Pair<B> {
    /// The local address to bind.
    pub(crate) src: B,
    /// The peer's address.
    pub(crate) dst: B,
}

/// Why no pair could be formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SelectError {
    /// No destination was given.
    NoDestination,
    /// No route to the destination, or no usable source for it.
    NoSource,
}

/// The sources for `dst` (draft 2.3.1), in the host's address order, into `out`.
pub(crate) fn sources_for<B: Classify, H: Host<B>>(
    table: &DomainTable<B>,
    host: &H,
    dst: B,
    home: Option<B>,
    out: &mut [B],
) -> usize {
    match table.domain_of(dst) {
        Some(domain) => {
            // Inside the domains: the route's interface, and on it the address of the
            // destination's own domain (or of its link, for a link-local destination).
            let Some(oif) = host.route_oif(dst, 0) else {
                return 0;
            };
            let index = domain.index;
            let on_oif = host.addresses().iter().filter(|a| a.ifindex == oif);
            let wanted = |a: &&LocalAddr<B>| {
                if dst.class() == AddrClass::LinkLocal {
                    a.addr.class() == AddrClass::LinkLocal
                } else {
                    table.domain_of(a.addr).map(|d| d.index) == Some(index)
                }
            };
            collect(on_oif.filter(wanted).map(|a| a.addr), out)
        }
        None => outside_sources(table, host, dst.class(), home, out),
    }
}

/// Sources for a destination outside the domains, of class `class` (private or global).
fn outside_sources<B: Classify, H: Host<B>>(
    table: &DomainTable<B>,
    host: &H,
    class: AddrClass,
    home: Option<B>,
    out: &mut [B],
) -> usize {
    if class == AddrClass::LinkLocal {
        return 0;
    }
    // The home address (mobility, provider-independent addresses) stands for the node.
    if let Some(home) = home {
        return collect(core::iter::once(home), out);
    }
    let class = if class == AddrClass::Private {
        AddrClass::Private
    } else {
        AddrClass::Global
    };
    let of_class = || {
        host.addresses()
            .iter()
            .filter(move |a| a.addr.class() == class)
    };
    let mut interfaces = of_class().map(|a| a.ifindex);
    let first = interfaces.next();
    if interfaces.all(|i| Some(i) == first) {
        // One interface: all its addresses of the class.
        return collect(of_class().map(|a| a.addr), out);
    }
    // Several: per default router, the address of its domain on the interface that the
    // route to the router leaves by.
    let mut n = 0;
    for domain in table.domains() {
        let Some(router) = domain.router else {
            continue;
        };
        let Some(oif) = host.route_oif(router.addr, router.ifindex) else {
            continue;
        };
        let found = of_class().find(|a| {
            a.ifindex == oif && table.domain_of(a.addr).map(|d| d.index) == Some(domain.index)
        });
        if let Some(a) = found {
            if n < out.len() && !out[..n].contains(&a.addr) {
                out[n] = a.addr;
                n += 1;
            }
        }
    }
    n
}

fn collect<B: Copy + PartialEq>(addrs: impl Iterator<Item = B>, out: &mut [B]) -> usize {
    let mut n = 0;
    for addr in addrs {
        if n == out.len() {
            break;
        }
        if !out[..n].contains(&addr) {
            out[n] = addr;
            n += 1;
        }
    }
    n
}

/// The candidate pairs for destinations `dsts` (draft 2.3.2; one destination is 2.3.1),
/// unranked, into `out`. Returns how many were written.
pub(crate) fn candidate_pairs<B: Classify, H: Host<B>>(
    table: &DomainTable<B>,
    host: &H,
    dsts: &[B],
    home: Option<B>,
    out: &mut [Pair<B>],
) -> Result<usize, SelectError> {
    if dsts.is_empty() {
        return Err(SelectError::NoDestination);
    }
    let dsts = &dsts[..dsts.len().min(MAX_DESTS)];
    let inside = |d: &&B| table.domain_of(**d).is_some();
    let private = |d: &&B| d.class() != AddrClass::Global;
    let mut n = 0;
    let mut push = |pair: Pair<B>, out: &mut [Pair<B>]| {
        if n < out.len() && !out[..n].contains(&pair) {
            out[n] = pair;
            n += 1;
        }
    };
    let mut sources = [B::ZERO; MAX_SOURCES];
    if dsts.iter().any(|d| inside(&d)) {
        // Inside the domains: a private destination if there is one, else a global one,
        // each from the source of its own domain.
        let prefer_private = dsts.iter().filter(inside).any(|d| private(&d));
        for &dst in dsts.iter().filter(inside) {
            if private(&&dst) != prefer_private {
                continue;
            }
            let count = sources_for(table, host, dst, None, &mut sources);
            for &src in &sources[..count] {
                push(Pair { src, dst }, out);
            }
        }
    } else {
        // Outside: private destinations with private sources if the name has any, else
        // every global destination with every global source (or the home address).
        let class = outside_class(dsts);
        let count = outside_sources(table, host, class, home, &mut sources);
        for &dst in dsts.iter().filter(|d| d.class() == class) {
            for &src in &sources[..count] {
                push(Pair { src, dst }, out);
            }
        }
    }
    if n == 0 {
        return Err(SelectError::NoSource);
    }
    Ok(n)
}

/// Which destinations (and sources) a name outside the domains uses: private ones if it
/// has any, else global ones. Only the first [`MAX_DESTS`] count, as everywhere else: a
/// longer list must not pick a class from a destination no pair is formed with.
pub(crate) fn outside_class<B: Classify>(dsts: &[B]) -> AddrClass {
    let dsts = &dsts[..dsts.len().min(MAX_DESTS)];
    if dsts.iter().any(|d| d.class() == AddrClass::Private) {
        AddrClass::Private
    } else {
        AddrClass::Global
    }
}

/// Path attributes of one provider (source domain), as configured (draft 2.1.1: what the
/// PE router would report in ADSPEC). 0 means unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct PathAttrs {
    /// Bandwidth allocated to the customer, kbit/s.
    pub(crate) customer_bandwidth: u32,
    /// Gross effective bandwidth allocated to the provider's customers on the path, kbit/s.
    pub(crate) gross_bandwidth: u32,
    /// AVAILABLE_PATH_BANDWIDTH, kbit/s.
    pub(crate) path_bandwidth: u32,
    /// Unused bandwidth allocated to the customer, kbit/s (caps the effective bandwidth).
    pub(crate) unused_bandwidth: u32,
    /// NUMBER_OF_IS_HOPS.
    pub(crate) hops: u32,
    /// MINIMUM_PATH_LATENCY, microseconds.
    pub(crate) latency_us: u32,
}

impl PathAttrs {
    /// Nothing known.
    pub(crate) const UNKNOWN: Self = Self {
        customer_bandwidth: 0,
        gross_bandwidth: 0,
        path_bandwidth: 0,
        unused_bandwidth: 0,
        hops: 0,
        latency_us: 0,
    };

    /// The draft's effective available bandwidth, kbit/s:
    /// `customer / gross * AVAILABLE_PATH_BANDWIDTH`, at most the customer's unused
    /// bandwidth. Without the customer's share, the whole path bandwidth counts.
    pub(crate) fn effective_bandwidth(&self) -> u64 {
        let path = u64::from(self.path_bandwidth);
        let mut effective = if self.customer_bandwidth != 0 && self.gross_bandwidth != 0 {
            u64::from(self.customer_bandwidth) * path / u64::from(self.gross_bandwidth)
        } else {
            path
        };
        if self.unused_bandwidth != 0 && effective > u64::from(self.unused_bandwidth) {
            effective = u64::from(self.unused_bandwidth);
        }
        effective
    }
}

/// The service an application asked for, from its socket's TOS / traffic class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// Widest-shortest: most effective bandwidth, then fewest hops.
    BestEffort,
    /// Guaranteed or controlled-load: lowest latency, then fewest hops.
    LowLatency,
}

impl Service {
    /// The service of a TOS octet (IPv4 TOS or IPv6 traffic class). Low latency: DSCP EF
    /// (46) and VOICE-ADMIT (44), the class selectors CS4..CS7 and AF4x (real-time and
    /// interactive classes, RFC 4594), and RFC 1349's "minimize delay" TOS (0x10, alone:
    /// with precedence bits the same octet is an AF code point).
    pub(crate) fn of_tos(tos: u8) -> Self {
        let dscp = tos >> 2;
        let low_latency =
            matches!(dscp, 44 | 46 | 32 | 40 | 48 | 56 | 34 | 36 | 38) || tos & !0x03 == 0x10;
        if low_latency {
            Service::LowLatency
        } else {
            Service::BestEffort
        }
    }
}

/// What the ranking knows of each source domain's path, and measured round-trip times.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PathInfo {
    /// Configured attributes, by domain number.
    pub(crate) attrs: [PathAttrs; MAX_DOMAINS],
    /// Domains whose path is known to be down (no route to their router), by number.
    pub(crate) down: [bool; MAX_DOMAINS],
}

/// A pair with what the ranking weighed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ranked<B> {
    /// The pair.
    pub(crate) pair: Pair<B>,
    /// Effective available bandwidth, kbit/s (0: unknown).
    pub(crate) bandwidth: u64,
    /// Hops (0: unknown).
    pub(crate) hops: u32,
    /// One-way latency in microseconds: half the measured round trip if measured, else the
    /// configured latency (0: unknown).
    pub(crate) latency_us: u32,
    /// Whether the latency was measured.
    pub(crate) measured: bool,
    /// Whether the path is known to be down.
    pub(crate) down: bool,
}

impl<B: Classify> Ranked<B> {
    /// The pair with the attributes of its source's domain and its measured round trip.
    pub(crate) fn new(
        table: &DomainTable<B>,
        info: &PathInfo,
        pair: Pair<B>,
        rtt_us: Option<u32>,
    ) -> Self {
        let index = table.domain_of(pair.src).map(|d| usize::from(d.index));
        let attrs = index.map(|i| info.attrs[i]).unwrap_or_default();
        let (latency_us, measured) = match rtt_us {
            Some(rtt) => (rtt.div_ceil(2).max(1), true),
            None => (attrs.latency_us, false),
        };
        Self {
            pair,
            bandwidth: attrs.effective_bandwidth(),
            hops: attrs.hops,
            latency_us,
            measured,
            down: index.is_some_and(|i| info.down[i]),
        }
    }
}

/// The draft's `getendpointaddr` ordering: best first. Paths known to be down go last;
/// unknown values rank after known ones; ties keep the candidates' order.
pub(crate) fn rank<B: Copy>(pairs: &mut [Ranked<B>], service: Service) {
    // Insertion sort: stable, in place, no allocation; at most MAX_SOURCES * MAX_DESTS entries.
    for i in 1..pairs.len() {
        let mut j = i;
        while j > 0 && rank_key(&pairs[j - 1], service) > rank_key(&pairs[j], service) {
            pairs.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// What [`rank`] orders by: the smaller key first.
fn rank_key<B>(r: &Ranked<B>, service: Service) -> (bool, u64, u64) {
    let unknown_last = |v: u64| if v == 0 { u64::MAX } else { v };
    match service {
        Service::BestEffort => (
            r.down,
            u64::MAX - r.bandwidth,
            unknown_last(u64::from(r.hops)),
        ),
        Service::LowLatency => (
            r.down,
            unknown_last(u64::from(r.latency_us)),
            unknown_last(u64::from(r.hops)),
        ),
    }
}

/// The sources of class `class` for destinations outside the domains, ranked for
/// `service`, into `out` (each pair's destination left unspecified). Without measured
/// round trips a pair's rank depends on its source alone, so this ranking holds for every
/// such destination: [`expand_outside`] turns it into the ranked pairs of a name.
pub(crate) fn rank_outside_sources<B: Classify, H: Host<B>>(
    table: &DomainTable<B>,
    host: &H,
    info: &PathInfo,
    class: AddrClass,
    home: Option<B>,
    service: Service,
    out: &mut [Ranked<B>; MAX_SOURCES],
) -> usize {
    let mut sources = [B::ZERO; MAX_SOURCES];
    let count = outside_sources(table, host, class, home, &mut sources);
    for (slot, &src) in out.iter_mut().zip(&sources[..count]) {
        *slot = Ranked::new(table, info, Pair { src, dst: B::ZERO }, None);
    }
    rank(&mut out[..count], service);
    count
}

/// The ranked pairs for `dsts`, none inside the domains, from their sources as
/// [`rank_outside_sources`] ranked them (for `outside_class(dsts)`), into `out`: the
/// same pairs in the same order as [`candidate_pairs`] followed by [`rank`] give, without
/// sorting m*n pairs. Among sources of equal rank the candidates' order (destination by
/// destination) is kept, as the stable sort keeps it. Returns how many were written.
pub(crate) fn expand_outside<B: Classify>(
    sources: &[Ranked<B>],
    service: Service,
    dsts: &[B],
    out: &mut [Ranked<B>],
) -> usize {
    let mut n = 0;
    for_each_outside(sources, service, dsts, |r| {
        if let Some(slot) = out.get_mut(n) {
            *slot = r;
            n += 1;
        }
    });
    n
}

/// [`expand_outside`] handing each ranked pair to `emit`, best first.
pub(crate) fn for_each_outside<B: Classify>(
    sources: &[Ranked<B>],
    service: Service,
    dsts: &[B],
    mut emit: impl FnMut(Ranked<B>),
) {
    let dsts = &dsts[..dsts.len().min(MAX_DESTS)];
    let class = outside_class(dsts);
    if let [dst] = dsts {
        // One destination (`getsrcaddr`): the sources' order as it is.
        if dst.class() == class {
            for source in sources {
                emit(Ranked {
                    pair: Pair {
                        src: source.pair.src,
                        dst: *dst,
                    },
                    ..*source
                });
            }
        }
        return;
    }
    let mut start = 0;
    while start < sources.len() {
        let key = rank_key(&sources[start], service);
        let tied = sources[start..]
            .iter()
            .take_while(|s| rank_key(s, service) == key)
            .count();
        let run = &sources[start..start + tied];
        for (i, &dst) in dsts.iter().enumerate() {
            if dst.class() != class || dsts[..i].contains(&dst) {
                continue;
            }
            for source in run {
                emit(Ranked {
                    pair: Pair {
                        src: source.pair.src,
                        dst,
                    },
                    ..*source
                });
            }
        }
        start += tied;
    }
}

/// Everything an outside ranking depends on besides the destinations: the table's
/// generation, the routes' and addresses' generation, the domains noticed down, the
/// service and the destinations' class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OutsideKey {
    /// Bumped on every table published.
    pub(crate) table: u64,
    /// Changes with the namespace's routes, addresses and interfaces.
    pub(crate) routes: u64,
    /// Domains a link-failure notice reported down, one bit each.
    pub(crate) noticed_down: u32,
    /// The service asked for.
    pub(crate) service: Service,
    /// The destinations' class.
    pub(crate) class: AddrClass,
}

/// One remembered outside ranking.
#[derive(Clone, Copy, Debug)]
struct OutsideEntry<B> {
    key: OutsideKey,
    count: usize,
    sources: [Ranked<B>; MAX_SOURCES],
}

/// The last outside ranking per service and class, so that `getsrcaddr` towards the
/// outside costs a key comparison and a copy while nothing it depends on changes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OutsideCache<B> {
    entries: [Option<OutsideEntry<B>>; 4],
}

impl<B: Copy + Default> OutsideCache<B> {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        Self { entries: [None; 4] }
    }

    fn slot(key: &OutsideKey) -> usize {
        usize::from(key.service == Service::LowLatency) * 2
            + usize::from(key.class == AddrClass::Private)
    }

    /// The ranking stored under `key`; `None` if there is none.
    pub(crate) fn get(&self, key: &OutsideKey) -> Option<&[Ranked<B>]> {
        let entry = self.entries.get(Self::slot(key))?.as_ref()?;
        if entry.key != *key {
            return None;
        }
        entry.sources.get(..entry.count)
    }

    /// Remembers the first `count` of `sources` under `key`, replacing the entry of its
    /// service and class.
    pub(crate) fn put(
        &mut self,
        key: OutsideKey,
        sources: &[Ranked<B>; MAX_SOURCES],
        count: usize,
    ) {
        if let Some(slot) = self.entries.get_mut(Self::slot(&key)) {
            *slot = Some(OutsideEntry {
                key,
                count: count.min(MAX_SOURCES),
                sources: *sources,
            });
        }
    }
}

/// How long a measured round trip (or the lack of an answer) stands for its pair, in
/// milliseconds: selection answers from it instead of probing again.
pub(crate) const RTT_CACHE_MS: u64 = 30_000;
/// Pairs whose round trip is remembered per namespace.
pub(crate) const RTT_CACHE_PAIRS: usize = 64;

/// One remembered measurement.
#[derive(Clone, Copy, Debug)]
struct RttEntry<K> {
    pair: K,
    /// Microseconds; 0: no answer came.
    rtt_us: u32,
    /// When it was measured.
    at_ms: u64,
}

/// The round trips of the last probed pairs, `N` at most, each valid for
/// [`RTT_CACHE_MS`]: echo probes cost the network and let the caller pick who receives
/// them, so a pair measured lately is answered from here (and the probes a namespace may
/// send are rate-limited besides). A pair not in the table takes a free or expired
/// entry, else the oldest.
pub(crate) struct RttCache<K, const N: usize> {
    entries: [Option<RttEntry<K>>; N],
}

impl<K: Copy + Eq, const N: usize> RttCache<K, N> {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        Self { entries: [None; N] }
    }

    fn fresh(entry: &RttEntry<K>, now_ms: u64) -> bool {
        // A clock that seems to go back makes nothing stale early, nor fresh for ever.
        now_ms.saturating_sub(entry.at_ms) < RTT_CACHE_MS && entry.at_ms <= now_ms
    }

    /// The round trip of `pair` measured less than [`RTT_CACHE_MS`] before `now_ms`
    /// (`Some(0)`: it went unanswered); `None` if it must be probed.
    pub(crate) fn get(&self, pair: &K, now_ms: u64) -> Option<u32> {
        self.entries
            .iter()
            .flatten()
            .find(|e| e.pair == *pair && Self::fresh(e, now_ms))
            .map(|e| e.rtt_us)
    }

    /// Remembers that `pair` measured `rtt_us` (0: no answer) at `now_ms`.
    pub(crate) fn put(&mut self, pair: K, rtt_us: u32, now_ms: u64) {
        let entry = RttEntry {
            pair,
            rtt_us,
            at_ms: now_ms,
        };
        let same = self
            .entries
            .iter()
            .position(|e| e.is_some_and(|e| e.pair == pair));
        let free = || {
            self.entries
                .iter()
                .position(|e| e.as_ref().is_none_or(|e| !Self::fresh(e, now_ms)))
        };
        let oldest = || (0..N).min_by_key(|&i| self.entries[i].as_ref().map_or(0, |e| e.at_ms));
        if let Some(slot) = same.or_else(free).or_else(oldest) {
            if let Some(place) = self.entries.get_mut(slot) {
                *place = Some(entry);
            }
        }
    }
}

/// Cases shared by the host tests and the KUnit suite `sitemh_select`: the draft's site
/// seen from host H (one LAN interface, 2, holding an address of every domain).
pub(crate) mod vectors {
    use super::*;
    use crate::logic::domain::DomainConfig;

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* select {
                candidate_pairs_draft_2_3,
                outside_ranking_remembered,
                rankings_by_service,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    const P1: u32 = 0xc633_6400; // 198.51.100.0/24 via .129
    const P2: u32 = 0xcb00_7100; // 203.0.113.0/24 via .130
    const PRIV: u32 = 0x0a63_0000; // 10.99.0.0/16, private
    const X: u32 = 0xc000_02c8; // 192.0.2.200

    /// H: every destination is routed out of interface 2.
    pub(crate) struct SiteHost {
        addrs: [LocalAddr<u32>; 3],
    }

    impl Host<u32> for SiteHost {
        fn addresses(&self) -> &[LocalAddr<u32>] {
            &self.addrs
        }
        fn route_oif(&self, _dst: u32, _ifindex: i32) -> Option<i32> {
            Some(2)
        }
    }

    /// H of the draft's site.
    pub(crate) const HOST: SiteHost = SiteHost {
        addrs: [
            LocalAddr {
                addr: P1 + 10,
                ifindex: 2,
            },
            LocalAddr {
                addr: P2 + 10,
                ifindex: 2,
            },
            LocalAddr {
                addr: PRIV + 0x10a,
                ifindex: 2,
            },
        ],
    };

    fn domain(addr: u32, len: u8, router: u32) -> DomainConfig<u32> {
        // The vectors below are valid prefixes.
        DomainConfig::with(addr, len, router).unwrap_or(DomainConfig::EMPTY)
    }

    /// The site's domains.
    pub(crate) fn table() -> DomainTable<u32> {
        DomainTable::new(&[
            domain(P1, 24, P1 + 129),
            domain(P2, 24, P2 + 130),
            domain(PRIV, 16, 0),
        ])
    }

    /// Destinations, home address, expected pairs.
    type PairsCase = (&'static [u32], Option<u32>, &'static [Pair<u32>]);
    /// Bandwidth, hops, latency and down of three paths, the service, and their order.
    type RankingCase = ([(u64, u32, u32, bool); 3], Service, [u32; 3]);

    /// Draft 2.3.1 and 2.3.2 on the site.
    pub(crate) const PAIRS: &[PairsCase] = &[
        // Outside: every global source.
        (
            &[X],
            None,
            &[
                Pair {
                    src: P1 + 10,
                    dst: X,
                },
                Pair {
                    src: P2 + 10,
                    dst: X,
                },
            ],
        ),
        // Inside: the source of the destination's domain.
        (
            &[P2 + 130],
            None,
            &[Pair {
                src: P2 + 10,
                dst: P2 + 130,
            }],
        ),
        // Private outside: private sources only.
        (
            &[0xac10_0001],
            None,
            &[Pair {
                src: PRIV + 0x10a,
                dst: 0xac10_0001,
            }],
        ),
        // A name inside the domains: its private address first.
        (
            &[X, P1 + 5, PRIV + 5],
            None,
            &[Pair {
                src: PRIV + 0x10a,
                dst: PRIV + 5,
            }],
        ),
        // The home address replaces the sources outside.
        (
            &[X],
            Some(0xc633_0001),
            &[Pair {
                src: 0xc633_0001,
                dst: X,
            }],
        ),
        // Link-local outside the domains: no source.
        (&[0xa9fe_0101], None, &[]),
    ];

    /// Widest-shortest, lowest latency, down last, unknown last.
    pub(crate) const RANKINGS: &[RankingCase] = &[
        (
            [
                (100, 5, 10, false),
                (900, 9, 9000, false),
                (900, 4, 8000, false),
            ],
            Service::BestEffort,
            [2, 1, 0],
        ),
        (
            [
                (900, 5, 5000, false),
                (100, 9, 100, false),
                (100, 3, 100, false),
            ],
            Service::LowLatency,
            [2, 1, 0],
        ),
        (
            [(900, 1, 1, true), (100, 2, 2, false), (100, 2, 2, false)],
            Service::BestEffort,
            [1, 2, 0],
        ),
        (
            [(0, 0, 0, false), (1, 1, 1, false), (0, 0, 5, false)],
            Service::LowLatency,
            [1, 2, 0],
        ),
    ];

    /// The candidate pairs of draft 2.3.1 and 2.3.2 on the site.
    pub(crate) fn candidate_pairs_draft_2_3() -> Result<(), &'static str> {
        let table = table();
        for (dsts, home, expected) in PAIRS {
            let mut out = [Pair::default(); 8];
            match candidate_pairs(&table, &HOST, dsts, *home, &mut out) {
                Ok(n) if out[..n] == **expected => {}
                Err(SelectError::NoSource) if expected.is_empty() => {}
                _ => return Err("candidate pairs differ from the vector"),
            }
        }
        Ok(())
    }

    /// The outside vectors again, through the remembered ranking of their sources; a
    /// ranking of an older table is not returned.
    pub(crate) fn outside_ranking_remembered() -> Result<(), &'static str> {
        let table = table();
        let info = PathInfo::default();
        let mut cache = OutsideCache::new();
        for (dsts, home, expected) in PAIRS {
            if dsts.iter().any(|&d| table.domain_of(d).is_some()) {
                continue;
            }
            let key = OutsideKey {
                table: 1,
                routes: 1,
                noticed_down: 0,
                service: Service::BestEffort,
                class: outside_class(dsts),
            };
            let mut sources = [Ranked::default(); MAX_SOURCES];
            let count = match cache.get(&key) {
                Some(cached) if home.is_none() => {
                    sources[..cached.len()].copy_from_slice(cached);
                    cached.len()
                }
                _ => {
                    let count = rank_outside_sources(
                        &table,
                        &HOST,
                        &info,
                        key.class,
                        *home,
                        key.service,
                        &mut sources,
                    );
                    if home.is_none() {
                        cache.put(key, &sources, count);
                    }
                    count
                }
            };
            let mut out = [Ranked::default(); 8];
            let n = expand_outside(&sources[..count], key.service, dsts, &mut out);
            if out[..n].iter().map(|r| r.pair).ne(expected.iter().copied()) {
                return Err("outside ranking differs from the vector");
            }
        }
        let stale = OutsideKey {
            table: 2,
            routes: 1,
            noticed_down: 0,
            service: Service::BestEffort,
            class: AddrClass::Global,
        };
        if cache.get(&stale).is_some() {
            return Err("a ranking of an older table was returned");
        }
        Ok(())
    }

    /// Widest-shortest for best effort, lowest latency for low latency, down paths and
    /// unknown ones last.
    pub(crate) fn rankings_by_service() -> Result<(), &'static str> {
        for (paths, service, order) in RANKINGS {
            let mut r = [Ranked::default(); 3];
            for (i, (bandwidth, hops, latency_us, down)) in paths.iter().enumerate() {
                r[i] = Ranked {
                    pair: Pair {
                        src: i as u32,
                        dst: X,
                    },
                    bandwidth: *bandwidth,
                    hops: *hops,
                    latency_us: *latency_us,
                    measured: false,
                    down: *down,
                };
            }
            rank(&mut r, *service);
            if r.iter().map(|r| r.pair.src).ne(order.iter().copied()) {
                return Err("ranking differs from the vector");
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([select] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_class_reads_the_destinations_pairs_are_formed_with() {
        // Found by fuzzing: MAX_DESTS global destinations and one private one past them
        // made the class private (no sources), while the pairs were formed as global.
        let mut dsts = [0xc633_6401u32; MAX_DESTS + 1];
        dsts[MAX_DESTS] = 0x0a00_0001;
        assert_eq!(outside_class(&dsts), AddrClass::Global);
        assert_eq!(outside_class(&dsts[MAX_DESTS..]), AddrClass::Private);
    }

    #[test]
    fn rtt_cache_answers_until_expiry() {
        let mut cache = RttCache::<(u32, u32), 4>::new();
        assert_eq!(cache.get(&(1, 2), 1000), None);
        cache.put((1, 2), 1500, 1000);
        cache.put((1, 3), 0, 1000);
        assert_eq!(cache.get(&(1, 2), 1000 + RTT_CACHE_MS - 1), Some(1500));
        // An unanswered probe is remembered too: no new probe to a silent destination.
        assert_eq!(cache.get(&(1, 3), 2000), Some(0));
        assert_eq!(cache.get(&(1, 2), 1000 + RTT_CACHE_MS), None);
        // A clock going back makes nothing fresh.
        assert_eq!(cache.get(&(1, 2), 999), None);
        // Measuring again replaces the entry.
        cache.put((1, 2), 700, 5000);
        assert_eq!(cache.get(&(1, 2), 5000), Some(700));
    }

    #[test]
    fn rtt_cache_full_gives_up_expired_then_oldest() {
        let mut cache = RttCache::<u32, 2>::new();
        cache.put(1, 10, 0);
        cache.put(2, 20, 5);
        cache.put(3, 30, 6);
        // 1 was the oldest.
        assert_eq!(cache.get(&1, 7), None);
        assert_eq!(cache.get(&2, 7), Some(20));
        assert_eq!(cache.get(&3, 7), Some(30));
        // Once 2 expired, a new pair takes its place before 3's.
        cache.put(4, 40, 5 + RTT_CACHE_MS);
        assert_eq!(cache.get(&3, 5 + RTT_CACHE_MS), Some(30));
        assert_eq!(cache.get(&4, 5 + RTT_CACHE_MS), Some(40));
        assert_eq!(cache.get(&2, 5 + RTT_CACHE_MS), None);
    }
    use crate::logic::domain::DomainConfig;
    use std::vec::Vec;

    fn domain(addr: u32, len: u8, router: u32) -> DomainConfig<u32> {
        DomainConfig::with(addr, len, router).unwrap()
    }

    const P1: u32 = 0xc633_6400; // 198.51.100.0/24 via .129
    const P2: u32 = 0xcb00_7100; // 203.0.113.0/24 via .130
    const PRIV: u32 = 0x0a63_0000; // 10.99.0.0/16, private
    const X: u32 = 0xc000_02c8; // 192.0.2.200

    fn site() -> DomainTable<u32> {
        DomainTable::new(&[
            domain(P1, 24, P1 + 129),
            domain(P2, 24, P2 + 130),
            domain(PRIV, 16, 0),
        ])
    }

    /// A host from a table of addresses and of routes (prefix, length, interface).
    struct TestHost {
        addrs: Vec<LocalAddr<u32>>,
        routes: Vec<(u32, u8, i32)>,
    }

    impl Host<u32> for TestHost {
        fn addresses(&self) -> &[LocalAddr<u32>] {
            &self.addrs
        }
        fn route_oif(&self, dst: u32, _ifindex: i32) -> Option<i32> {
            self.routes
                .iter()
                .filter(|(net, len, _)| dst & u32::mask(*len) == *net)
                .max_by_key(|(_, len, _)| *len)
                .map(|r| r.2)
        }
    }

    /// H of the draft's site: one LAN interface (2) with an address of each domain.
    fn one_interface_host() -> TestHost {
        TestHost {
            addrs: [P1 + 10, P2 + 10, PRIV + 0x10a]
                .iter()
                .map(|&addr| LocalAddr { addr, ifindex: 2 })
                .collect(),
            routes: std::vec![(0, 0, 2)],
        }
    }

    /// A router with one interface per provider: 3 towards P1's CE, 4 towards P2's.
    fn two_interface_host() -> TestHost {
        TestHost {
            addrs: std::vec![
                LocalAddr {
                    addr: P1 + 131,
                    ifindex: 3
                },
                LocalAddr {
                    addr: P2 + 10,
                    ifindex: 3
                },
                LocalAddr {
                    addr: P2 + 131,
                    ifindex: 4
                },
                LocalAddr {
                    addr: PRIV + 1,
                    ifindex: 3
                },
                LocalAddr {
                    addr: 0x0a00_0001,
                    ifindex: 4
                },
            ],
            routes: std::vec![(P1 + 128, 25, 3), (P2 + 128, 25, 4), (0, 0, 3)],
        }
    }

    fn pairs(
        host: &TestHost,
        dsts: &[u32],
        home: Option<u32>,
    ) -> Result<Vec<Pair<u32>>, SelectError> {
        let mut out = [Pair::default(); MAX_SOURCES * MAX_DESTS];
        let n = candidate_pairs(&site(), host, dsts, home, &mut out)?;
        Ok(out[..n].to_vec())
    }

    fn srcs(p: &[Pair<u32>]) -> Vec<u32> {
        p.iter().map(|p| p.src).collect()
    }

    #[test]
    fn outside_destination_gets_every_global_source_of_a_one_interface_host() {
        let p = pairs(&one_interface_host(), &[X], None).unwrap();
        assert_eq!(srcs(&p), [P1 + 10, P2 + 10]);
        assert!(p.iter().all(|p| p.dst == X));
    }

    #[test]
    fn several_interfaces_take_the_address_of_each_router_domain_on_its_interface() {
        // P2's router is reached on interface 4: P2 + 10 (on 3) is not used.
        let p = pairs(&two_interface_host(), &[X], None).unwrap();
        assert_eq!(srcs(&p), [P1 + 131, P2 + 131]);
    }

    #[test]
    fn inside_destination_gets_the_source_of_its_own_domain() {
        let p = pairs(&one_interface_host(), &[P2 + 130], None).unwrap();
        assert_eq!(srcs(&p), [P2 + 10]);
        let p = pairs(&one_interface_host(), &[PRIV + 0x205], None).unwrap();
        assert_eq!(srcs(&p), [PRIV + 0x10a]);
    }

    #[test]
    fn private_destination_outside_gets_private_sources_only() {
        let p = pairs(&one_interface_host(), &[0xac10_0001], None).unwrap();
        assert_eq!(srcs(&p), [PRIV + 0x10a]);
    }

    #[test]
    fn multihomed_peer_gives_all_m_times_n_pairs() {
        let y = [0xc000_0201, 0xc000_0301, 0xc000_0401];
        let p = pairs(&one_interface_host(), &y, None).unwrap();
        assert_eq!(p.len(), 6);
        for dst in y {
            for src in [P1 + 10, P2 + 10] {
                assert!(p.contains(&Pair { src, dst }));
            }
        }
    }

    #[test]
    fn a_name_inside_the_domains_prefers_its_private_address() {
        let p = pairs(&one_interface_host(), &[X, P1 + 5, PRIV + 5], None).unwrap();
        assert_eq!(
            p,
            [Pair {
                src: PRIV + 0x10a,
                dst: PRIV + 5
            }]
        );
    }

    #[test]
    fn home_address_replaces_the_sources_outside_only() {
        let home = 0xc633_0001;
        let p = pairs(&one_interface_host(), &[X], Some(home)).unwrap();
        assert_eq!(srcs(&p), [home]);
        let p = pairs(&one_interface_host(), &[P1 + 129], Some(home)).unwrap();
        assert_eq!(srcs(&p), [P1 + 10]);
    }

    #[test]
    fn no_destination_or_no_source_is_an_error() {
        assert_eq!(
            pairs(&one_interface_host(), &[], None),
            Err(SelectError::NoDestination)
        );
        let host = TestHost {
            addrs: Vec::new(),
            routes: std::vec![(0, 0, 2)],
        };
        assert_eq!(pairs(&host, &[X], None), Err(SelectError::NoSource));
        // Inside, but no route at all.
        let host = TestHost {
            addrs: one_interface_host().addrs,
            routes: Vec::new(),
        };
        assert_eq!(pairs(&host, &[P1 + 1], None), Err(SelectError::NoSource));
        // Link-local destinations outside the domains have no global source.
        assert_eq!(
            pairs(&one_interface_host(), &[0xa9fe_0101], None),
            Err(SelectError::NoSource)
        );
    }

    #[test]
    fn classes() {
        assert_eq!(0x0a01_0203u32.class(), AddrClass::Private);
        assert_eq!(0xac1f_ffffu32.class(), AddrClass::Private);
        assert_eq!(0xac20_0000u32.class(), AddrClass::Global);
        assert_eq!(0xc0a8_0101u32.class(), AddrClass::Private);
        assert_eq!(0xa9fe_0101u32.class(), AddrClass::LinkLocal);
        assert_eq!(X.class(), AddrClass::Global);
        assert_eq!((0xfe80u128 << 112).class(), AddrClass::LinkLocal);
        assert_eq!((0xfebfu128 << 112).class(), AddrClass::LinkLocal);
        assert_eq!((0xfec0u128 << 112).class(), AddrClass::Global);
        assert_eq!((0xfd00u128 << 112).class(), AddrClass::Private);
        assert_eq!((0xfc00u128 << 112).class(), AddrClass::Private);
        assert_eq!((0x2001_0db8u128 << 96).class(), AddrClass::Global);
    }

    #[test]
    fn effective_bandwidth_follows_the_draft_formula() {
        let a = PathAttrs {
            customer_bandwidth: 10_000,
            gross_bandwidth: 100_000,
            path_bandwidth: 500_000,
            ..Default::default()
        };
        assert_eq!(a.effective_bandwidth(), 50_000);
        let capped = PathAttrs {
            unused_bandwidth: 8_000,
            ..a
        };
        assert_eq!(capped.effective_bandwidth(), 8_000);
        let no_share = PathAttrs {
            path_bandwidth: 7,
            ..Default::default()
        };
        assert_eq!(no_share.effective_bandwidth(), 7);
        // No overflow at the extremes.
        let max = PathAttrs {
            customer_bandwidth: u32::MAX,
            gross_bandwidth: 1,
            path_bandwidth: u32::MAX,
            ..Default::default()
        };
        assert_eq!(
            max.effective_bandwidth(),
            u64::from(u32::MAX) * u64::from(u32::MAX)
        );
    }

    #[test]
    fn tos_selects_the_service() {
        assert_eq!(Service::of_tos(0), Service::BestEffort);
        assert_eq!(Service::of_tos(46 << 2), Service::LowLatency);
        assert_eq!(Service::of_tos(0x10), Service::LowLatency);
        assert_eq!(Service::of_tos(34 << 2), Service::LowLatency);
        assert_eq!(Service::of_tos(10 << 2), Service::BestEffort);
        assert_eq!(Service::of_tos(8 << 2), Service::BestEffort);
        // AF12 shares the "minimize delay" bit: not low latency.
        assert_eq!(Service::of_tos(12 << 2), Service::BestEffort);
    }

    fn ranked(src: u32, bandwidth: u64, hops: u32, latency_us: u32, down: bool) -> Ranked<u32> {
        Ranked {
            pair: Pair { src, dst: X },
            bandwidth,
            hops,
            latency_us,
            measured: false,
            down,
        }
    }

    fn order(mut r: Vec<Ranked<u32>>, service: Service) -> Vec<u32> {
        rank(&mut r, service);
        srcs(&r.iter().map(|r| r.pair).collect::<Vec<_>>())
    }

    #[test]
    fn best_effort_is_widest_then_shortest() {
        let r = std::vec![
            ranked(1, 100, 5, 10, false),
            ranked(2, 900, 9, 90_000, false),
            ranked(3, 900, 4, 80_000, false),
            ranked(4, 0, 1, 1, false),
        ];
        assert_eq!(order(r, Service::BestEffort), [3, 2, 1, 4]);
    }

    #[test]
    fn low_latency_is_fastest_then_shortest_with_unknowns_last() {
        let r = std::vec![
            ranked(1, 900, 5, 50_000, false),
            ranked(2, 100, 9, 1_000, false),
            ranked(3, 100, 0, 0, false),
            ranked(4, 100, 3, 1_000, false),
        ];
        assert_eq!(order(r, Service::LowLatency), [4, 2, 1, 3]);
    }

    #[test]
    fn down_paths_rank_last_and_ties_keep_their_order() {
        let r = std::vec![
            ranked(1, 900, 1, 1, true),
            ranked(2, 100, 2, 2, false),
            ranked(3, 100, 2, 2, false),
        ];
        assert_eq!(order(r.clone(), Service::BestEffort), [2, 3, 1]);
        assert_eq!(order(r, Service::LowLatency), [2, 3, 1]);
    }

    #[test]
    fn measured_round_trip_overrides_configured_latency() {
        let table = site();
        let mut info = PathInfo::default();
        info.attrs[0].latency_us = 100;
        info.attrs[1].latency_us = 900_000;
        let p1 = Ranked::new(
            &table,
            &info,
            Pair {
                src: P1 + 10,
                dst: X,
            },
            Some(80_000),
        );
        let p2 = Ranked::new(
            &table,
            &info,
            Pair {
                src: P2 + 10,
                dst: X,
            },
            None,
        );
        assert_eq!((p1.latency_us, p1.measured), (40_000, true));
        assert_eq!((p2.latency_us, p2.measured), (900_000, false));
        let outside = Ranked::new(&table, &info, Pair { src: 1, dst: X }, None);
        assert_eq!(outside.latency_us, 0);
    }

    /// Pseudo-random numbers for the property tests (xorshift, fixed seed).
    struct Stream(u64);

    impl Stream {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<T: Copy>(&mut self, from: &[T]) -> T {
            from[(self.next() % from.len() as u64) as usize]
        }
    }

    #[test]
    fn outside_fast_path_equals_ranking_every_pair() {
        // Addresses of the site's domains, global ones of no domain, private and
        // link-local ones; destinations with repeats, of every class.
        let local = [
            P1 + 10,
            P1 + 11,
            P1 + 131,
            P2 + 10,
            P2 + 12,
            PRIV + 7,
            0x0b00_0001,
            0x0a00_0001,
            0xa9fe_0001,
        ];
        let remote = [X, X + 1, 0x0c00_0001, 0xac10_0001, 0xa9fe_0101, P1 + 200];
        let table = site();
        let mut rng = Stream(0x9e37_79b9_7f4a_7c15);
        let mut cases = 0;
        for _ in 0..20_000 {
            let host = TestHost {
                addrs: (0..rng.next() % 8)
                    .map(|_| LocalAddr {
                        addr: rng.pick(&local),
                        ifindex: rng.pick(&[3, 4]),
                    })
                    .collect(),
                routes: std::vec![(P1 + 128, 25, 3), (P2 + 128, 25, 4), (0, 0, 3)],
            };
            let dsts: Vec<u32> = (0..1 + rng.next() % 5).map(|_| rng.pick(&remote)).collect();
            if dsts.iter().any(|&d| table.domain_of(d).is_some()) {
                continue;
            }
            let mut info = PathInfo::default();
            for i in 0..3 {
                info.attrs[i].path_bandwidth = (rng.next() % 3) as u32;
                info.attrs[i].hops = (rng.next() % 3) as u32;
                info.attrs[i].latency_us = (rng.next() % 3) as u32;
                info.down[i] = rng.next() % 4 == 0;
            }
            let home = if rng.next() % 8 == 0 {
                Some(0xc633_0001)
            } else {
                None
            };
            for service in [Service::BestEffort, Service::LowLatency] {
                let mut all = [Pair::default(); MAX_SOURCES * MAX_DESTS];
                let expected: Vec<Ranked<u32>> =
                    match candidate_pairs(&table, &host, &dsts, home, &mut all) {
                        Ok(n) => {
                            let mut r: Vec<Ranked<u32>> = all[..n]
                                .iter()
                                .map(|&p| Ranked::new(&table, &info, p, None))
                                .collect();
                            rank(&mut r, service);
                            r
                        }
                        Err(_) => Vec::new(),
                    };
                let mut sources = [Ranked::default(); MAX_SOURCES];
                let count = rank_outside_sources(
                    &table,
                    &host,
                    &info,
                    outside_class(&dsts),
                    home,
                    service,
                    &mut sources,
                );
                let mut out = [Ranked::default(); MAX_SOURCES * MAX_DESTS];
                let n = expand_outside(&sources[..count], service, &dsts, &mut out);
                assert_eq!(out[..n], expected[..], "{dsts:x?} {service:?}");
                cases += usize::from(n > 1);
            }
        }
        assert!(cases > 1000, "only {cases} cases with several pairs");
    }

    #[test]
    fn the_outside_cache_answers_only_its_own_key() {
        let key = OutsideKey {
            table: 7,
            routes: 9,
            noticed_down: 0,
            service: Service::BestEffort,
            class: AddrClass::Global,
        };
        let mut sources = [Ranked::default(); MAX_SOURCES];
        sources[0] = ranked(P1 + 10, 5, 1, 1, false);
        let mut cache = OutsideCache::new();
        assert_eq!(cache.get(&key), None);
        cache.put(key, &sources, 1);
        assert_eq!(cache.get(&key), Some(&sources[..1]));
        for other in [
            OutsideKey { table: 8, ..key },
            OutsideKey { routes: 10, ..key },
            OutsideKey {
                noticed_down: 1,
                ..key
            },
            OutsideKey {
                service: Service::LowLatency,
                ..key
            },
            OutsideKey {
                class: AddrClass::Private,
                ..key
            },
        ] {
            assert_eq!(cache.get(&other), None, "{other:?}");
        }
        // Another service has its own entry: both stay.
        let low = OutsideKey {
            service: Service::LowLatency,
            ..key
        };
        cache.put(low, &sources, 1);
        assert_eq!(cache.get(&key), Some(&sources[..1]));
        assert_eq!(cache.get(&low), Some(&sources[..1]));
    }

    #[test]
    fn ranking_is_a_permutation_for_many_inputs() {
        // Cheap property test: a fixed pseudo-random stream of inputs.
        let mut next = crate::logic::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..500 {
            let n = (next() % 40) as usize;
            let r: Vec<Ranked<u32>> = (0..n)
                .map(|i| {
                    ranked(
                        i as u32,
                        next() % 4,
                        (next() % 4) as u32,
                        (next() % 4) as u32,
                        next() % 5 == 0,
                    )
                })
                .collect();
            for service in [Service::BestEffort, Service::LowLatency] {
                let mut s = r.clone();
                rank(&mut s, service);
                let mut ids = srcs(&s.iter().map(|r| r.pair).collect::<Vec<_>>());
                // Down paths never precede up ones.
                let first_down = s.iter().position(|r| r.down).unwrap_or(s.len());
                assert!(s[first_down..].iter().all(|r| r.down));
                ids.sort();
                assert_eq!(ids, (0..n as u32).collect::<Vec<_>>());
            }
        }
    }
}

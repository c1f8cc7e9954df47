// SPDX-License-Identifier: GPL-2.0

//! The draft's table of IP domains and its forwarding rule (sections 2 and 2.3.3):
//!
//! - a destination inside any domain is routed the usual way;
//! - a destination outside every domain goes to the default router of the domain that the
//!   packet's *source* belongs to (the longest matching prefix when domains overlap);
//! - a source in a private domain (no router, the draft's NULL) must not leave the site;
//! - a source in no domain is routed the usual way.

use super::prefix::{
    AddrError,
    Bits,
    Prefix, //
};

/// The draft's `MAX_IP_DOMAINS`.
pub(crate) const MAX_DOMAINS: usize = 16;

/// The default (CE) router of a domain. IPv6 link-local routers need the interface they
/// are reached on; `ifindex` 0 means "wherever the routing table says".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Router<B> {
    /// The router's address.
    pub(crate) addr: B,
    /// The interface it is reached on, or 0.
    pub(crate) ifindex: i32,
}

/// One domain as sysctl configures it, one field per write.
///
/// A domain takes part in routing once its `net_addr` is written. Until then its mask is a
/// host mask, so that `net_addr` and `net_mask` can be written in either order: each write
/// is checked against the other field's current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DomainConfig<B: Bits> {
    net_addr: Option<B>,
    prefix_len: u8,
    def_router: Option<Router<B>>,
}

impl<B: Bits> Default for DomainConfig<B> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<B: Bits> DomainConfig<B> {
    /// A domain whose address is not written yet.
    pub(crate) const EMPTY: Self = Self {
        net_addr: None,
        prefix_len: B::WIDTH,
        def_router: None,
    };

    /// An IPv4-style table entry in one call, for tables of cases: prefix `addr/len` with
    /// router `router` (0: private) reached wherever the routing table says.
    pub(crate) fn with(addr: B, len: u8, router: B) -> Result<Self, AddrError> {
        let mut c = Self::EMPTY;
        c.set_prefix_len(len)?;
        c.set_net_addr(addr)?;
        c.set_def_router(Router {
            addr: router,
            ifindex: 0,
        });
        Ok(c)
    }

    /// The network address, if written.
    pub(crate) fn net_addr(&self) -> Option<B> {
        self.net_addr
    }

    /// The prefix length of the mask.
    pub(crate) fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The default router; `None` for a private domain.
    pub(crate) fn def_router(&self) -> Option<Router<B>> {
        self.def_router
    }

    /// Sets the network address; refuses one with bits beyond the current mask.
    pub(crate) fn set_net_addr(&mut self, addr: B) -> Result<(), AddrError> {
        Prefix::new(addr, self.prefix_len)?;
        self.net_addr = Some(addr);
        Ok(())
    }

    /// Sets the prefix length; refuses one that leaves host bits in the current address.
    pub(crate) fn set_prefix_len(&mut self, len: u8) -> Result<(), AddrError> {
        match self.net_addr {
            Some(addr) => Prefix::new(addr, len).map(|_| ())?,
            None if len > B::WIDTH => return Err(AddrError::PrefixTooLong),
            None => {}
        }
        self.prefix_len = len;
        Ok(())
    }

    /// Sets the default router; the all-zero address makes the domain private.
    pub(crate) fn set_def_router(&mut self, router: Router<B>) {
        self.def_router = if router.addr == B::ZERO {
            None
        } else {
            Some(router)
        };
    }

    /// The domain as routing uses it, once its address is written.
    fn active(&self, index: u8) -> Option<Domain<B>> {
        let prefix = Prefix::new(self.net_addr?, self.prefix_len).ok()?;
        Some(Domain {
            index,
            prefix,
            router: self.def_router,
        })
    }
}

/// A domain in the routing table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Domain<B: Bits> {
    /// Its number in the sysctl tree (`ip_domain.<index>`).
    pub(crate) index: u8,
    /// Its network.
    pub(crate) prefix: Prefix<B>,
    /// Its default router; `None` for a private domain.
    pub(crate) router: Option<Router<B>>,
}

impl<B: Bits> Domain<B> {
    /// The rule's answer for a packet whose source is in this domain and whose
    /// destination is outside every domain: its router, or nowhere (a private domain).
    pub(crate) fn route_for_source(&self) -> Route<B> {
        match self.router {
            Some(router) => Route::ViaRouter {
                index: self.index,
                router,
            },
            None => Route::Confined { index: self.index },
        }
    }
}

/// What to do with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<B> {
    /// Route it the usual way.
    Usual,
    /// Send it to the default router of domain `index`.
    ViaRouter {
        /// The source's domain.
        index: u8,
        /// Its default router.
        router: Router<B>,
    },
    /// Drop it: its source is in private domain `index` and its destination outside the site.
    Confined {
        /// The source's domain.
        index: u8,
    },
}

/// The domains in force, longest prefix first, built whole from the configuration and then
/// only read: the packet path sees one table or the next, never a mix.
///
/// Every packet asks which domains hold its destination and its source. Rather than test
/// all of them, it looks six bits of the address up in `candidates` (the six that tell
/// the domains apart best, chosen when the table is built): the domains that may hold an
/// address with those bits, as bits in table order. With 16 domains a packet so tests one
/// or two prefixes, not 32 (issue 21: a rerouted packet's cost no longer grows with the
/// table). Six bits, not eight: 64 entries keep the table small in the kernel frames that
/// build it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DomainTable<B: Bits> {
    domains: [Option<Domain<B>>; MAX_DOMAINS],
    /// The domains' networks in the same order, packed: what every packet tests, in as
    /// few cache lines as it takes. Only the first `len` are set.
    nets: [Prefix<B>; MAX_DOMAINS],
    len: usize,
    /// The looked-up bits: the address shifted right this far, its last [`WINDOW_BITS`].
    shift: u32,
    /// For each value of those bits, the positions in `nets` (bit `i`: `nets[i]`) of the
    /// domains that may hold an address with it: a superset of those that do.
    candidates: [u16; WINDOW_VALUES],
}

/// The bits of an address looked up to find its candidate domains, and their values.
const WINDOW_BITS: u8 = 6;
const WINDOW_VALUES: usize = 1 << WINDOW_BITS;

impl<B: Bits> Default for DomainTable<B> {
    fn default() -> Self {
        Self {
            domains: [None; MAX_DOMAINS],
            nets: [Prefix::ANY; MAX_DOMAINS],
            len: 0,
            shift: 0,
            candidates: [0; WINDOW_VALUES],
        }
    }
}

/// The positions set in `bits`, lowest first.
fn positions(mut bits: u16) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let at = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        Some(at)
    })
}

impl<B: Bits> DomainTable<B> {
    /// The table of the active domains among `configs` (at most [`MAX_DOMAINS`]).
    pub(crate) fn new(configs: &[DomainConfig<B>]) -> Self {
        let mut table = Self::default();
        for (index, config) in configs.iter().take(MAX_DOMAINS).enumerate() {
            // `index` < 16, so it fits in a `u8`.
            if let Some(domain) = config.active(index as u8) {
                table.domains[table.len] = Some(domain);
                table.len += 1;
            }
        }
        // Longest prefix first (a stable sort keeps the lower index first on ties), so the
        // first match is the longest one. Insertion sort: at most 16 entries, no allocation.
        for i in 1..table.len {
            let mut j = i;
            while j > 0 && prefix_len(&table.domains[j - 1]) < prefix_len(&table.domains[j]) {
                table.domains.swap(j - 1, j);
                j -= 1;
            }
        }
        for (net, domain) in table.nets.iter_mut().zip(&table.domains) {
            if let Some(d) = domain {
                *net = d.prefix;
            }
        }
        table.index();
        table
    }

    /// Chooses the window of bits that tells the domains apart best (the one whose fullest
    /// value holds the fewest candidates; then the fewest in all; then the first) and
    /// fills `candidates` for it.
    ///
    /// Out of line, filling the table's own array: the callers build tables in frames that
    /// must stay small (a kernel stack).
    #[inline(never)]
    fn index(&mut self) {
        let mut best: Option<((u32, u32), u8)> = None;
        // Windows past the longest prefix tell nothing apart; one with at most one
        // candidate per value cannot be beaten.
        let longest = self.nets[..self.len]
            .iter()
            .map(|n| n.prefix_len())
            .max()
            .unwrap_or(0);
        for start in 0..=(B::WIDTH - WINDOW_BITS).min(longest.saturating_sub(1)) {
            self.fill_candidates(start);
            let counts = self.candidates.iter().map(|c| c.count_ones());
            let fullest = counts.clone().max().unwrap_or(0);
            let total = counts.sum::<u32>();
            if best.is_none_or(|(cost, _)| (fullest, total) < cost) {
                best = Some(((fullest, total), start));
            }
            if fullest <= 1 {
                break;
            }
        }
        let start = best.map_or(0, |(_, start)| start);
        self.shift = Self::shift_of(start);
        self.fill_candidates(start);
    }

    /// How far an address is shifted right to bring the window starting at bit `start`
    /// (0: the first on the wire) to the low end.
    fn shift_of(start: u8) -> u32 {
        u32::from(B::WIDTH.saturating_sub(start + WINDOW_BITS))
    }

    /// Fills `candidates` for the window starting at bit `start`: a domain is a candidate
    /// of every value that agrees with its network in the window's bits its prefix covers.
    fn fill_candidates(&mut self, start: u8) {
        let shift = Self::shift_of(start);
        self.candidates = [0; WINDOW_VALUES];
        for (at, net) in self.nets[..self.len].iter().enumerate() {
            let value = Self::window(net.addr(), shift);
            let covered = net.prefix_len().saturating_sub(start).min(WINDOW_BITS);
            // The first `covered` of the window's bits.
            let mask = ((WINDOW_VALUES - 1) & !((WINDOW_VALUES - 1) >> covered)) as u8;
            for (window, set) in (0..=u8::MAX).zip(self.candidates.iter_mut()) {
                if (window ^ value) & mask == 0 {
                    *set |= 1 << at;
                }
            }
        }
    }

    /// The window's bits of `addr`.
    fn window(addr: B, shift: u32) -> u8 {
        addr.low_octet(shift) & (WINDOW_VALUES - 1) as u8
    }

    /// The positions of the domains that may hold `addr`, in table order.
    fn candidates_of(&self, addr: B) -> impl Iterator<Item = usize> {
        let window = Self::window(addr, self.shift);
        positions(
            self.candidates
                .get(usize::from(window))
                .copied()
                .unwrap_or(0),
        )
    }

    /// Whether no domain is active.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The active domains, longest prefix first.
    pub(crate) fn domains(&self) -> impl Iterator<Item = &Domain<B>> {
        self.domains[..self.len].iter().flatten()
    }

    /// The domain `addr` belongs to: the one with the longest matching prefix.
    pub(crate) fn domain_of(&self, addr: B) -> Option<&Domain<B>> {
        let at = self.position_of(addr)?;
        self.domains.get(at)?.as_ref()
    }

    /// The position in `nets` of the first (longest) domain holding `addr`.
    fn position_of(&self, addr: B) -> Option<usize> {
        self.candidates_of(addr)
            .find(|&at| self.nets.get(at).is_some_and(|net| net.contains(addr)))
    }

    /// The draft's forwarding rule for a packet from `src` to `dst`, run for every packet:
    /// a destination in any domain ends it; else the first domain holding the source (the
    /// longest prefix) decides. Each look-up tests only the candidates of its window.
    pub(crate) fn route(&self, src: B, dst: B) -> Route<B> {
        if self.holds(dst) {
            return Route::Usual;
        }
        self.route_outside(src)
    }

    /// Whether some domain holds `addr`: a destination that is routed the usual way.
    pub(crate) fn holds(&self, addr: B) -> bool {
        self.position_of(addr).is_some()
    }

    /// The rule for a packet from `src` to a destination that no domain holds (see
    /// [`DomainTable::holds`]).
    pub(crate) fn route_outside(&self, src: B) -> Route<B> {
        self.position_of(src)
            .and_then(|at| self.domains.get(at)?.as_ref())
            .map_or(Route::Usual, Domain::route_for_source)
    }
}

fn prefix_len<B: Bits>(domain: &Option<Domain<B>>) -> u8 {
    domain.as_ref().map_or(0, |d| d.prefix.prefix_len())
}

/// One entry of an `ip_domain_table` write, as text: `PREFIX/LEN [ROUTER]`, where ROUTER is
/// an address of the family (link-local with `%ifname`) or `private`. The family parses
/// the pieces; this only cuts them out, so that it stays free of the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableEntryText<'a> {
    /// The network address.
    pub(crate) addr: &'a [u8],
    /// The mask as `/N`, the form `net_mask` also takes.
    pub(crate) mask: &'a [u8],
    /// The router; `None` for a private domain (`private` or nothing).
    pub(crate) router: Option<&'a [u8]>,
}

/// Why an `ip_domain_table` write was refused, for the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableError {
    /// An entry with no `/N` after its address, an empty entry, or one with more than a
    /// prefix and a router.
    Malformed,
    /// More than [`MAX_DOMAINS`] entries.
    TooMany,
    /// Two entries with the same prefix: a table that says two things about one network.
    Duplicate,
}

impl TableError {
    /// The reason as the log line gives it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            TableError::Malformed => "an entry is not \"PREFIX/LEN [ROUTER|private]\"",
            TableError::TooMany => "more than 16 domains",
            TableError::Duplicate => "two entries with the same prefix",
        }
    }
}

/// The entries of an `ip_domain_table` write: separated by commas, tokens by white space
/// (a sysctl write ends at its first newline, so the text is one line). Empty text is an empty table; an empty entry (two commas, a
/// trailing comma) is malformed, so that a cut-off list is not taken for a shorter one.
pub(crate) fn table_entries(
    text: &[u8],
) -> impl Iterator<Item = Result<TableEntryText<'_>, TableError>> {
    let text = crate::logic::text::trim(text);
    let mut parts = (!text.is_empty()).then(|| text.split(|&c| c == b','));
    let mut count = 0usize;
    core::iter::from_fn(move || {
        let part = parts.as_mut()?.next()?;
        count += 1;
        if count > MAX_DOMAINS {
            parts = None;
            return Some(Err(TableError::TooMany));
        }
        Some(table_entry(part))
    })
}

fn table_entry(part: &[u8]) -> Result<TableEntryText<'_>, TableError> {
    let mut tokens = part
        .split(|c| c.is_ascii_whitespace())
        .filter(|t| !t.is_empty());
    let prefix = tokens.next().ok_or(TableError::Malformed)?;
    let router = tokens.next();
    if tokens.next().is_some() {
        return Err(TableError::Malformed);
    }
    let slash = prefix
        .iter()
        .position(|&c| c == b'/')
        .ok_or(TableError::Malformed)?;
    let (addr, mask) = prefix.split_at(slash);
    if addr.is_empty() || mask.len() < 2 {
        return Err(TableError::Malformed);
    }
    Ok(TableEntryText {
        addr,
        mask,
        router: router.filter(|r| *r != b"private"),
    })
}

/// Whether two configured domains of `table` have the same prefix.
pub(crate) fn has_duplicate<B: Bits>(table: &[DomainConfig<B>]) -> bool {
    table.iter().enumerate().any(|(i, a)| {
        a.net_addr.is_some()
            && table[..i]
                .iter()
                .any(|b| b.net_addr == a.net_addr && b.prefix_len == a.prefix_len)
    })
}

/// Whether `a` and `b` describe the same network (unwritten addresses never do): the path
/// attributes configured for a domain stay with it across a table write that keeps it.
pub(crate) fn same_network<B: Bits>(a: &DomainConfig<B>, b: &DomainConfig<B>) -> bool {
    a.net_addr.is_some() && a.net_addr == b.net_addr && a.prefix_len == b.prefix_len
}

/// Named checks shared by the host tests and the KUnit suite `sitemh_domain`.
#[cfg(any(test, CONFIG_KUNIT))]
pub(crate) mod vectors {
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* domain {
                draft_forwarding_rule,
                longest_prefix_wins,
                table_text_is_cut_into_entries,
            });
        };
    }
    pub(crate) use checks;

    /// A domain of the vectors: they are valid prefixes, a refused one is the failure.
    fn config(addr: u32, len: u8, router: u32) -> Result<DomainConfig<u32>, &'static str> {
        DomainConfig::with(addr, len, router).map_err(|_| "a vector's domain is refused")
    }

    /// The draft's rule: outside destinations go to the router of the source's domain,
    /// inside ones the usual way, private sources stay inside.
    pub(crate) fn draft_forwarding_rule() -> Result<(), &'static str> {
        let p1 = 0xc633_6400;
        let p2 = 0xcb00_7100;
        let private = 0x0a01_0000;
        let t = DomainTable::new(&[
            config(p1, 24, 0x0a00_0001)?,
            config(p2, 24, 0x0a00_0002)?,
            config(private, 16, 0)?,
        ]);
        let outside = 0x0808_0808;
        let via = |index, addr| Route::ViaRouter {
            index,
            router: Router { addr, ifindex: 0 },
        };
        if t.route(p1 | 1, outside) != via(0, 0x0a00_0001)
            || t.route(p2 | 1, outside) != via(1, 0x0a00_0002)
        {
            return Err("an outside destination not via the source domain's router");
        }
        if t.route(p1 | 1, p2 | 2) != Route::Usual || t.route(outside, 0x0101_0101) != Route::Usual
        {
            return Err(
                "a destination inside the site, or a source outside it, not routed as usual",
            );
        }
        if t.route(private | 1, outside) != (Route::Confined { index: 2 }) {
            return Err("a private source not confined");
        }
        Ok(())
    }

    /// An address is in the domain of the longest prefix that holds it.
    pub(crate) fn longest_prefix_wins() -> Result<(), &'static str> {
        let t = DomainTable::new(&[config(0x0a00_0000, 8, 1)?, config(0x0a01_0000, 16, 2)?]);
        if t.domain_of(0x0a01_0203).map(|d| d.index) != Some(1)
            || t.domain_of(0x0a02_0203).map(|d| d.index) != Some(0)
        {
            return Err("an address in another domain than its longest prefix's");
        }
        Ok(())
    }

    /// `ip_domain_table` text: entries, private ones, and the refusals.
    pub(crate) fn table_text_is_cut_into_entries() -> Result<(), &'static str> {
        let mut entries = table_entries(
            b" 198.51.100.0/24 198.51.100.129,\n10.99.0.0/16 private , 10.1.0.0/16\n",
        );
        let first = entries
            .next()
            .ok_or("no first entry")?
            .map_err(|_| "first refused")?;
        if first.addr != b"198.51.100.0"
            || first.mask != b"/24"
            || first.router != Some(b"198.51.100.129".as_slice())
        {
            return Err("the first entry cut wrongly");
        }
        for _ in 0..2 {
            let private = entries
                .next()
                .ok_or("a private entry missing")?
                .map_err(|_| "refused")?;
            if private.router.is_some() {
                return Err("a private entry has a router");
            }
        }
        if entries.next().is_some() || table_entries(b"  \n").next().is_some() {
            return Err("entries after the last, or in empty text");
        }
        for bad in [
            &b"10.0.0.0/8,"[..],
            b"10.0.0.0",
            b"10.0.0.0/ 1.2.3.4",
            b"/8 1.1.1.1",
            b"10.0.0.0/8 1.1.1.1 x",
            b",",
        ] {
            if !table_entries(bad).any(|e| e == Err(TableError::Malformed)) {
                return Err("a malformed table accepted");
            }
        }
        let mut seventeen = [0u8; 17 * 11];
        for entry in seventeen.chunks_mut(11) {
            entry.copy_from_slice(b"10.0.0.0/8,");
        }
        let seventeen = &seventeen[..17 * 11 - 1];
        if table_entries(seventeen)
            .filter(|e| *e == Err(TableError::TooMany))
            .count()
            != 1
            || table_entries(seventeen).count() != 17
        {
            return Err("17 entries not refused once, at the 17th");
        }
        let twice = [config(0x0a00_0000, 8, 1)?, config(0x0a00_0000, 8, 2)?];
        let apart = [config(0x0a00_0000, 8, 1)?, config(0x0a00_0000, 9, 2)?];
        if !has_duplicate(&twice) || has_duplicate(&apart) {
            return Err("duplicate prefixes not told from different ones");
        }
        if !same_network(&twice[0], &twice[1])
            || same_network(&apart[0], &apart[1])
            || same_network(&DomainConfig::<u32>::EMPTY, &DomainConfig::EMPTY)
        {
            return Err("same_network wrong");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([domain] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn config(addr: u32, len: u8, router: u32) -> DomainConfig<u32> {
        DomainConfig::with(addr, len, router).unwrap()
    }

    const P1: u32 = 0xc633_6400; // 198.51.100.0/24 via 10.0.0.1
    const P2: u32 = 0xcb00_7100; // 203.0.113.0/24 via 10.0.0.2
    const PRIV: u32 = 0x0a01_0000; // 10.1.0.0/16, private

    fn site() -> DomainTable<u32> {
        DomainTable::new(&[
            config(P1, 24, 0x0a00_0001),
            config(P2, 24, 0x0a00_0002),
            config(PRIV, 16, 0),
        ])
    }

    #[test]
    fn outside_destinations_go_to_the_router_of_the_source_domain() {
        let t = site();
        let x = 0x0808_0808;
        assert_eq!(
            t.route(P1 | 5, x),
            Route::ViaRouter {
                index: 0,
                router: Router {
                    addr: 0x0a00_0001,
                    ifindex: 0
                }
            }
        );
        assert_eq!(
            t.route(P2 | 5, x),
            Route::ViaRouter {
                index: 1,
                router: Router {
                    addr: 0x0a00_0002,
                    ifindex: 0
                }
            }
        );
    }

    #[test]
    fn inside_destinations_and_foreign_sources_route_usually() {
        let t = site();
        assert_eq!(t.route(P1 | 5, P2 | 9), Route::Usual);
        assert_eq!(t.route(PRIV | 5, P1 | 9), Route::Usual);
        assert_eq!(t.route(0x0808_0808, 0x0101_0101), Route::Usual);
    }

    #[test]
    fn private_sources_are_confined() {
        assert_eq!(
            site().route(PRIV | 5, 0x0808_0808),
            Route::Confined { index: 2 }
        );
    }

    #[test]
    fn the_longest_source_prefix_wins() {
        let t = DomainTable::new(&[config(0x0a00_0000, 8, 1), config(0x0a01_0000, 16, 2)]);
        assert_eq!(t.domain_of(0x0a01_0203).map(|d| d.index), Some(1));
        assert_eq!(t.domain_of(0x0a02_0203).map(|d| d.index), Some(0));
    }

    #[test]
    fn mask_and_address_can_be_written_in_either_order() {
        let mut c = DomainConfig::<u32>::default();
        c.set_net_addr(P1).unwrap();
        c.set_prefix_len(24).unwrap();
        assert_eq!(c.set_prefix_len(20), Err(AddrError::HostBitsSet));
        assert_eq!(c.prefix_len(), 24);
        assert_eq!(c.set_net_addr(P1 | 1), Err(AddrError::HostBitsSet));
        assert_eq!(c.net_addr(), Some(P1));
        let mut d = DomainConfig::<u32>::default();
        d.set_prefix_len(24).unwrap();
        d.set_net_addr(P1).unwrap();
        assert_eq!(c, d);
    }

    #[test]
    fn unwritten_domains_take_no_part() {
        let mut configs = [DomainConfig::<u32>::default(); 3];
        configs[1] = config(P1, 24, 1);
        let t = DomainTable::new(&configs);
        assert_eq!(t.domains().map(|d| d.index).collect::<Vec<_>>(), [1]);
        assert!(DomainTable::<u32>::new(&[DomainConfig::default()]).is_empty());
    }

    /// A model of the equivalent policy-routing set-up, evaluated rule by rule as the
    /// kernel's FIB rules are: `to D lookup main` for every domain, then `from D lookup
    /// table_D` (longest prefix first), where table_D holds only `default via router_D`
    /// (or `unreachable default` for a private domain).
    fn policy_routing(configs: &[DomainConfig<u32>], src: u32, dst: u32) -> Route<u32> {
        let mut domains: Vec<Domain<u32>> = configs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.active(i as u8))
            .collect();
        domains.sort_by(|a, b| b.prefix.prefix_len().cmp(&a.prefix.prefix_len()));
        for d in &domains {
            if d.prefix.contains(dst) {
                return Route::Usual;
            }
        }
        for d in &domains {
            if d.prefix.contains(src) {
                return d.route_for_source();
            }
        }
        Route::Usual
    }

    #[test]
    fn decisions_equal_the_policy_routing_model() {
        let mut next = crate::logic::xorshift(0x5eed);
        for _ in 0..2_000 {
            let n = (next() % 17) as usize;
            let mut configs = Vec::new();
            for _ in 0..n {
                // Few distinct short prefixes under 10/8 so that they overlap and match.
                let len = 8 + (next() % 17) as u8;
                let addr = (0x0a00_0000 | (next() as u32 & 0x00ff_ffff)) & <u32 as Bits>::mask(len);
                let router = if next() % 4 == 0 {
                    0
                } else {
                    next() as u32 | 1
                };
                configs.push(config(addr, len, router));
            }
            let t = DomainTable::new(&configs);
            for _ in 0..50 {
                let pick = |r: u64| {
                    if r % 3 == 0 {
                        r as u32
                    } else {
                        0x0a00_0000 | (r as u32 & 0x00ff_ffff)
                    }
                };
                let (src, dst) = (pick(next()), pick(next()));
                assert_eq!(t.route(src, dst), policy_routing(&configs, src, dst));
            }
        }
    }

    /// The naive rule for either family: every domain tested, longest prefix first.
    fn naive<B: Bits + core::fmt::Debug>(domains: &[Domain<B>], src: B, dst: B) -> Route<B> {
        let mut sorted = domains.to_vec();
        sorted.sort_by(|a, b| b.prefix.prefix_len().cmp(&a.prefix.prefix_len()));
        if sorted.iter().any(|d| d.prefix.contains(dst)) {
            return Route::Usual;
        }
        sorted
            .iter()
            .find(|d| d.prefix.contains(src))
            .map_or(Route::Usual, Domain::route_for_source)
    }

    /// Random tables of any prefix lengths (0 to the full width, so that a domain covers
    /// part of the looked-up window, all of it or none), addresses near their networks and
    /// anywhere: the window's candidates never miss a domain, for both families.
    fn candidates_never_miss<
        B: Bits + core::fmt::Debug + core::ops::BitOr<Output = B> + core::ops::BitXor<Output = B>,
    >(
        width: u8,
        draw: impl Fn(&mut dyn FnMut() -> u64) -> B,
    ) {
        let mut next = crate::logic::xorshift(0x0c7e7);
        for round in 0..3_000 {
            let n = 1 + (next() % 16) as usize;
            // Some rounds share a long common prefix (the octets after it tell the domains
            // apart), some do not.
            let common = draw(&mut next);
            let mut configs = Vec::new();
            for _ in 0..n {
                let len = (next() % (u64::from(width) + 1)) as u8;
                let addr = if round % 2 == 0 {
                    let keep = <B as Bits>::mask((next() % u64::from(width)) as u8);
                    (common & keep) | (draw(&mut next) & !keep)
                } else {
                    draw(&mut next)
                } & <B as Bits>::mask(len);
                let mut c = DomainConfig::<B>::EMPTY;
                c.set_prefix_len(len).unwrap();
                c.set_net_addr(addr).unwrap();
                let router = if next() % 4 == 0 {
                    <B as Bits>::ZERO
                } else {
                    draw(&mut next)
                };
                c.set_def_router(Router {
                    addr: router,
                    ifindex: 0,
                });
                configs.push(c);
            }
            let t = DomainTable::new(&configs);
            let domains: Vec<Domain<B>> = t.domains().copied().collect();
            for _ in 0..40 {
                let pick = |next: &mut dyn FnMut() -> u64| {
                    let at = (next() % domains.len() as u64) as usize;
                    match next() % 3 {
                        0 => draw(next),
                        // Inside a domain, or just outside it (one bit flipped after the
                        // prefix or within it).
                        1 => {
                            domains[at].prefix.addr()
                                | (draw(next) & !<B as Bits>::mask(domains[at].prefix.prefix_len()))
                        }
                        _ => {
                            domains[at].prefix.addr()
                                ^ !<B as Bits>::mask((next() % u64::from(width)) as u8)
                                    & <B as Bits>::mask((next() % u64::from(width + 1)) as u8)
                        }
                    }
                };
                let (src, dst) = (pick(&mut next), pick(&mut next));
                assert_eq!(
                    t.route(src, dst),
                    naive(&domains, src, dst),
                    "{src:?} -> {dst:?} in {domains:?}"
                );
                let first = domains
                    .iter()
                    .filter(|d| d.prefix.contains(src))
                    .max_by_key(|d| (d.prefix.prefix_len(), core::cmp::Reverse(d.index)));
                assert_eq!(t.domain_of(src).map(|d| d.index), first.map(|d| d.index));
            }
        }
    }

    #[test]
    fn the_window_index_never_misses_a_domain() {
        candidates_never_miss::<u32>(32, |next| next() as u32);
        candidates_never_miss::<u128>(128, |next| {
            // Mostly 2001:db8::/32, as sites are numbered.
            let low = (u128::from(next()) << 64) | u128::from(next());
            if next() % 4 == 0 {
                low
            } else {
                (0x2001_0db8u128 << 96) | (low >> 32)
            }
        });
    }

    /// The benchmark's 16 domains (`scripts/bench-forward.sh`): any address has at most
    /// two candidates, so a rerouted packet costs about what it does with one domain.
    #[test]
    fn sixteen_domains_leave_one_or_two_candidates() {
        let mut configs: Vec<DomainConfig<u32>> = (0..15u32)
            .map(|i| config(0x0a00_0000 | (i << 16), 24, 0xc000_0202))
            .collect();
        configs.push(config(0xc633_6400, 24, 0xc000_0202));
        let t = DomainTable::new(&configs);
        for addr in [0xc633_640a, 0xc000_0201, 0x0a05_0001, 0x0808_0808u32] {
            assert!(t.candidates_of(addr).count() <= 2, "{addr:#x}");
        }
        let mut six: Vec<DomainConfig<u128>> = Vec::new();
        for i in 0..15u128 {
            let mut c = DomainConfig::EMPTY;
            c.set_prefix_len(64).unwrap();
            c.set_net_addr((0x2001_0db8_0100u128 + i) << 80).unwrap();
            six.push(c);
        }
        let t = DomainTable::new(&six);
        assert!(t.candidates_of(0x2001_0db8_0105u128 << 80 | 1).count() <= 2);
        assert!(t.candidates_of(0x2001_0db8_0051u128 << 80 | 1).count() <= 2);
    }
}

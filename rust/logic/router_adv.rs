// SPDX-License-Identifier: GPL-2.0

//! IPv6 domains learned from router advertisements (the draft, section 2: domain
//! information is uploaded "manually, or through router advertisement or DHCP"): the
//! parts of an RA (RFC 4861 4.2, 4.6.2) that make domains, and the table of domains
//! learned, each kept for its prefix's valid lifetime and its router's lifetime.

use super::prefix::{
    Bits,
    Prefix, //
};

/// ICMPv6 Router Advertisement.
pub(crate) const ND_ROUTER_ADVERT: u8 = 134;
/// The fixed part of an RA: type, code, checksum, hop limit, flags, router lifetime,
/// reachable time, retransmission timer.
const RA_FIXED: usize = 16;
/// The Prefix Information option: type 3, length 4 (32 octets).
const OPT_PREFIX_INFO: u8 = 3;
const PREFIX_INFO_LEN: usize = 32;
/// Its flags: on-link (L) and autonomous address configuration (A).
const FLAG_ON_LINK: u8 = 0x80;
const FLAG_AUTONOMOUS: u8 = 0x40;
/// A lifetime of all ones is infinity (RFC 4861 4.6.2).
const INFINITE: u32 = u32::MAX;

/// Most prefixes taken from one RA: an RA rarely carries more, and what the hook keeps
/// (on a softirq's stack, then queued) stays small.
pub(crate) const MAX_RA_PREFIXES: usize = 8;
/// The shortest prefix taken as a domain: a forged RA for `::/0` (or any very short
/// prefix) would make every destination "inside the site" and turn source-domain routing
/// off for all traffic.
pub(crate) const MIN_PREFIX_LEN: u8 = 16;

/// One prefix of an RA, as the domains use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AdvertisedPrefix {
    /// The network (host bits cleared).
    pub(crate) prefix: Prefix<u128>,
    /// Valid lifetime, seconds ([`u32::MAX`]: infinity; 0: withdrawn).
    pub(crate) valid_s: u32,
}

/// What an RA says about domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouterAdvert {
    /// The router's lifetime as a default router, seconds (0: it is none any more).
    pub(crate) router_lifetime_s: u16,
    /// Its on-link or autonomous prefixes, the first `count` of them.
    pub(crate) prefixes: [AdvertisedPrefix; MAX_RA_PREFIXES],
    /// How many.
    pub(crate) count: usize,
}

impl RouterAdvert {
    /// The prefixes.
    pub(crate) fn prefixes(&self) -> &[AdvertisedPrefix] {
        &self.prefixes[..self.count]
    }
}

/// Parses an RA (`message`: the ICMPv6 message from its type octet), or `None` if it is
/// none or malformed: too short, code not 0, an option of length 0 or past the end (RFC
/// 4861 6.1.2: such an RA is discarded whole). Prefixes that are link-local, multicast,
/// shorter than [`MIN_PREFIX_LEN`] or longer than 128, or neither on-link nor autonomous
/// are skipped, as are those beyond [`MAX_RA_PREFIXES`].
pub(crate) fn parse_router_advert(message: &[u8]) -> Option<RouterAdvert> {
    if message.len() < RA_FIXED || message[0] != ND_ROUTER_ADVERT || message[1] != 0 {
        return None;
    }
    let mut ra = RouterAdvert {
        router_lifetime_s: u16::from_be_bytes([message[6], message[7]]),
        prefixes: [AdvertisedPrefix {
            prefix: Prefix::ANY,
            valid_s: 0,
        }; MAX_RA_PREFIXES],
        count: 0,
    };
    let mut options = &message[RA_FIXED..];
    while !options.is_empty() {
        let len = usize::from(*options.get(1)?) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        let (option, rest) = options.split_at(len);
        options = rest;
        if option[0] != OPT_PREFIX_INFO {
            continue;
        }
        if len != PREFIX_INFO_LEN {
            return None;
        }
        let prefix_len = option[2];
        let flags = option[3];
        let valid_s = u32::from_be_bytes([option[4], option[5], option[6], option[7]]);
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&option[16..32]);
        let addr = u128::from_be_bytes(octets);
        if !(MIN_PREFIX_LEN..=128).contains(&prefix_len)
            || flags & (FLAG_ON_LINK | FLAG_AUTONOMOUS) == 0
            || super::ipv6::is_link_local(addr)
            || super::ipv6::is_multicast(addr)
        {
            continue;
        }
        let Ok(prefix) = Prefix::new(addr & <u128 as Bits>::mask(prefix_len), prefix_len) else {
            continue;
        };
        if let Some(slot) = ra.prefixes.get_mut(ra.count) {
            *slot = AdvertisedPrefix { prefix, valid_s };
            ra.count += 1;
        }
    }
    Some(ra)
}

/// A domain learned from an RA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LearnedDomain {
    /// The advertised prefix.
    pub(crate) prefix: Prefix<u128>,
    /// The RA's sender (link-local) ...
    pub(crate) router: u128,
    /// ... on this interface.
    pub(crate) ifindex: i32,
    /// When it lapses (ms of the monotonic clock; `u64::MAX`: never).
    pub(crate) expires_ms: u64,
}

/// What learning from one RA did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Learned {
    /// Domains added.
    pub(crate) added: usize,
    /// Domains removed (lifetime 0).
    pub(crate) removed: usize,
    /// Prefixes that found no room in the table.
    pub(crate) no_room: usize,
}

/// The domains learned from RAs, at most `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LearnedDomains<const N: usize> {
    entries: [Option<LearnedDomain>; N],
}

impl<const N: usize> Default for LearnedDomains<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// How long a domain lasts: the shorter of the prefix's valid lifetime and the router's.
fn expiry(now: u64, valid_s: u32, router_lifetime_s: u16) -> u64 {
    let router_ms = u64::from(router_lifetime_s) * 1000;
    let lifetime_ms = if valid_s == INFINITE {
        router_ms
    } else {
        router_ms.min(u64::from(valid_s) * 1000)
    };
    now.saturating_add(lifetime_ms)
}

impl<const N: usize> LearnedDomains<N> {
    /// None learned.
    pub(crate) const EMPTY: Self = Self { entries: [None; N] };

    /// The domains learned, in their order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &LearnedDomain> {
        self.entries.iter().flatten()
    }

    /// How many.
    pub(crate) fn len(&self) -> usize {
        self.iter().count()
    }

    /// Learns from `ra`, sent by `router` over `ifindex`, at `now`; at most `room` domains
    /// in all (what the manually configured ones leave). A router lifetime of 0 removes
    /// the router's domains on that interface, a valid lifetime of 0 that prefix's; a known
    /// prefix is refreshed; `removed(domain)` and `added(domain)` hear each change.
    pub(crate) fn learn(
        &mut self,
        ra: &RouterAdvert,
        router: u128,
        ifindex: i32,
        now: u64,
        room: usize,
        mut changed: impl FnMut(bool, &LearnedDomain),
    ) -> Learned {
        let mut learned = Learned::default();
        let from_router = |d: &LearnedDomain| d.router == router && d.ifindex == ifindex;
        if ra.router_lifetime_s == 0 {
            for slot in self.entries.iter_mut() {
                if let Some(d) = slot.take_if(|d| from_router(d)) {
                    changed(false, &d);
                    learned.removed += 1;
                }
            }
            return learned;
        }
        for advertised in ra.prefixes() {
            let same = |d: &LearnedDomain| from_router(d) && d.prefix == advertised.prefix;
            if advertised.valid_s == 0 {
                for slot in self.entries.iter_mut() {
                    if let Some(d) = slot.take_if(|d| same(d)) {
                        changed(false, &d);
                        learned.removed += 1;
                    }
                }
                continue;
            }
            let expires_ms = expiry(now, advertised.valid_s, ra.router_lifetime_s);
            if let Some(known) = self.entries.iter_mut().flatten().find(|d| same(d)) {
                known.expires_ms = expires_ms;
                continue;
            }
            let free = self.entries.iter().position(Option::is_none);
            match free {
                Some(at) if self.len() < room => {
                    let domain = LearnedDomain {
                        prefix: advertised.prefix,
                        router,
                        ifindex,
                        expires_ms,
                    };
                    self.entries[at] = Some(domain);
                    changed(true, &domain);
                    learned.added += 1;
                }
                _ => learned.no_room += 1,
            }
        }
        learned
    }

    /// Drops the domains that lapsed by `now`, telling `lapsed` each; how many went.
    pub(crate) fn expire(&mut self, now: u64, mut lapsed: impl FnMut(&LearnedDomain)) -> usize {
        let mut gone = 0;
        for slot in self.entries.iter_mut() {
            if let Some(d) = slot.take_if(|d| d.expires_ms <= now) {
                lapsed(&d);
                gone += 1;
            }
        }
        gone
    }

    /// When the next one lapses.
    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.iter().map(|d| d.expires_ms).min()
    }

    /// Forgets them all, telling `removed` each.
    pub(crate) fn clear(&mut self, mut removed: impl FnMut(&LearnedDomain)) {
        for slot in self.entries.iter_mut() {
            if let Some(d) = slot.take() {
                removed(&d);
            }
        }
    }
}

/// Named checks shared by the host tests and the KUnit suite `sitemh_domain`.
#[cfg(any(test, CONFIG_KUNIT))]
pub(crate) mod vectors {
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* router_adv {
                an_advert_gives_its_prefixes,
                learned_domains_live_by_their_lifetimes,
            });
        };
    }
    pub(crate) use checks;

    /// An RA with router lifetime `lifetime` and prefix options `(prefix, len, flags,
    /// valid)`, plus a source link-layer option (type 1) first.
    pub(crate) fn advert(lifetime: u16, prefixes: &[(u128, u8, u8, u32)], out: &mut [u8]) -> usize {
        let mut at = RA_FIXED;
        if out.len() < RA_FIXED + 8 + prefixes.len() * PREFIX_INFO_LEN {
            return 0;
        }
        out[..RA_FIXED].fill(0);
        out[0] = ND_ROUTER_ADVERT;
        out[6..8].copy_from_slice(&lifetime.to_be_bytes());
        out[at..at + 8].copy_from_slice(&[1, 1, 2, 0, 0, 0, 0, 1]);
        at += 8;
        for &(prefix, len, flags, valid) in prefixes {
            let o = &mut out[at..at + PREFIX_INFO_LEN];
            o.fill(0);
            o[0] = OPT_PREFIX_INFO;
            o[1] = 4;
            o[2] = len;
            o[3] = flags;
            o[4..8].copy_from_slice(&valid.to_be_bytes());
            o[8..12].copy_from_slice(&valid.to_be_bytes());
            o[16..32].copy_from_slice(&prefix.to_be_bytes());
            at += PREFIX_INFO_LEN;
        }
        at
    }

    const P1: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0000;
    const P2: u128 = 0x2001_0db8_0002_0000_0000_0000_0000_0000;
    const ROUTER: u128 = 0xfe80_0000_0000_0000_0000_0000_0000_00c1;

    /// Prefixes come out cleared of host bits; link-local, flagless and overlong ones are
    /// skipped; a bad option length discards the RA.
    pub(crate) fn an_advert_gives_its_prefixes() -> Result<(), &'static str> {
        let mut buf = [0u8; 256];
        let n = advert(
            1800,
            &[
                (P1 | 0xffff, 64, 0xc0, 86400),
                (0xfe80 << 112, 64, 0xc0, 100),
                (P2, 64, 0x00, 100),
                (P2, 129, 0x80, 100),
                (0, 0, 0xc0, 100),
                (P2, 15, 0xc0, 100),
                (P2, 48, 0x40, INFINITE),
            ],
            &mut buf,
        );
        let ra = parse_router_advert(&buf[..n]).ok_or("a good RA refused")?;
        if ra.router_lifetime_s != 1800 || ra.count != 2 {
            return Err("wrong lifetime or prefixes kept");
        }
        if ra.prefixes[0].prefix.addr() != P1 || ra.prefixes[0].valid_s != 86400 {
            return Err("host bits kept, or the valid lifetime lost");
        }
        if ra.prefixes[1].prefix.prefix_len() != 48 || ra.prefixes[1].valid_s != INFINITE {
            return Err("an autonomous-only prefix lost");
        }
        if parse_router_advert(&buf[..n - 1]).is_some() {
            return Err("an RA cut inside an option accepted");
        }
        buf[RA_FIXED + 1] = 0;
        if parse_router_advert(&buf[..n]).is_some() {
            return Err("an option of length 0 accepted");
        }
        buf[RA_FIXED + 1] = 1;
        buf[1] = 1;
        if parse_router_advert(&buf[..n]).is_some() {
            return Err("code 1 accepted");
        }
        Ok(())
    }

    /// Learned, refreshed, limited by room, lapsed, withdrawn by lifetime 0.
    pub(crate) fn learned_domains_live_by_their_lifetimes() -> Result<(), &'static str> {
        let mut buf = [0u8; 256];
        let mut table = LearnedDomains::<4>::EMPTY;
        let n = advert(
            60,
            &[(P1, 64, 0xc0, 30), (P2, 64, 0xc0, INFINITE)],
            &mut buf,
        );
        let ra = parse_router_advert(&buf[..n]).ok_or("refused")?;
        let mut events = 0;
        let did = table.learn(&ra, ROUTER, 2, 1000, 16, |_, _| events += 1);
        if did.added != 2 || table.len() != 2 || events != 2 {
            return Err("two prefixes not learned");
        }
        // The shorter lifetime wins: P1 30 s (valid), P2 60 s (router).
        if table.next_expiry() != Some(31_000) {
            return Err("P1 not kept for its valid lifetime");
        }
        let again = table.learn(&ra, ROUTER, 2, 20_000, 16, |_, _| events += 1);
        if again != Learned::default() || table.next_expiry() != Some(50_000) || events != 2 {
            return Err("a repetition changed the table, or did not refresh it");
        }
        // Another router on another interface, with no room left for its second prefix.
        let other = table.learn(&ra, ROUTER + 1, 3, 20_000, 3, |_, _| {});
        if other.added != 1 || other.no_room != 1 || table.len() != 3 {
            return Err("room not respected");
        }
        let mut lapsed = 0;
        if table.expire(50_000, |_| lapsed += 1) != 2 || lapsed != 2 || table.len() != 1 {
            return Err("the lapsed P1s not dropped");
        }
        let n = advert(0, &[], &mut buf);
        let bye = parse_router_advert(&buf[..n]).ok_or("refused")?;
        if table.learn(&bye, ROUTER, 2, 50_001, 16, |_, _| {}).removed != 1 || table.len() != 0 {
            return Err("router lifetime 0 did not remove its domains");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([router_adv] crate::logic::host_tests!());
    }
}

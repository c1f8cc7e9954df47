//! The domain table as `ip_domain_table` reads and writes it, and the edits of
//! `sitemhctl domain`, validated before anything is written.
//!
//! Syntax (the module's): entries separated by `,`, each `PREFIX/LEN` optionally followed by
//! a router (an address of the family, IPv6 link-local with `%ifname`) or `private`; an
//! index whose `net_addr` was never written reads `-`. At most 16 entries, no host bits,
//! no prefix twice.

use std::fmt;
use std::net::IpAddr;
use std::net::Ipv4Addr;
use std::net::Ipv6Addr;

/// The draft's limit on the domains of one family (`SITEMH_MAX_DOMAINS`).
pub const MAX_DOMAINS: usize = 16;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4: `net.ipv4.`, the `ipv4` lines.
    V4,
    /// IPv6: `net.ipv6.`, the `ipv6` lines.
    V6,
}

impl Family {
    /// Both, in the order they are shown.
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The name the module uses (`/proc/net/sitemh`, JSON keys).
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    /// Bits in an address.
    pub fn width(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// A domain's prefix, without host bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl Prefix {
    /// The prefix's family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: &IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(p), IpAddr::V4(a)) => {
                mask_bits(u128::from(u32::from(*a)), self.len, 32) == u128::from(u32::from(p))
            }
            (IpAddr::V6(p), IpAddr::V6(a)) => {
                mask_bits(u128::from(*a), self.len, 128) == u128::from(p)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// `value`, `width` bits wide, with all but its top `len` bits cleared.
fn mask_bits(value: u128, len: u8, width: u8) -> u128 {
    if len == 0 {
        return 0;
    }
    let keep = u128::MAX << (128 - u32::from(len));
    let shifted = value << (128 - u32::from(width));
    (shifted & keep) >> (128 - u32::from(width))
}

/// A domain's default router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Router {
    /// A private domain: no router, its sources never leave the site.
    Private,
    /// The CE router packets from the domain go to; `scope` is the interface of an
    /// IPv6 router given as `addr%ifname` (required for link-local addresses).
    Via {
        /// The router's address.
        addr: IpAddr,
        /// The interface, for `%ifname`.
        scope: Option<String>,
    },
}

impl fmt::Display for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Router::Private => f.write_str("private"),
            Router::Via { addr, scope: None } => write!(f, "{addr}"),
            Router::Via {
                addr,
                scope: Some(ifname),
            } => write!(f, "{addr}%{ifname}"),
        }
    }
}

/// One domain: a prefix and its router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The prefix.
    pub prefix: Prefix,
    /// The router, or private.
    pub router: Router,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.prefix, self.router)
    }
}

/// One index of the table as the module shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A domain.
    Set(Entry),
    /// An index whose `net_addr` was never written (`-`).
    Unwritten,
}

/// Parses an address of either family (`192.0.2.1`, `2001:db8::1`).
pub fn parse_addr(text: &str) -> Result<IpAddr, String> {
    if text.contains(':') {
        text.parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| format!("\"{text}\" is not an IPv6 address"))
    } else {
        text.parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| format!("\"{text}\" is not an IPv4 address"))
    }
}

/// Parses `PREFIX/LEN`: the address decides the family; host bits are refused, naming
/// the prefix that was probably meant.
pub fn parse_prefix(text: &str) -> Result<Prefix, String> {
    let Some((addr_text, len_text)) = text.split_once('/') else {
        return Err(format!("\"{text}\" is not a prefix: PREFIX/LEN expected"));
    };
    let addr = parse_addr(addr_text).map_err(|e| format!("prefix {text}: {e}"))?;
    let width = Family::of(&addr).width();
    let len = match len_text.parse::<u8>() {
        Ok(len) if len <= width && len_text.bytes().all(|c| c.is_ascii_digit()) => len,
        _ => {
            return Err(format!(
                "prefix {text}: the length must be a number from 0 to {width}"
            ))
        }
    };
    let bits = match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let network = mask_bits(bits, len, width);
    if network != bits {
        let meant = match addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(network as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(network)),
        };
        return Err(format!(
            "prefix {text} has host bits set (did you mean {meant}/{len}?)"
        ));
    }
    Ok(Prefix { addr, len })
}

/// Whether an interface name could be one (what the kernel's `dev_valid_name` allows,
/// and nothing that would break the table's syntax).
fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name.bytes().any(|c| {
            c == b'/' || c == b',' || c == b'%' || c == b':' || c.is_ascii_whitespace() || c < 0x20
        })
}

/// Parses a router for a domain of `family`: an address (IPv6: optionally `%ifname`,
/// required for a link-local address) or `private`. The unspecified address is the
/// draft's NULL router, so it means private too.
pub fn parse_router(text: &str, family: Family) -> Result<Router, String> {
    if text == "private" {
        return Ok(Router::Private);
    }
    let (addr_text, scope) = match text.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (text, None),
    };
    let addr = parse_addr(addr_text).map_err(|e| format!("router {text}: {e}"))?;
    if Family::of(&addr) != family {
        return Err(format!(
            "router {text} is not an {} address, as the prefix is",
            family.name()
        ));
    }
    if addr.is_unspecified() && scope.is_none() {
        return Ok(Router::Private);
    }
    if addr.is_multicast() || matches!(addr, IpAddr::V4(a) if a.is_broadcast()) {
        return Err(format!("router {text} is not a unicast address"));
    }
    match (addr, scope) {
        (IpAddr::V4(_), Some(_)) => Err(format!(
            "router {text}: only an IPv6 router takes %interface"
        )),
        (_, Some(ifname)) if !valid_ifname(ifname) => Err(format!(
            "router {text}: \"{ifname}\" is not an interface name"
        )),
        (IpAddr::V6(a), None) if (a.segments()[0] & 0xffc0) == 0xfe80 => Err(format!(
            "router {text} is link-local: give its interface as {text}%IFNAME"
        )),
        (addr, scope) => Ok(Router::Via {
            addr,
            scope: scope.map(str::to_string),
        }),
    }
}

/// Parses the text of `net.<family>.ip_domain_table` (also what a user would write).
pub fn parse_table(text: &str, family: Family) -> Result<Vec<Slot>, String> {
    let mut slots = Vec::new();
    if text.trim().is_empty() {
        return Ok(slots);
    }
    for (i, item) in text.split(',').enumerate() {
        let mut words = item.split_whitespace();
        let Some(first) = words.next() else {
            return Err(format!("entry {i} of the table is empty"));
        };
        if first == "-" {
            if let Some(extra) = words.next() {
                return Err(format!("entry {i}: \"{extra}\" after \"-\""));
            }
            slots.push(Slot::Unwritten);
            continue;
        }
        let prefix = parse_prefix(first)?;
        if prefix.family() != family {
            return Err(format!(
                "entry {i}: {prefix} is not an {} prefix",
                family.name()
            ));
        }
        let router = match words.next() {
            Some(r) => parse_router(r, family)?,
            None => Router::Private,
        };
        if let Some(extra) = words.next() {
            return Err(format!("entry {i}: unexpected \"{extra}\""));
        }
        slots.push(Slot::Set(Entry { prefix, router }));
    }
    Ok(slots)
}

/// The text to write to `ip_domain_table` for `entries`, in the module's own format.
pub fn format_table(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(Entry::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An edit of one family's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Appends a domain (it gets the next index).
    Add(Entry),
    /// Removes the domain with this prefix; those after it move down one index.
    Del(Prefix),
    /// Changes the router of the domain with this prefix (its index stays).
    Set(Entry),
    /// Removes every domain.
    Flush,
}

/// The table after `edit`, or why the edit is refused. Nothing is written here.
pub fn apply(current: &[Slot], edit: &Edit) -> Result<Vec<Entry>, String> {
    if *edit == Edit::Flush {
        return Ok(Vec::new());
    }
    let mut entries = Vec::with_capacity(current.len() + 1);
    for (i, slot) in current.iter().enumerate() {
        match slot {
            Slot::Set(e) => entries.push(e.clone()),
            Slot::Unwritten => {
                return Err(format!(
                    "domain {i} has no prefix yet (its net_addr was never written): \
                     write it, or lower ip_num_domains, or \"domain flush\""
                ))
            }
        }
    }
    let find = |p: &Prefix| entries.iter().position(|e| e.prefix == *p);
    match edit {
        Edit::Add(new) => {
            if let Some(i) = find(&new.prefix) {
                return Err(format!(
                    "domain {} exists (index {i}); \"domain set\" changes its router",
                    new.prefix
                ));
            }
            if entries.len() >= MAX_DOMAINS {
                return Err(format!(
                    "the {} table is full ({MAX_DOMAINS} domains)",
                    new.prefix.family().name()
                ));
            }
            entries.push(new.clone());
        }
        Edit::Del(prefix) => match find(prefix) {
            Some(i) => {
                entries.remove(i);
            }
            None => return Err(format!("no domain {prefix}")),
        },
        Edit::Set(new) => match find(&new.prefix) {
            Some(i) => entries[i] = new.clone(),
            None => return Err(format!("no domain {}", new.prefix)),
        },
        Edit::Flush => {}
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(p: &str, r: &str) -> Entry {
        let prefix = parse_prefix(p).unwrap();
        let router = parse_router(r, prefix.family()).unwrap();
        Entry { prefix, router }
    }

    #[test]
    fn prefixes_parse_with_their_family() {
        let p = parse_prefix("198.51.100.0/24").unwrap();
        assert_eq!(p.family(), Family::V4);
        assert_eq!(p.to_string(), "198.51.100.0/24");
        let p = parse_prefix("2001:DB8:1::/48").unwrap();
        assert_eq!(p.family(), Family::V6);
        assert_eq!(p.to_string(), "2001:db8:1::/48");
        assert_eq!(parse_prefix("0.0.0.0/0").unwrap().len, 0);
        assert_eq!(parse_prefix("192.0.2.1/32").unwrap().len, 32);
        assert_eq!(parse_prefix("::/0").unwrap().len, 0);
    }

    #[test]
    fn prefix_syntax_errors_are_refused() {
        for bad in [
            "198.51.100.0",
            "198.51.100.0/",
            "198.51.100.0/33",
            "198.51.100.0/+4",
            "198.51.100.0/-1",
            "198.51.100/24",
            "198.51.100.0.0/24",
            "198.051.100.0/24",
            "256.0.0.0/8",
            "2001:db8::/129",
            "2001:db8:::/48",
            "x/8",
            "/8",
            "",
            "198.51.100.0/24/1",
        ] {
            assert!(parse_prefix(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn host_bits_are_refused_with_the_meant_prefix() {
        let e = parse_prefix("198.51.100.7/24").unwrap_err();
        assert!(e.contains("host bits"), "{e}");
        assert!(e.contains("198.51.100.0/24"), "{e}");
        let e = parse_prefix("2001:db8:1::1/48").unwrap_err();
        assert!(e.contains("2001:db8:1::/48"), "{e}");
        assert!(parse_prefix("11.0.0.0/7").is_err());
        assert!(parse_prefix("10.0.0.0/7").is_ok());
    }

    #[test]
    fn routers_parse_per_family() {
        assert_eq!(
            parse_router("private", Family::V4).unwrap(),
            Router::Private
        );
        assert_eq!(
            parse_router("0.0.0.0", Family::V4).unwrap(),
            Router::Private
        );
        assert_eq!(parse_router("::", Family::V6).unwrap(), Router::Private);
        assert_eq!(
            parse_router("198.51.100.129", Family::V4)
                .unwrap()
                .to_string(),
            "198.51.100.129"
        );
        assert_eq!(
            parse_router("fe80::c1%eth1", Family::V6)
                .unwrap()
                .to_string(),
            "fe80::c1%eth1"
        );
        assert_eq!(
            parse_router("2001:db8::1%eth1", Family::V6)
                .unwrap()
                .to_string(),
            "2001:db8::1%eth1"
        );
    }

    #[test]
    fn bad_routers_are_refused() {
        for (bad, family) in [
            ("198.51.100.129", Family::V6),
            ("2001:db8::1", Family::V4),
            ("fe80::1", Family::V6),
            ("fe80::1%", Family::V6),
            ("fe80::1%a/b", Family::V6),
            ("fe80::1%0123456789abcdef", Family::V6),
            ("192.0.2.1%eth0", Family::V4),
            ("224.0.0.1", Family::V4),
            ("255.255.255.255", Family::V4),
            ("ff02::1%eth0", Family::V6),
            ("router", Family::V4),
            ("", Family::V4),
        ] {
            assert!(parse_router(bad, family).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_modules_table_text_parses() {
        let t = parse_table(
            "198.51.100.0/24 198.51.100.129, 203.0.113.0/24 203.0.113.130, 10.99.0.0/16 private\n",
            Family::V4,
        )
        .unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[2], Slot::Set(entry("10.99.0.0/16", "private")));
        let t = parse_table("2001:db8:1::/48 fe80::c1%eth1, -", Family::V6).unwrap();
        assert_eq!(t[0], Slot::Set(entry("2001:db8:1::/48", "fe80::c1%eth1")));
        assert_eq!(t[1], Slot::Unwritten);
        assert!(parse_table("", Family::V4).unwrap().is_empty());
        assert!(parse_table(" \n", Family::V6).unwrap().is_empty());
        // A router may be left out: private.
        let t = parse_table("10.0.0.0/8", Family::V4).unwrap();
        assert_eq!(t[0], Slot::Set(entry("10.0.0.0/8", "private")));
    }

    #[test]
    fn bad_table_text_is_refused() {
        for bad in [
            "198.51.100.0/24,",
            ",198.51.100.0/24",
            "198.51.100.0/24 1.2.3.4 5.6.7.8",
            "- x",
            "2001:db8::/32",
        ] {
            assert!(parse_table(bad, Family::V4).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn formatting_round_trips() {
        let entries = vec![
            entry("198.51.100.0/24", "198.51.100.129"),
            entry("10.99.0.0/16", "private"),
        ];
        let text = format_table(&entries);
        assert_eq!(text, "198.51.100.0/24 198.51.100.129, 10.99.0.0/16 private");
        let back = parse_table(&text, Family::V4).unwrap();
        assert_eq!(back, entries.into_iter().map(Slot::Set).collect::<Vec<_>>());
        assert_eq!(format_table(&[]), "");
    }

    #[test]
    fn edits_add_del_set_flush() {
        let cur = vec![
            Slot::Set(entry("198.51.100.0/24", "198.51.100.129")),
            Slot::Set(entry("203.0.113.0/24", "203.0.113.130")),
        ];
        let added = apply(&cur, &Edit::Add(entry("10.99.0.0/16", "private"))).unwrap();
        assert_eq!(added.len(), 3);
        assert_eq!(added[2].prefix.to_string(), "10.99.0.0/16");
        let deleted = apply(&cur, &Edit::Del(parse_prefix("198.51.100.0/24").unwrap())).unwrap();
        assert_eq!(deleted, vec![entry("203.0.113.0/24", "203.0.113.130")]);
        let set = apply(&cur, &Edit::Set(entry("203.0.113.0/24", "private"))).unwrap();
        assert_eq!(set[1].router, Router::Private);
        assert_eq!(set[0], entry("198.51.100.0/24", "198.51.100.129"));
        assert!(apply(&cur, &Edit::Flush).unwrap().is_empty());
    }

    #[test]
    fn edits_are_validated() {
        let cur = vec![Slot::Set(entry("198.51.100.0/24", "198.51.100.129"))];
        let e = apply(&cur, &Edit::Add(entry("198.51.100.0/24", "private"))).unwrap_err();
        assert!(e.contains("exists"), "{e}");
        let e = apply(&cur, &Edit::Del(parse_prefix("192.0.2.0/24").unwrap())).unwrap_err();
        assert_eq!(e, "no domain 192.0.2.0/24");
        let e = apply(&cur, &Edit::Set(entry("192.0.2.0/24", "private"))).unwrap_err();
        assert_eq!(e, "no domain 192.0.2.0/24");
        let full: Vec<Slot> = (0..16)
            .map(|i| Slot::Set(entry(&format!("10.{i}.0.0/16"), "private")))
            .collect();
        let e = apply(&full, &Edit::Add(entry("192.0.2.0/24", "private"))).unwrap_err();
        assert!(e.contains("full (16 domains)"), "{e}");
        let holes = vec![Slot::Unwritten];
        assert!(apply(&holes, &Edit::Add(entry("192.0.2.0/24", "private"))).is_err());
        assert!(apply(&holes, &Edit::Flush).unwrap().is_empty());
    }

    #[test]
    fn containment() {
        let p = parse_prefix("198.51.100.0/24").unwrap();
        assert!(p.contains(&parse_addr("198.51.100.255").unwrap()));
        assert!(!p.contains(&parse_addr("198.51.101.0").unwrap()));
        assert!(!p.contains(&parse_addr("::1").unwrap()));
        let p = parse_prefix("2001:db8:1::/48").unwrap();
        assert!(p.contains(&parse_addr("2001:db8:1:ffff::1").unwrap()));
        assert!(!p.contains(&parse_addr("2001:db8:2::1").unwrap()));
        assert!(parse_prefix("0.0.0.0/0")
            .unwrap()
            .contains(&parse_addr("1.2.3.4").unwrap()));
    }
}

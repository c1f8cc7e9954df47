//! `/proc/net/sitemh`, parsed. Its lines (rust/netns.rs and the features' `show`):
//!
//! ```text
//! family domain prefix router rerouted confined no_route kept     (header)
//! ipv4 0 198.51.100.0/24 198.51.100.129 5 0 0 0                    (one per domain)
//! ipv6 0 2001:db8:1::/48 fe80::c1 0 0 0 0
//! linkfail sent N received N ... down 0x<IPv4 domain bits>
//! learned6 2001:db8:1::/64 fe80::c1%eth1 expires_s 1790       (one per learned domain)
//! ra6 auto 1 learned 1 heard 3 no_room 0 dropped 0
//! linkfail6 sent N ... down 0x<IPv6 domain bits>
//! netdev events N batches N flushes N
//! probe sent N cached N limited N refused N
//! switchover tracked N moved N requests N ...
//! switchover6 tracked N moved N ...
//! home addr A careof A stacked N ... bindings N ...
//! home6 addr A careof A ...
//! hooks ip:output ip:forward ...   (or "hooks -")
//! ```
//!
//! The `learned6` lines come after the IPv6 domain lines (rust/domains/router_adv.rs
//! `show_learned`); every other line but the domains and hooks is a *record*: a name, then key-value pairs.
//! Lines this version does not know are kept as records, so a newer module's lines show.

use crate::json::Json;
use crate::table::Family;

/// The counters of one domain, from its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainLine {
    /// The family.
    pub family: Family,
    /// The domain's index (`ip_domain.N`).
    pub index: usize,
    /// `PREFIX/LEN` as shown.
    pub prefix: String,
    /// The router's address, or `private` (link-local routers without `%ifname`).
    pub router: String,
    /// rerouted, confined, no_route, kept.
    pub counters: [u64; 4],
}

/// An IPv6 domain learned from a router advertisement (a `learned6` line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Learned6 {
    /// `PREFIX/LEN` as shown.
    pub prefix: String,
    /// The advertising router's link-local address.
    pub router: String,
    /// The interface the advertisement came in on (`?` if it is gone).
    pub ifname: String,
    /// Seconds until the domain lapses unless an advertisement refreshes it.
    pub expires_s: u64,
}

/// The names of [`DomainLine::counters`], in order.
pub const DOMAIN_COUNTERS: [&str; 4] = ["rerouted", "confined", "no_route", "kept"];

/// A line of key-value pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The first word (`linkfail`, `switchover6`, ...).
    pub name: String,
    /// The pairs, in the line's order.
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs as a JSON object: numbers as numbers (decimal or `0x` hexadecimal),
    /// anything else as strings.
    pub fn to_json(&self) -> Json {
        let mut o = Json::obj();
        for (k, v) in &self.fields {
            o.push(k, value_json(v));
        }
        o
    }

    /// The pairs as text: `key value key value ...`.
    pub fn pairs_text(&self) -> String {
        self.fields
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A value as JSON: a number if it reads as one.
pub fn value_json(v: &str) -> Json {
    match parse_number(v) {
        Some(n) => Json::Num(n),
        None => Json::str(v),
    }
}

/// A decimal or `0x` hexadecimal number.
pub fn parse_number(v: &str) -> Option<u64> {
    if let Some(hex) = v.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        return u64::from_str_radix(hex, 16).ok();
    }
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The domain lines, both families.
    pub domains: Vec<DomainLine>,
    /// The IPv6 domains learned from router advertisements.
    pub learned6: Vec<Learned6>,
    /// The hooks registered now (empty for `hooks -`); `None` without a hooks line.
    pub hooks: Option<Vec<String>>,
    /// Every other line.
    pub records: Vec<Record>,
}

impl Status {
    /// The record named `name`.
    pub fn record(&self, name: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.name == name)
    }

    /// The counters of a domain.
    pub fn domain(&self, family: Family, index: usize) -> Option<&DomainLine> {
        self.domains
            .iter()
            .find(|d| d.family == family && d.index == index)
    }

    /// The learned domain of prefix `prefix` (as the domain line shows it).
    pub fn learned(&self, prefix: &str) -> Option<&Learned6> {
        self.learned6.iter().find(|l| l.prefix == prefix)
    }

    /// The domains a link-failure notice marked down (bit N: domain N), from the
    /// `linkfail` / `linkfail6` line's `down` field.
    pub fn down_mask(&self, family: Family) -> u64 {
        let name = match family {
            Family::V4 => "linkfail",
            Family::V6 => "linkfail6",
        };
        self.record(name)
            .and_then(|r| r.get("down"))
            .and_then(parse_number)
            .unwrap_or(0)
    }
}

/// Parses a domain line (`ipv4 0 198.51.100.0/24 private 0 0 0 0`).
fn domain_line(words: &[&str]) -> Option<DomainLine> {
    let family = match *words.first()? {
        "ipv4" => Family::V4,
        "ipv6" => Family::V6,
        _ => return None,
    };
    if words.len() != 8 {
        return None;
    }
    let index = words[1].parse().ok()?;
    let mut counters = [0u64; 4];
    for (c, w) in counters.iter_mut().zip(&words[4..]) {
        *c = w.parse().ok()?;
    }
    Some(DomainLine {
        family,
        index,
        prefix: words[2].to_string(),
        router: words[3].to_string(),
        counters,
    })
}

/// Parses a `learned6 PREFIX ROUTER%IFNAME expires_s N` line.
fn learned6_line(words: &[&str]) -> Option<Learned6> {
    let [_, prefix, scoped, "expires_s", expires] = words else {
        return None;
    };
    let (router, ifname) = scoped.split_once('%')?;
    if !prefix.contains('/') || router.is_empty() || ifname.is_empty() {
        return None;
    }
    Some(Learned6 {
        prefix: prefix.to_string(),
        router: router.to_string(),
        ifname: ifname.to_string(),
        expires_s: expires.parse().ok()?,
    })
}

/// Parses the file's text. Malformed lines are errors; unknown ones are records.
pub fn parse(text: &str) -> Result<Status, String> {
    let mut status = Status::default();
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(&first) = words.first() else {
            continue;
        };
        if first == "family" && words.get(1) == Some(&"domain") {
            continue;
        }
        if first == "ipv4" || first == "ipv6" {
            let d = domain_line(&words)
                .ok_or_else(|| format!("line {}: bad domain line \"{line}\"", n + 1))?;
            status.domains.push(d);
            continue;
        }
        if first == "learned6" {
            let l = learned6_line(&words)
                .ok_or_else(|| format!("line {}: bad learned6 line \"{line}\"", n + 1))?;
            status.learned6.push(l);
            continue;
        }
        if first == "hooks" {
            let hooks = words[1..]
                .iter()
                .filter(|w| **w != "-")
                .map(|w| w.to_string())
                .collect();
            status.hooks = Some(hooks);
            continue;
        }
        let rest = &words[1..];
        if !rest.len().is_multiple_of(2) {
            return Err(format!(
                "line {}: \"{first}\" has a key without a value",
                n + 1
            ));
        }
        status.records.push(Record {
            name: first.to_string(),
            fields: rest
                .chunks(2)
                .map(|kv| (kv[0].to_string(), kv[1].to_string()))
                .collect(),
        });
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file as the module writes it (module of issue 21).
    pub const SAMPLE: &str = "\
family domain prefix router rerouted confined no_route kept
ipv4 0 198.51.100.0/24 198.51.100.129 12 0 1 0
ipv4 2 10.99.0.0/16 private 0 3 0 0
ipv6 0 2001:db8:1::/48 fe80::c1 4 0 0 2
ipv6 1 2001:db8:2::/64 fe80::c2 1 0 0 0
learned6 2001:db8:2::/64 fe80::c2%eth2 expires_s 1790
ra6 auto 1 learned 1 heard 4 no_room 0 dropped 0
linkfail sent 0 received 2 refused 0 ignored 0 relayed 0 uplink_failed_ns 0 resent 0 solicited 1 answered 0 repeated 0 stale 0 down 0x5
linkfail6 sent 0 received 0 refused 0 ignored 0 resent 0 solicited 0 answered 0 repeated 0 stale 0 down 0x0
netdev events 3 batches 1 flushes 1
probe sent 0 cached 0 limited 0 refused 0
switchover tracked 7 moved 2 requests 1 answers 1 switched 2 refused 0 gave_up 0 limited 0 stranded 0
switchover6 tracked 0 moved 0 requests 0 answers 0 switched 0 refused 0 gave_up 0 limited 0 stranded 0
home addr 0.0.0.0 careof 0.0.0.0 stacked 0 restored 0 refused 0 tunnelled 0 bindings 3 updates_sent 0 updates_taken 0 updates_refused 0 errors_sent 0 errors_heard 0
home6 addr :: careof :: stacked 0 restored 0 refused 0 tunnelled 0 bindings 0 updates_sent 0 updates_taken 0 updates_refused 0 errors_sent 0 errors_heard 0
hooks ip:output ip:forward ip6:output
";

    #[test]
    fn domain_lines_parse() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!(s.domains.len(), 4);
        assert_eq!(
            s.domains[0],
            DomainLine {
                family: Family::V4,
                index: 0,
                prefix: "198.51.100.0/24".into(),
                router: "198.51.100.129".into(),
                counters: [12, 0, 1, 0],
            }
        );
        assert_eq!(s.domain(Family::V4, 2).unwrap().router, "private");
        assert_eq!(s.domain(Family::V6, 0).unwrap().counters, [4, 0, 0, 2]);
        assert!(s.domain(Family::V4, 1).is_none());
    }

    #[test]
    fn linkfail_down_bits_parse() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!(s.down_mask(Family::V4), 5);
        assert_eq!(s.down_mask(Family::V6), 0);
        assert_eq!(s.record("linkfail").unwrap().get("received"), Some("2"));
    }

    #[test]
    fn switchover_home_netdev_probe_records_parse() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!(s.record("switchover").unwrap().get("tracked"), Some("7"));
        assert_eq!(s.record("switchover").unwrap().get("moved"), Some("2"));
        assert_eq!(s.record("switchover6").unwrap().get("stranded"), Some("0"));
        assert_eq!(s.record("home").unwrap().get("bindings"), Some("3"));
        assert_eq!(s.record("home6").unwrap().get("careof"), Some("::"));
        assert_eq!(s.record("netdev").unwrap().get("events"), Some("3"));
        assert_eq!(s.record("probe").unwrap().get("limited"), Some("0"));
        assert_eq!(s.record("ra6").unwrap().get("heard"), Some("4"));
        assert_eq!(s.records.len(), 9);
    }

    #[test]
    fn learned6_lines_parse() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!(
            s.learned6,
            vec![Learned6 {
                prefix: "2001:db8:2::/64".into(),
                router: "fe80::c2".into(),
                ifname: "eth2".into(),
                expires_s: 1790,
            }]
        );
        assert_eq!(s.learned("2001:db8:2::/64").unwrap().ifname, "eth2");
        assert!(s.learned("2001:db8:1::/48").is_none());
        assert!(s.record("learned6").is_none());
        // A router whose interface went away shows as `%?`.
        let s = parse("learned6 2001:db8:3::/64 fe80::1%? expires_s 0\n").unwrap();
        assert_eq!(s.learned6[0].ifname, "?");
        for bad in [
            "learned6 2001:db8:3::/64 fe80::1 expires_s 5",
            "learned6 2001:db8:3::/64 fe80::1%eth0 expires_s",
            "learned6 2001:db8:3::/64 fe80::1%eth0 expires_s x",
            "learned6 2001:db8:3:: fe80::1%eth0 expires_s 5",
            "learned6 2001:db8:3::/64 fe80::1%eth0 lifetime 5",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hooks_line_parses() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!(
            s.hooks,
            Some(vec![
                "ip:output".into(),
                "ip:forward".into(),
                "ip6:output".into()
            ])
        );
        let s = parse("hooks -\n").unwrap();
        assert_eq!(s.hooks, Some(vec![]));
        assert_eq!(parse("").unwrap().hooks, None);
    }

    #[test]
    fn records_become_json_numbers_and_strings() {
        let s = parse(SAMPLE).unwrap();
        let j = s.record("home").unwrap().to_json();
        assert_eq!(j.get("addr"), Some(&Json::str("0.0.0.0")));
        assert_eq!(j.get("bindings"), Some(&Json::Num(3)));
        let j = s.record("linkfail").unwrap().to_json();
        assert_eq!(j.get("down"), Some(&Json::Num(5)));
    }

    #[test]
    fn unknown_lines_are_kept_and_bad_ones_refused() {
        let s = parse("future a 1 b x\n").unwrap();
        assert_eq!(s.record("future").unwrap().pairs_text(), "a 1 b x");
        assert!(parse("future a\n").is_err());
        assert!(parse("ipv4 0 10.0.0.0/8 private 1 2 3\n").is_err());
        assert!(parse("ipv4 x 10.0.0.0/8 private 1 2 3 4\n").is_err());
        assert!(parse("ipv6 0 ::/0 private 1 2 3 -4\n").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x1f"), Some(31));
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number("+4"), None);
        assert_eq!(parse_number("1.2.3.4"), None);
        assert_eq!(parse_number(""), None);
    }
}

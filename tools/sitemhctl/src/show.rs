//! `sitemhctl show`: the module's state by section, as text and as JSON.

use std::fmt::Write;

use crate::error::Error;
use crate::json::Json;
use crate::status::value_json;
use crate::status::DomainLine;
use crate::status::Learned6;
use crate::status::Record;
use crate::status::Status;
use crate::status::DOMAIN_COUNTERS;
use crate::sys::Files;
use crate::table::Entry;
use crate::table::Family;
use crate::table::Router;
use crate::table::Slot;

/// A part of `show`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The domains of both families: table, source, state, counters, path attributes.
    Domains,
    /// The CE role's configuration and the link-failure notices' counters.
    Ce,
    /// Tracked and moved connections (the switchover).
    Connections,
    /// Home addresses and bindings.
    Bindings,
    /// The netfilter hooks registered now.
    Hooks,
}

impl Section {
    /// Every section, in the order `show` prints them.
    pub const ALL: [Section; 5] = [
        Section::Domains,
        Section::Ce,
        Section::Connections,
        Section::Bindings,
        Section::Hooks,
    ];

    /// The section's word on the command line and key in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Section::Domains => "domains",
            Section::Ce => "ce",
            Section::Connections => "connections",
            Section::Bindings => "bindings",
            Section::Hooks => "hooks",
        }
    }
}

/// Records shown by a section; the rest go to `other` when everything is shown.
const RA_RECORD: &str = "ra6";
const CE_RECORDS: [&str; 3] = ["linkfail", "linkfail6", "netdev"];
const CONNECTION_RECORDS: [(&str, &str); 2] = [("ipv4", "switchover"), ("ipv6", "switchover6")];
const BINDING_RECORDS: [(&str, &str); 2] = [("ipv4", "home"), ("ipv6", "home6")];

/// What a command prints: text, or one JSON document.
pub struct Output {
    /// The text form.
    pub text: String,
    /// The JSON form.
    pub json: Json,
}

/// Where a domain comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// Configured (`ip_domain_table`, `ip_domain.N`): an index below `ip_num_domains`.
    Manual,
    /// Learned from a router advertisement (an index from `ip_num_domains` on); its
    /// `learned6` line, unless the domain lapsed between the lines being written.
    Ra(Option<Learned6>),
    /// Configured, and the table is the one the DHCP exit hook applied from the lease
    /// on these interfaces (`,`-separated if several leases gave the same table).
    Dhcp(String),
}

impl Source {
    fn name(&self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Ra(_) => "ra",
            Source::Dhcp(_) => "dhcp",
        }
    }
}

/// One domain as `show` presents it.
struct Domain {
    index: usize,
    slot: Slot,
    source: Source,
    counters: Option<[u64; 4]>,
    down: bool,
    attrs: Vec<(String, Option<u64>)>,
}

/// The domains of a family: the configured ones from `ip_domain_table` (or, from a module
/// without it, the domain lines), then the learned ones (domain lines from index
/// `ip_num_domains` on, with their `learned6` lines); counters and state from
/// `/proc/net/sitemh`, path attributes from `ip_domain.N`.
fn domains(files: &Files, status: &Status, family: Family) -> Result<Vec<Domain>, Error> {
    let num_domains = files
        .knob(family, "ip_num_domains")?
        .and_then(|n| n.trim().parse::<usize>().ok());
    let (mut slots, manual) = match files.knob(family, "ip_domain_table")? {
        Some(_) => (files.table(family)?, dhcp_source(files, family)),
        None => (
            from_lines(status, family, num_domains.unwrap_or(usize::MAX)),
            Source::Manual,
        ),
    };
    let configured = num_domains.map_or(slots.len(), |n| n.max(slots.len()));
    while slots.len() < configured {
        slots.push(Slot::Unwritten);
    }
    let mut sources = vec![manual; configured];
    for line in status
        .domains
        .iter()
        .filter(|d| d.family == family && d.index >= configured)
    {
        while slots.len() < line.index {
            slots.push(Slot::Unwritten);
            sources.push(Source::Ra(None));
        }
        let learned = status.learned(&line.prefix).cloned();
        slots.push(learned_slot(line, learned.as_ref()));
        sources.push(Source::Ra(learned));
    }
    let down = status.down_mask(family);
    let mut out = Vec::new();
    for ((index, slot), source) in slots.into_iter().enumerate().zip(sources) {
        out.push(Domain {
            index,
            slot,
            source,
            counters: status.domain(family, index).map(|d| d.counters),
            down: index < 64 && down & (1 << index) != 0,
            attrs: files.path_attrs(family, index)?,
        });
    }
    Ok(out)
}

/// The source of the configured domains: `dhcp` if `ip_domain_table` reads as what a DHCP
/// lease's exit hook recorded it applied (IPv4: the hook writes only that table).
fn dhcp_source(files: &Files, family: Family) -> Source {
    if family != Family::V4 {
        return Source::Manual;
    }
    let Ok(Some(current)) = files.knob(family, "ip_domain_table") else {
        return Source::Manual;
    };
    let current = current.trim();
    let ifaces: Vec<String> = files
        .dhcp_applied()
        .into_iter()
        .filter(|(_, table)| !current.is_empty() && table.trim() == current)
        .map(|(iface, _)| iface)
        .collect();
    if ifaces.is_empty() {
        Source::Manual
    } else {
        Source::Dhcp(ifaces.join(","))
    }
}

/// A learned domain's entry: its line's prefix and router, scoped by the interface of
/// its `learned6` line.
fn learned_slot(line: &DomainLine, learned: Option<&Learned6>) -> Slot {
    let Ok(prefix) = crate::table::parse_prefix(&line.prefix) else {
        return Slot::Unwritten;
    };
    let router = match crate::table::parse_addr(&line.router) {
        Ok(addr) => Router::Via {
            addr,
            scope: learned
                .filter(|l| l.ifname != "?")
                .map(|l| l.ifname.clone()),
        },
        Err(_) => Router::Private,
    };
    Slot::Set(Entry { prefix, router })
}

/// The table as the domain lines below index `limit` show it (no `%ifname`, no unwritten
/// indexes).
fn from_lines(status: &Status, family: Family, limit: usize) -> Vec<Slot> {
    let mut slots = Vec::new();
    for line in status
        .domains
        .iter()
        .filter(|d| d.family == family && d.index < limit)
    {
        while slots.len() < line.index {
            slots.push(Slot::Unwritten);
        }
        let text = format!("{} {}", line.prefix, line.router);
        let slot = match crate::table::parse_table(&text, family) {
            Ok(mut parsed) if parsed.len() == 1 => parsed.remove(0),
            _ => Slot::Unwritten,
        };
        slots.push(slot);
    }
    slots
}

fn domain_json(d: &Domain) -> Json {
    let mut o = Json::obj();
    o.push("index", Json::Num(d.index as u64));
    match &d.slot {
        Slot::Set(Entry { prefix, router }) => {
            o.push("prefix", Json::str(prefix.to_string()));
            match router {
                Router::Private => {
                    o.push("router", Json::Null);
                    o.push("private", Json::Bool(true));
                }
                Router::Via { addr, scope } => {
                    o.push("router", Json::str(addr.to_string()));
                    o.push("private", Json::Bool(false));
                    if let Some(ifname) = scope {
                        o.push("dev", Json::str(ifname.clone()));
                    }
                }
            }
        }
        Slot::Unwritten => {
            o.push("prefix", Json::Null);
            o.push("router", Json::Null);
            o.push("private", Json::Bool(false));
        }
    }
    o.push("source", Json::str(d.source.name()));
    match &d.source {
        Source::Manual => {}
        Source::Ra(learned) => {
            let ra = match learned {
                Some(l) => {
                    let mut ra = Json::obj();
                    ra.push("router", Json::str(format!("{}%{}", l.router, l.ifname)));
                    ra.push("expires_s", Json::Num(l.expires_s));
                    ra
                }
                None => Json::Null,
            };
            o.push("ra", ra);
        }
        Source::Dhcp(ifaces) => {
            let mut dhcp = Json::obj();
            dhcp.push("interface", Json::str(ifaces.clone()));
            o.push("dhcp", dhcp);
        }
    }
    o.push("state", Json::str(state(d)));
    let mut counters = Json::obj();
    for (name, value) in DOMAIN_COUNTERS.iter().zip(d.counters.unwrap_or_default()) {
        counters.push(name, Json::Num(value));
    }
    o.push("counters", counters);
    let mut path = Json::obj();
    for (name, value) in &d.attrs {
        path.push(name, value.map_or(Json::Null, Json::Num));
    }
    o.push("path", path);
    o
}

/// `up`, `down` (a link-failure notice marked the domain's provider down), or
/// `incomplete` (no prefix yet: the domain takes no part in routing).
fn state(d: &Domain) -> &'static str {
    match (&d.slot, d.down) {
        (Slot::Unwritten, _) => "incomplete",
        (_, true) => "down",
        (_, false) => "up",
    }
}

fn domain_text(out: &mut String, d: &Domain) {
    let _ = write!(out, "  {}: ", d.index);
    match &d.slot {
        Slot::Set(Entry { prefix, router }) => {
            let _ = match router {
                Router::Private => write!(out, "{prefix} private"),
                r => write!(out, "{prefix} via {r}"),
            };
        }
        Slot::Unwritten => out.push_str("- (net_addr not written)"),
    }
    let _ = write!(out, " source {}", d.source.name());
    match &d.source {
        Source::Manual | Source::Ra(None) => {}
        Source::Ra(Some(l)) => {
            let _ = write!(
                out,
                " router {}%{} expires_s {}",
                l.router, l.ifname, l.expires_s
            );
        }
        Source::Dhcp(ifaces) => {
            let _ = write!(out, " interface {ifaces}");
        }
    }
    let _ = writeln!(out, " state {}", state(d).to_uppercase());
    let counters = d.counters.unwrap_or_default();
    out.push_str("     ");
    for (i, (name, value)) in DOMAIN_COUNTERS.iter().zip(counters).enumerate() {
        let _ = write!(out, "{}{name} {value}", if i > 0 { " " } else { "" });
    }
    out.push('\n');
    if d.attrs.iter().any(|(_, v)| v.unwrap_or(0) != 0) {
        out.push_str("     path");
        for (name, value) in &d.attrs {
            if let Some(v) = value {
                let _ = write!(out, " {name} {v}");
            }
        }
        out.push('\n');
    }
}

/// The domains of `families`, as text and JSON (`{"ipv4": [...], "ipv6": [...]}`).
pub fn domains_section(
    files: &Files,
    status: &Status,
    families: &[Family],
) -> Result<Output, Error> {
    let mut text = String::new();
    let mut json = Json::obj();
    for &family in families {
        let list = domains(files, status, family)?;
        let _ = writeln!(
            text,
            "{}: {} domain{}",
            family.name(),
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        );
        for d in &list {
            domain_text(&mut text, d);
        }
        json.push(
            family.name(),
            Json::Arr(list.iter().map(domain_json).collect()),
        );
        if family == Family::V6 {
            if let Some(r) = status.record(RA_RECORD) {
                let _ = writeln!(text, "  {} {}", r.name, r.pairs_text());
                json.push(RA_RECORD, r.to_json());
            }
        }
    }
    Ok(Output { text, json })
}

/// Knobs as JSON (strings, numbers where they read as such) and as `key value` text.
fn knobs_out(knobs: &[(String, String)]) -> (Json, String) {
    let mut json = Json::obj();
    let mut text = Vec::new();
    for (k, v) in knobs {
        json.push(k, value_json(v));
        text.push(format!(
            "{k} {}",
            if v.is_empty() { "-" } else { v.as_str() }
        ));
    }
    (json, text.join(" "))
}

fn record_line(text: &mut String, r: &Record) {
    let _ = writeln!(text, "{} {}", r.name, r.pairs_text());
}

fn ce_section(files: &Files, status: &Status) -> Result<Output, Error> {
    let knobs = files.knob_dir(Family::V4, "sitemh_ce")?;
    let uplink = knobs
        .iter()
        .find(|(k, _)| k == "uplink")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut text = String::new();
    let mut json = Json::obj();
    if uplink.is_empty() {
        text.push_str("ce: not a CE router (no uplink)\n");
        json.push("role", Json::str("none"));
    } else {
        let _ = writeln!(text, "ce: CE router, uplink {uplink}");
        json.push("role", Json::str("ce"));
    }
    let (config, config_text) = knobs_out(&knobs);
    if !knobs.is_empty() {
        let _ = writeln!(text, "  config {config_text}");
    }
    json.push("config", config);
    for name in CE_RECORDS {
        if let Some(r) = status.record(name) {
            record_line(&mut text, r);
            json.push(name, r.to_json());
        }
    }
    Ok(Output { text, json })
}

fn connections_section(files: &Files, status: &Status) -> Result<Output, Error> {
    let mut text = String::new();
    let mut json = Json::obj();
    for (family, name) in CONNECTION_RECORDS {
        if let Some(r) = status.record(name) {
            let _ = writeln!(text, "connections {family}: {}", r.pairs_text());
            json.push(family, r.to_json());
        }
    }
    let knobs = files.knob_dir(Family::V4, "sitemh_lf")?;
    let (config, config_text) = knobs_out(&knobs);
    if !knobs.is_empty() {
        let _ = writeln!(text, "  config {config_text}");
    }
    json.push("config", config);
    Ok(Output { text, json })
}

fn bindings_section(files: &Files, status: &Status) -> Result<Output, Error> {
    let mut text = String::new();
    let mut json = Json::obj();
    for (family, (fname, name)) in Family::ALL.iter().zip(BINDING_RECORDS) {
        let mut o = match status.record(name) {
            Some(r) => {
                let _ = writeln!(text, "bindings {fname}: {}", r.pairs_text());
                r.to_json()
            }
            None => Json::obj(),
        };
        let mut knobs = Vec::new();
        for knob in ["ip_home_addr", "ip_use_homeaddr"] {
            if let Some(v) = files.knob(*family, knob)? {
                knobs.push((knob.to_string(), v));
            }
        }
        knobs.extend(files.knob_dir(*family, "sitemh_home")?);
        let (config, config_text) = knobs_out(&knobs);
        if !knobs.is_empty() {
            let _ = writeln!(text, "  config {config_text}");
        }
        o.push("config", config);
        json.push(fname, o);
    }
    Ok(Output { text, json })
}

fn hooks_section(status: &Status) -> Output {
    let hooks = status.hooks.clone().unwrap_or_default();
    let text = if hooks.is_empty() {
        "hooks: -\n".to_string()
    } else {
        format!("hooks: {}\n", hooks.join(" "))
    };
    Output {
        text,
        json: Json::Arr(hooks.into_iter().map(Json::Str).collect()),
    }
}

/// Lines no section shows (`probe`, and lines of newer modules).
fn other_section(status: &Status) -> Option<Output> {
    let shown: Vec<&str> = [RA_RECORD]
        .into_iter()
        .chain(CE_RECORDS.iter().copied())
        .chain(CONNECTION_RECORDS.iter().map(|(_, n)| *n))
        .chain(BINDING_RECORDS.iter().map(|(_, n)| *n))
        .collect();
    let mut text = String::new();
    let mut json = Json::obj();
    for r in status
        .records
        .iter()
        .filter(|r| !shown.contains(&r.name.as_str()))
    {
        record_line(&mut text, r);
        json.push(&r.name, r.to_json());
    }
    if text.is_empty() {
        return None;
    }
    Some(Output { text, json })
}

/// `show [SECTION...]`: the sections asked for (all, plus `other`, when none is named).
pub fn show(files: &Files, sections: &[Section], families: &[Family]) -> Result<Output, Error> {
    let status = files.status()?;
    let all = sections.is_empty();
    let wanted: &[Section] = if all { &Section::ALL } else { sections };
    let mut text = String::new();
    let mut json = Json::obj();
    for &section in wanted {
        let part = match section {
            Section::Domains => domains_section(files, &status, families)?,
            Section::Ce => ce_section(files, &status)?,
            Section::Connections => connections_section(files, &status)?,
            Section::Bindings => bindings_section(files, &status)?,
            Section::Hooks => hooks_section(&status),
        };
        text.push_str(&part.text);
        json.push(section.name(), part.json);
    }
    if all {
        if let Some(part) = other_section(&status) {
            text.push_str(&part.text);
            json.push("other", part.json);
        }
    }
    Ok(Output { text, json })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// A tree below the temporary directory with `files` (path, text) in it.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str, files: &[(&str, &str)]) -> Tree {
            let root =
                std::env::temp_dir().join(format!("sitemhctl-show-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            for (rel, text) in files {
                let path = root.join(rel);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, text).unwrap();
            }
            Tree(root)
        }

        fn files(&self) -> Files {
            Files::new(&self.0)
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const PROC: &str = "\
ipv4 0 198.51.100.0/24 198.51.100.129 0 0 0 0
ipv4 1 10.99.0.0/16 private 0 0 0 0
ipv6 0 2001:db8:1::/48 fe80::c1 0 0 0 0
ipv6 1 2001:db8:2::/64 fe80::c2 7 0 0 0
ipv6 2 2001:db8:3::/64 fe80::c3 0 0 0 0
learned6 2001:db8:2::/64 fe80::c2%eth2 expires_s 1790
ra6 auto 1 learned 1 heard 4 no_room 2 dropped 0
";
    const TABLE4: &str = "198.51.100.0/24 198.51.100.129, 10.99.0.0/16 private\n";

    fn tree(name: &str, extra: &[(&str, &str)]) -> Tree {
        let mut files = vec![
            ("proc/net/sitemh", PROC),
            ("proc/sys/net/ipv4/ip_domain_table", TABLE4),
            ("proc/sys/net/ipv4/ip_num_domains", "2\n"),
            (
                "proc/sys/net/ipv6/ip_domain_table",
                "2001:db8:1::/48 fe80::c1%eth1\n",
            ),
            ("proc/sys/net/ipv6/ip_num_domains", "1\n"),
        ];
        files.extend_from_slice(extra);
        Tree::new(name, &files)
    }

    fn entry(slot: &Slot) -> String {
        match slot {
            Slot::Set(e) => e.to_string(),
            Slot::Unwritten => "-".into(),
        }
    }

    fn sources(files: &Files, family: Family) -> Vec<Source> {
        let status = files.status().unwrap();
        domains(files, &status, family)
            .unwrap()
            .into_iter()
            .map(|d| d.source)
            .collect()
    }

    #[test]
    fn configured_domains_are_manual() {
        let t = tree("manual", &[]);
        assert_eq!(
            sources(&t.files(), Family::V4),
            [Source::Manual, Source::Manual]
        );
    }

    #[test]
    fn domains_from_ip_num_domains_on_are_learned() {
        let t = tree("ra", &[]);
        let files = t.files();
        let status = files.status().unwrap();
        let list = domains(&files, &status, Family::V6).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].source, Source::Manual);
        let Source::Ra(Some(l)) = &list[1].source else {
            panic!("{:?}", list[1].source);
        };
        assert_eq!((l.ifname.as_str(), l.expires_s), ("eth2", 1790));
        assert_eq!(list[1].counters, Some([7, 0, 0, 0]));
        // The entry carries the interface the advertisement came in on.
        assert_eq!(entry(&list[1].slot), "2001:db8:2::/64 fe80::c2%eth2");
        // A domain line without its learned6 line (it lapsed in between) is still learned.
        assert_eq!(list[2].source, Source::Ra(None));
        assert_eq!(entry(&list[2].slot), "2001:db8:3::/64 fe80::c3");
    }

    #[test]
    fn a_table_the_dhcp_hook_applied_is_dhcp() {
        let t = tree(
            "dhcp",
            &[
                ("run/sitemh/dhcp-eth0.applied", TABLE4),
                ("run/sitemh/dhcp-eth0.saved", "\n"),
                ("run/sitemh/dhcp-eth9.applied", "192.0.2.0/24 private\n"),
            ],
        );
        assert_eq!(
            sources(&t.files(), Family::V4),
            [Source::Dhcp("eth0".into()), Source::Dhcp("eth0".into())]
        );
        // The hook writes only the IPv4 table.
        assert_eq!(sources(&t.files(), Family::V6)[0], Source::Manual);
    }

    #[test]
    fn a_table_changed_since_the_lease_is_manual() {
        let t = tree(
            "dhcp-changed",
            &[(
                "run/sitemh/dhcp-eth0.applied",
                "198.51.100.0/24 198.51.100.129\n",
            )],
        );
        assert_eq!(
            sources(&t.files(), Family::V4),
            [Source::Manual, Source::Manual]
        );
    }

    #[test]
    fn ra6_counters_show_with_the_ipv6_domains() {
        let t = tree("ra6", &[]);
        let files = t.files();
        let status = files.status().unwrap();
        let out = domains_section(&files, &status, &Family::ALL).unwrap();
        assert!(
            out.text.contains(
                "  1: 2001:db8:2::/64 via fe80::c2%eth2 source ra router fe80::c2%eth2 expires_s 1790 state UP\n"
            ),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("  ra6 auto 1 learned 1 heard 4 no_room 2 dropped 0\n"),
            "{}",
            out.text
        );
        assert_eq!(
            out.json.get("ra6").and_then(|r| r.get("no_room")),
            Some(&Json::Num(2))
        );
        let out = domains_section(&files, &status, &[Family::V4]).unwrap();
        assert!(!out.text.contains("ra6"), "{}", out.text);
        assert!(other_section(&status).is_none());
    }
}

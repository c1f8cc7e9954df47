//! `sitemhctl show`: the module's state by section, as text and as JSON.

use std::fmt::Write;

use crate::error::Error;
use crate::json::Json;
use crate::status::value_json;
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

/// One domain as `show` presents it.
struct Domain {
    index: usize,
    slot: Slot,
    counters: Option<[u64; 4]>,
    down: bool,
    attrs: Vec<(String, Option<u64>)>,
}

/// The domains of a family: the table from `ip_domain_table` (or, from a module without
/// it, the domain lines), counters and state from `/proc/net/sitemh`, path attributes
/// from `ip_domain.N`.
fn domains(files: &Files, status: &Status, family: Family) -> Result<Vec<Domain>, Error> {
    let slots = match files.knob(family, "ip_domain_table")? {
        Some(_) => files.table(family)?,
        None => from_lines(status, family),
    };
    let down = status.down_mask(family);
    let mut out = Vec::new();
    for (index, slot) in slots.into_iter().enumerate() {
        out.push(Domain {
            index,
            slot,
            counters: status.domain(family, index).map(|d| d.counters),
            down: index < 64 && down & (1 << index) != 0,
            attrs: files.path_attrs(family, index)?,
        });
    }
    Ok(out)
}

/// The table as the domain lines show it (no `%ifname`, no unwritten indexes).
fn from_lines(status: &Status, family: Family) -> Vec<Slot> {
    let mut slots = Vec::new();
    for line in status.domains.iter().filter(|d| d.family == family) {
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
    // Every domain is configured by hand today; the field is there for domains learned
    // from router advertisements or DHCP later.
    o.push("source", Json::str("manual"));
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
    let _ = writeln!(out, " source manual state {}", state(d).to_uppercase());
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
    let shown: Vec<&str> = CE_RECORDS
        .iter()
        .copied()
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

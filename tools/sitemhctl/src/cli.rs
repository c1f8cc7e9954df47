//! The command line: global options anywhere, then an object and its command, with
//! iproute2's abbreviations (`sitemhctl sh d` is `sitemhctl show domains`).

use crate::error::Error;
use crate::monitor::Monitor;
use crate::monitor::GROUP_EVENTS;
use crate::monitor::GROUP_OWN;
use crate::show::Section;
use crate::table::parse_prefix;
use crate::table::parse_router;
use crate::table::Entry;
use crate::table::Family;
use crate::table::Prefix;
use crate::table::Router;

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `help`, `-h`, `--help`.
    Help,
    /// `-V`, `--version`.
    Version,
    /// `show [SECTION...]` (none: all).
    Show(Vec<Section>),
    /// `domain add|del|set|flush|show ...`.
    Domain(DomainCmd),
    /// `pairs HOST [tos TOS]`.
    Pairs {
        /// The name or address.
        host: String,
        /// The socket's TOS / traffic class, which picks the service.
        tos: Option<u8>,
    },
    /// `monitor [events | own] [count N]`.
    Monitor(Monitor),
}

/// `sitemhctl domain ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainCmd {
    /// `domain show` (also `domain` alone).
    Show,
    /// `domain add PREFIX [via ROUTER | private]`.
    Add(Entry),
    /// `domain del PREFIX`.
    Del(Prefix),
    /// `domain set PREFIX via ROUTER | private`.
    Set(Entry),
    /// `domain flush`.
    Flush,
}

/// The options that apply to every command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-j`, `--json`: one JSON document on stdout.
    pub json: bool,
    /// `-p`, `--pretty`: indented JSON.
    pub pretty: bool,
    /// `-4` / `-6`: one family only.
    pub family: Option<Family>,
    /// `--root DIR`: look for /proc below DIR (tests; also `SITEMHCTL_ROOT`).
    pub root: Option<String>,
}

impl Options {
    /// The families a command covers.
    pub fn families(&self) -> Vec<Family> {
        match self.family {
            Some(f) => vec![f],
            None => Family::ALL.to_vec(),
        }
    }
}

/// iproute2's `matches`: `word` is a non-empty beginning of `full`.
fn matches(word: &str, full: &str) -> bool {
    !word.is_empty() && full.starts_with(word)
}

/// The first of `choices` that `word` abbreviates (the list's order breaks ties, as in
/// iproute2: `s` is `show`).
fn pick<'a>(word: &str, choices: &[&'a str]) -> Option<&'a str> {
    choices.iter().copied().find(|c| matches(word, c))
}

/// Parses the arguments after the program's name.
pub fn parse(args: &[String]) -> Result<(Options, Command), Error> {
    let mut opts = Options::default();
    let mut words = Vec::new();
    let mut trailing = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-j" | "--json" | "-json" => opts.json = true,
            "-p" | "--pretty" | "-pretty" => opts.pretty = true,
            "-4" => set_family(&mut opts, Family::V4)?,
            "-6" => set_family(&mut opts, Family::V6)?,
            "-h" | "--help" | "-help" => return Ok((opts, Command::Help)),
            "-V" | "--version" | "-Version" => return Ok((opts, Command::Version)),
            "--root" => {
                let dir = it
                    .next()
                    .ok_or_else(|| Error::Usage("option \"--root\" needs a directory".into()))?;
                opts.root = Some(dir.clone());
            }
            "-c" | "--count" => {
                let v = it
                    .next()
                    .ok_or_else(|| Error::Usage(format!("option \"{arg}\" needs a value")))?;
                // After the object's words, wherever it was given.
                trailing.push("count".to_string());
                trailing.push(v.clone());
            }
            "-t" | "--tos" => {
                let v = it
                    .next()
                    .ok_or_else(|| Error::Usage(format!("option \"{arg}\" needs a value")))?;
                words.push("tos".to_string());
                words.push(v.clone());
            }
            "--" => {
                words.extend(it.by_ref().cloned());
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(Error::Usage(format!("unknown option \"{s}\"")))
            }
            s => words.push(s.to_string()),
        }
    }
    words.extend(trailing);
    let cmd = command(&words)?;
    Ok((opts, cmd))
}

fn set_family(opts: &mut Options, family: Family) -> Result<(), Error> {
    if opts.family.is_some_and(|f| f != family) {
        return Err(Error::Usage(
            "options \"-4\" and \"-6\" exclude each other".into(),
        ));
    }
    opts.family = Some(family);
    Ok(())
}

fn command(words: &[String]) -> Result<Command, Error> {
    let Some(object) = words.first() else {
        return Ok(Command::Show(Vec::new()));
    };
    let rest = &words[1..];
    match pick(object, &["show", "domain", "pairs", "monitor", "help"]) {
        Some("show") => show(rest),
        Some("domain") => domain(rest).map(Command::Domain),
        Some("pairs") => pairs(rest),
        Some("monitor") => monitor(rest).map(Command::Monitor),
        Some("help") => Ok(Command::Help),
        _ => Err(Error::Usage(format!("object \"{object}\" is unknown"))),
    }
}

fn show(words: &[String]) -> Result<Command, Error> {
    let names: Vec<&str> = Section::ALL.iter().map(|s| s.name()).collect();
    let mut sections = Vec::new();
    for w in words {
        let name = pick(w, &names).ok_or_else(|| {
            Error::Usage(format!(
                "\"{w}\" is not a section of show ({})",
                names.join(", ")
            ))
        })?;
        let section = Section::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::Usage(format!("\"{w}\" is unknown")))?;
        if !sections.contains(&section) {
            sections.push(section);
        }
    }
    Ok(Command::Show(sections))
}

/// `PREFIX` of a domain command: a syntax error here is an invalid argument (exit 1),
/// as `ip`'s `get_prefix` has it.
fn prefix_arg(word: Option<&String>, cmd: &str) -> Result<Prefix, Error> {
    let w = word.ok_or_else(|| Error::Usage(format!("\"domain {cmd}\" needs PREFIX/LEN")))?;
    parse_prefix(w).map_err(Error::Failed)
}

/// `via ROUTER` or `private` (or nothing, with `optional`: private).
fn router_args(
    words: &[String],
    family: Family,
    cmd: &str,
    optional: bool,
) -> Result<Router, Error> {
    let usage = || {
        Error::Usage(format!(
            "\"domain {cmd}\" takes \"via ROUTER\" or \"private\" after the prefix"
        ))
    };
    match words {
        [] if optional => Ok(Router::Private),
        [w] if w == "private" => Ok(Router::Private),
        [via, r] if via == "via" => parse_router(r, family).map_err(Error::Failed),
        [via] if via == "via" => Err(Error::Usage(format!(
            "\"via\" in \"domain {cmd}\" needs a router address"
        ))),
        _ => Err(usage()),
    }
}

fn domain(words: &[String]) -> Result<DomainCmd, Error> {
    let Some(cmd) = words.first() else {
        return Ok(DomainCmd::Show);
    };
    let rest = &words[1..];
    let no_more = |n: usize, name: &str| match rest.get(n) {
        Some(extra) => Err(Error::Usage(format!(
            "unexpected \"{extra}\" in \"domain {name}\""
        ))),
        None => Ok(()),
    };
    match pick(
        cmd,
        &[
            "show", "list", "add", "del", "delete", "set", "change", "flush",
        ],
    ) {
        Some("show" | "list") => {
            no_more(0, "show")?;
            Ok(DomainCmd::Show)
        }
        Some("add") => {
            let prefix = prefix_arg(rest.first(), "add")?;
            let router = router_args(&rest[1..], prefix.family(), "add", true)?;
            Ok(DomainCmd::Add(Entry { prefix, router }))
        }
        Some("del" | "delete") => {
            let prefix = prefix_arg(rest.first(), "del")?;
            no_more(1, "del")?;
            Ok(DomainCmd::Del(prefix))
        }
        Some("set" | "change") => {
            let prefix = prefix_arg(rest.first(), "set")?;
            let router = router_args(&rest[1..], prefix.family(), "set", false)?;
            Ok(DomainCmd::Set(Entry { prefix, router }))
        }
        Some("flush") => {
            no_more(0, "flush")?;
            Ok(DomainCmd::Flush)
        }
        _ => Err(Error::Usage(format!(
            "command \"{cmd}\" of \"domain\" is unknown"
        ))),
    }
}

/// A TOS as `ip` writes one: decimal or `0x` hexadecimal, 0..255.
fn parse_tos(text: &str) -> Option<u8> {
    match text.strip_prefix("0x") {
        Some(hex) => u8::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn pairs(words: &[String]) -> Result<Command, Error> {
    let Some(host) = words.first() else {
        return Err(Error::Usage("\"pairs\" needs a HOST".into()));
    };
    let mut tos = None;
    let mut rest = words[1..].iter();
    while let Some(w) = rest.next() {
        match w.as_str() {
            "tos" => {
                let v = rest
                    .next()
                    .ok_or_else(|| Error::Usage("\"tos\" needs a value".into()))?;
                tos = Some(parse_tos(v).ok_or_else(|| {
                    Error::Usage(format!("argument \"{v}\" is wrong: a TOS is 0..255"))
                })?);
            }
            other => {
                return Err(Error::Usage(format!(
                    "unexpected \"{other}\" after \"pairs {host}\""
                )))
            }
        }
    }
    Ok(Command::Pairs {
        host: host.clone(),
        tos,
    })
}

/// `monitor [events | own] [count N]` (`--count N` / `-c N` are `count N`).
fn monitor(words: &[String]) -> Result<Monitor, Error> {
    let mut m = Monitor {
        group: None,
        count: None,
    };
    let mut rest = words.iter();
    while let Some(w) = rest.next() {
        if w == "count" {
            let v = rest
                .next()
                .ok_or_else(|| Error::Usage("\"count\" needs a number".into()))?;
            m.count = Some(v.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                Error::Usage(format!(
                    "argument \"{v}\" is wrong: count is a number of events, 1 or more"
                ))
            })?);
            continue;
        }
        match pick(w, &[GROUP_EVENTS, GROUP_OWN]) {
            Some(group) if m.group.is_none() => m.group = Some(group.to_string()),
            _ => {
                return Err(Error::Usage(format!(
                    "unexpected \"{w}\" in \"monitor\" (groups: {GROUP_EVENTS}, {GROUP_OWN})"
                )))
            }
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &str) -> Result<(Options, Command), Error> {
        let v: Vec<String> = args.split_whitespace().map(String::from).collect();
        parse(&v)
    }

    fn cmd(args: &str) -> Command {
        p(args).unwrap().1
    }

    #[test]
    fn show_sections_and_abbreviations() {
        assert_eq!(cmd(""), Command::Show(vec![]));
        assert_eq!(cmd("show"), Command::Show(vec![]));
        assert_eq!(cmd("sh d"), Command::Show(vec![Section::Domains]));
        assert_eq!(
            cmd("s hooks ce connections bindings"),
            Command::Show(vec![
                Section::Hooks,
                Section::Ce,
                Section::Connections,
                Section::Bindings
            ])
        );
        assert_eq!(p("show nonsense").unwrap_err().exit_code(), 255);
    }

    #[test]
    fn global_options_anywhere() {
        let (o, c) = p("-j domain add 2001:db8:1::/48 via fe80::1%eth1 -6 -p").unwrap();
        assert!(o.json && o.pretty);
        assert_eq!(o.family, Some(Family::V6));
        assert!(matches!(c, Command::Domain(DomainCmd::Add(_))));
        let (o, _) = p("--json --root /tmp/x show").unwrap();
        assert_eq!(o.root.as_deref(), Some("/tmp/x"));
        assert!(o.json);
        assert_eq!(p("-4 -6 show").unwrap_err().exit_code(), 255);
        assert_eq!(p("--bogus").unwrap_err().exit_code(), 255);
        assert_eq!(p("--root").unwrap_err().exit_code(), 255);
        assert_eq!(cmd("-h"), Command::Help);
        assert_eq!(cmd("help"), Command::Help);
        assert_eq!(cmd("--version"), Command::Version);
    }

    #[test]
    fn domain_commands() {
        let Command::Domain(DomainCmd::Add(e)) =
            cmd("domain add 198.51.100.0/24 via 198.51.100.129")
        else {
            panic!()
        };
        assert_eq!(e.to_string(), "198.51.100.0/24 198.51.100.129");
        let Command::Domain(DomainCmd::Add(e)) = cmd("domain add 10.99.0.0/16") else {
            panic!()
        };
        assert_eq!(e.router, Router::Private);
        let Command::Domain(DomainCmd::Set(e)) = cmd("do set 10.99.0.0/16 private") else {
            panic!()
        };
        assert_eq!(e.router, Router::Private);
        assert!(matches!(
            cmd("domain del 10.99.0.0/16"),
            Command::Domain(DomainCmd::Del(_))
        ));
        assert!(matches!(
            cmd("domain delete 10.99.0.0/16"),
            Command::Domain(DomainCmd::Del(_))
        ));
        assert_eq!(cmd("domain flush"), Command::Domain(DomainCmd::Flush));
        assert_eq!(cmd("domain"), Command::Domain(DomainCmd::Show));
        assert_eq!(cmd("domain list"), Command::Domain(DomainCmd::Show));
        assert_eq!(cmd("domain s"), Command::Domain(DomainCmd::Show));
    }

    #[test]
    fn domain_syntax_errors_exit_255_and_bad_values_1() {
        for bad in [
            "domain add",
            "domain set 10.0.0.0/8",
            "domain set 10.0.0.0/8 via",
            "domain add 10.0.0.0/8 10.0.0.1",
            "domain add 10.0.0.0/8 via 10.0.0.1 extra",
            "domain del 10.0.0.0/8 extra",
            "domain flush now",
            "domain frob",
            "frob",
        ] {
            assert_eq!(p(bad).unwrap_err().exit_code(), 255, "{bad}");
        }
        for bad in [
            "domain add 10.0.0.1/8",
            "domain add 10.0.0.0/33",
            "domain add 10.0.0.0",
            "domain add 10.0.0.0/8 via 2001:db8::1",
            "domain add 2001:db8::/32 via fe80::1",
            "domain del nonsense",
        ] {
            assert_eq!(p(bad).unwrap_err().exit_code(), 1, "{bad}");
        }
    }

    #[test]
    fn pairs_arguments() {
        assert_eq!(
            cmd("pairs 192.0.2.200"),
            Command::Pairs {
                host: "192.0.2.200".into(),
                tos: None
            }
        );
        assert_eq!(
            cmd("pairs x.example tos 0x10"),
            Command::Pairs {
                host: "x.example".into(),
                tos: Some(16)
            }
        );
        assert_eq!(
            cmd("pa x -t 184"),
            Command::Pairs {
                host: "x".into(),
                tos: Some(184)
            }
        );
        assert_eq!(p("pairs").unwrap_err().exit_code(), 255);
        assert_eq!(p("pairs x tos 256").unwrap_err().exit_code(), 255);
        assert_eq!(p("pairs x y").unwrap_err().exit_code(), 255);
    }

    #[test]
    fn monitor_arguments() {
        let m = |group: Option<&str>, count: Option<u64>| {
            Command::Monitor(Monitor {
                group: group.map(String::from),
                count,
            })
        };
        assert_eq!(cmd("monitor"), m(None, None));
        assert_eq!(cmd("mon events"), m(Some("events"), None));
        assert_eq!(cmd("m o"), m(Some("own"), None));
        assert_eq!(cmd("monitor --count 3 -j"), m(None, Some(3)));
        assert_eq!(cmd("monitor own count 1"), m(Some("own"), Some(1)));
        assert_eq!(cmd("-c 2 monitor e"), m(Some("events"), Some(2)));
        let (o, _) = p("-6 -j monitor").unwrap();
        assert!(o.json && o.family == Some(Family::V6));
        for bad in [
            "monitor all",
            "monitor events own",
            "monitor count",
            "monitor count 0",
            "monitor count x",
            "monitor --count",
        ] {
            assert_eq!(p(bad).unwrap_err().exit_code(), 255, "{bad}");
        }
    }
}

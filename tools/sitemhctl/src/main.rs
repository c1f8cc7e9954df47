//! sitemhctl: the operator's tool for the sitemh module. It reads only what the module
//! exports: `/proc/net/sitemh`, the sysctl trees `net.ipv4.*` / `net.ipv6.*`, and the
//! socket option `SITEMH_SO_PAIRS`; it changes the domain table through
//! `ip_domain_table`, one whole table per write. See `sitemhctl help` and
//! Documentation/usage.md.

#![deny(unsafe_code)]

mod cli;
mod error;
mod events;
#[expect(
    unsafe_code,
    reason = "getsockopt/setsockopt and netlink sockets, which std does not offer"
)]
mod ffi;
mod json;
mod monitor;
mod netlink;
mod pairs;
mod show;
mod status;
mod sys;
mod table;

use std::io::Write;
use std::process::ExitCode;

use cli::Command;
use cli::DomainCmd;
use cli::Options;
use error::Error;
use json::Json;
use show::Output;
use sys::Files;
use table::Edit;
use table::Entry;
use table::Family;

const HELP: &str = "\
Usage: sitemhctl [OPTIONS] OBJECT [COMMAND [ARGS]]

  sitemhctl show [domains | ce | connections | bindings | hooks]...
      the module's state (all sections when none is named): the domains of both
      families with source (manual; ra: learned from a router advertisement; dhcp:
      the table a DHCP lease applied), state UP/DOWN (DOWN: a link-failure notice
      marked the provider down) and counters, and the ra6 learning counters; the
      CE role; tracked and moved connections; home addresses and bindings; the
      netfilter hooks in place
  sitemhctl domain [show]
  sitemhctl domain add PREFIX/LEN [via ROUTER | private]
  sitemhctl domain del PREFIX/LEN
  sitemhctl domain set PREFIX/LEN { via ROUTER | private }
  sitemhctl domain flush
      edit a family's domain table (the family follows from PREFIX; flush: both, or
      the one of -4/-6). The edit is checked here (syntax, host bits, at most 16,
      no prefix twice) and the whole new table is written to
      net.ipv{4,6}.ip_domain_table in one write, which the module applies at once or
      not at all. A link-local IPv6 ROUTER needs %IFNAME. The module keeps a
      domain's path attributes (ip_domain.N.bandwidth, ...) when its index changes;
      its counters restart.
  sitemhctl pairs HOST [tos TOS]
      the address pairs the module ranks for HOST (an address, or a name through the
      system resolver), best first, with what the ranking weighed; TOS (or -t TOS)
      is the socket's TOS / traffic class, which picks the service
  sitemhctl monitor [events | own] [count N]
      the module's events as they happen, one line each (-j: one JSON object per
      line), until interrupted or N events (also --count N / -c N) were printed:
      notices sent and received, domains down and up, connections moved and failed
      back, bindings learned and expired. Group \"events\" (every event of the
      namespace) needs CAP_NET_ADMIN; \"own\" has the events of the caller's own
      sockets. Without a group: \"events\", else \"own\" with a note on stderr.
      \"# events lost\" ({\"lost\":true}) when the socket overran.

OPTIONS: -j, --json    one JSON document on stdout (monitor: one per event)
         -p, --pretty  indented JSON
         -4, -6        one family only
         -h, --help    this text;  -V, --version
Words may be abbreviated as in ip(8): \"sitemhctl sh d\".

Exit status (as ip(8)): 0 done; 1 the command failed here (an invalid prefix or
router, no such domain, a full table, the module not loaded); 2 the kernel refused it
(the write or socket option failed: EPERM without CAP_NET_ADMIN, EINVAL, ENODEV for
an unknown %IFNAME; monitor: the module is not loaded, a group cannot be joined);
255 the command line is wrong. Errors go to stderr as \"Error: ...\"; nothing is
written then.
";

/// The files to read: below `--root` or `SITEMHCTL_ROOT` (fixture trees), else `/`.
fn files(opts: &Options) -> Files {
    match opts
        .root
        .clone()
        .or_else(|| std::env::var("SITEMHCTL_ROOT").ok())
    {
        Some(root) if !root.is_empty() => Files::new(root),
        _ => Files::new("/"),
    }
}

fn family_allowed(
    opts: &Options,
    family: Family,
    prefix: &impl std::fmt::Display,
) -> Result<(), Error> {
    match opts.family {
        Some(f) if f != family => Err(Error::Failed(format!(
            "{prefix} is an {} prefix, but -{} was given",
            family.name(),
            if f == Family::V4 { 4 } else { 6 }
        ))),
        _ => Ok(()),
    }
}

/// Applies `edit` to `family`'s table: read, check, write the whole table at once. (The
/// module moves a domain's path attributes with it when its index changes.)
fn edit_table(files: &Files, family: Family, edit: &Edit) -> Result<Vec<Entry>, Error> {
    let old = files.table(family)?;
    let new = table::apply(&old, edit).map_err(Error::Failed)?;
    files.write_table(family, &table::format_table(&new))?;
    Ok(new)
}

fn table_json(entries: &[Entry]) -> Json {
    Json::Arr(
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut o = Json::obj();
                o.push("index", Json::Num(i as u64));
                o.push("prefix", Json::str(e.prefix.to_string()));
                match &e.router {
                    table::Router::Private => o.push("router", Json::Null),
                    r => o.push("router", Json::str(r.to_string())),
                }
                o
            })
            .collect(),
    )
}

fn domain_cmd(opts: &Options, files: &Files, cmd: &DomainCmd) -> Result<Output, Error> {
    let (families, edit) = match cmd {
        DomainCmd::Show => {
            let status = files.status()?;
            let out = show::domains_section(files, &status, &opts.families())?;
            return Ok(out);
        }
        DomainCmd::Add(e) => (vec![e.prefix.family()], Edit::Add(e.clone())),
        DomainCmd::Set(e) => (vec![e.prefix.family()], Edit::Set(e.clone())),
        DomainCmd::Del(p) => (vec![p.family()], Edit::Del(p.clone())),
        DomainCmd::Flush => (opts.families(), Edit::Flush),
    };
    match &edit {
        Edit::Add(e) | Edit::Set(e) => family_allowed(opts, e.prefix.family(), &e.prefix)?,
        Edit::Del(p) => family_allowed(opts, p.family(), p)?,
        Edit::Flush => {}
    }
    let mut json = Json::obj();
    for family in families {
        let new = edit_table(files, family, &edit)?;
        json.push(family.name(), table_json(&new));
    }
    // Silent on success, as ip(8) is; with -j the tables as written.
    Ok(Output {
        text: String::new(),
        json,
    })
}

fn run(opts: &Options, cmd: &Command) -> Result<Output, Error> {
    let files = files(opts);
    match cmd {
        Command::Help => Ok(Output {
            text: HELP.to_string(),
            json: Json::str(HELP),
        }),
        Command::Version => Ok(Output {
            text: format!("sitemhctl {}\n", env!("CARGO_PKG_VERSION")),
            json: {
                let mut o = Json::obj();
                o.push("version", Json::str(env!("CARGO_PKG_VERSION")));
                o
            },
        }),
        Command::Show(sections) => show::show(&files, sections, &opts.families()),
        Command::Domain(d) => domain_cmd(opts, &files, d),
        Command::Pairs { host, tos } => pairs::pairs(&files, host, *tos, &opts.families()),
        // Streams its own output (main runs it before this).
        Command::Monitor(_) => Ok(Output {
            text: String::new(),
            json: Json::Null,
        }),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = cli::parse(&args).and_then(|(opts, cmd)| match &cmd {
        Command::Monitor(m) => monitor::monitor(&opts, m).map(|()| (opts, None)),
        _ => run(&opts, &cmd).map(|out| (opts, Some(out))),
    });
    match result {
        Ok((_, None)) => ExitCode::SUCCESS,
        Ok((opts, Some(out))) => {
            let text = if opts.json {
                let mut t = out.json.render(opts.pretty);
                t.push('\n');
                t
            } else {
                out.text
            };
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`sitemhctl show | head -1`) is not an error worth a status.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::Section;

    #[test]
    fn sections_named_in_help() {
        for s in Section::ALL {
            assert!(HELP.contains(s.name()), "{}", s.name());
        }
    }
}

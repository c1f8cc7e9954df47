//! `sitemhctl monitor`: the module's events as they happen, one line (or one JSON object)
//! each. Resolves the generic netlink family "sitemh" through the controller, joins a
//! multicast group and prints what arrives until killed (or `--count` events).

use std::io;
use std::io::Write;

use crate::cli::Options;
use crate::error::Error;
use crate::events;
use crate::ffi;
use crate::json::Json;
use crate::netlink;
use crate::netlink::Reply;
use crate::table::Family;

/// `SITEMH_GENL_NAME`.
const FAMILY: &str = "sitemh";
/// `SITEMH_GENL_MCGRP_EVENTS`: every event; joining needs CAP_NET_ADMIN.
pub const GROUP_EVENTS: &str = "events";
/// `SITEMH_GENL_MCGRP_OWN`: the events of the listener's own sockets.
pub const GROUP_OWN: &str = "own";
const ENOENT: i32 = 2;
const EPERM: i32 = 1;
const ENOBUFS: i32 = 105;

/// What `monitor` listens to and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    /// The group named on the command line; `None`: "events", or "own" if that is refused.
    pub group: Option<String>,
    /// Exit after this many events (`--count N`).
    pub count: Option<u64>,
}

/// The family's name: "sitemh", or `SITEMHCTL_GENL_FAMILY` (tests: a family that does
/// not exist, or one with other groups).
fn family_name() -> String {
    match std::env::var("SITEMHCTL_GENL_FAMILY") {
        Ok(name) if !name.is_empty() => name,
        _ => FAMILY.to_string(),
    }
}

/// Asks the controller for `name`'s id and groups.
fn resolve(sock: &ffi::Netlink, name: &str) -> Result<netlink::FamilyInfo, Error> {
    const SEQ: u32 = 1;
    let what = format!("asking for the generic netlink family \"{name}\"");
    sock.send(&netlink::getfamily_request(name, SEQ))
        .map_err(|e| Error::kernel(&what, &e))?;
    let mut buf = vec![0u8; 65536];
    // Nothing else is sent to a socket that joined no group: the answer comes first.
    for _ in 0..16 {
        let n = sock.recv(&mut buf).map_err(|e| Error::kernel(&what, &e))?;
        match netlink::parse_getfamily_reply(&buf[..n], SEQ) {
            Reply::Family(info) => return Ok(info),
            Reply::Errno(ENOENT) => {
                return Err(Error::Kernel(format!(
                    "the sitemh module is not loaded (no generic netlink family \"{name}\")"
                )))
            }
            Reply::Errno(e) => return Err(Error::kernel(&what, &io::Error::from_raw_os_error(e))),
            Reply::Other => {}
        }
    }
    Err(Error::Kernel(format!("{what}: no answer")))
}

/// Joins `group` of `info`.
fn join(sock: &ffi::Netlink, info: &netlink::FamilyInfo, group: &str) -> Result<(), io::Error> {
    match info.group(group) {
        Some(id) => sock.join(id),
        // join_error says which family lacks it.
        None => Err(io::Error::from_raw_os_error(ENOENT)),
    }
}

fn join_error(name: &str, info: &netlink::FamilyInfo, group: &str, e: &io::Error) -> Error {
    if info.group(group).is_none() {
        return Error::Failed(format!(
            "the generic netlink family \"{name}\" has no group \"{group}\""
        ));
    }
    Error::kernel(&format!("joining group \"{group}\""), e)
}

/// Whether the event passes `-4` / `-6` (events without a family always do).
fn wanted(opts: &Options, ev: &events::Event) -> bool {
    match (opts.family, ev.family()) {
        (Some(Family::V4), Some(f)) => f == events::AF_INET.into(),
        (Some(Family::V6), Some(f)) => f == events::AF_INET6.into(),
        _ => true,
    }
}

/// The line printed for an event.
pub fn line(opts: &Options, ev: &events::Event, ifname: events::IfName<'_>) -> String {
    if opts.json {
        ev.json(ifname).render(false)
    } else {
        ev.text(ifname)
    }
}

/// The line printed when the socket overran (`ENOBUFS`): events were lost.
pub fn lost_line(opts: &Options) -> String {
    if opts.json {
        let mut o = Json::obj();
        o.push("lost", Json::Bool(true));
        o.render(false)
    } else {
        "# events lost".to_string()
    }
}

/// Prints a line and flushes it; `false` if stdout is gone (a closed pipe: stop quietly).
fn emit(out: &mut impl Write, line: &str) -> bool {
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// Runs the monitor until killed, stdout closes, or `count` events were printed.
pub fn monitor(opts: &Options, m: &Monitor) -> Result<(), Error> {
    let name = family_name();
    let sock = ffi::Netlink::open(netlink::NETLINK_GENERIC)
        .map_err(|e| Error::kernel("opening a generic netlink socket", &e))?;
    let info = resolve(&sock, &name)?;
    match &m.group {
        Some(group) => {
            join(&sock, &info, group).map_err(|e| join_error(&name, &info, group, &e))?
        }
        None => match join(&sock, &info, GROUP_EVENTS) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(EPERM) => {
                eprintln!(
                    "Note: group \"{GROUP_EVENTS}\" needs CAP_NET_ADMIN; listening to \"{GROUP_OWN}\" (the events of your own sockets)"
                );
                join(&sock, &info, GROUP_OWN)
                    .map_err(|e| join_error(&name, &info, GROUP_OWN, &e))?;
            }
            Err(e) => return Err(join_error(&name, &info, GROUP_EVENTS, &e)),
        },
    }
    let mut buf = vec![0u8; 65536];
    let mut out = io::stdout().lock();
    let mut seen = 0u64;
    loop {
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(ENOBUFS) => {
                if !emit(&mut out, &lost_line(opts)) {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(Error::kernel("receiving events", &e)),
        };
        for msg in netlink::messages(&buf[..n]) {
            if msg.kind != info.id {
                continue;
            }
            let ev = events::decode(msg.payload);
            if !wanted(opts, &ev) {
                continue;
            }
            if !emit(&mut out, &line(opts, &ev, &ffi::ifname)) {
                return Ok(());
            }
            seen += 1;
            if m.count.is_some_and(|c| seen >= c) {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_lines() {
        let mut opts = Options::default();
        assert_eq!(lost_line(&opts), "# events lost");
        opts.json = true;
        assert_eq!(lost_line(&opts), r#"{"lost":true}"#);
    }

    #[test]
    fn family_filter() {
        let v4 = events::decode(&[1, 1, 0, 0, 5, 0, 2, 0, events::AF_INET, 0, 0, 0]);
        let none = events::decode(&[1, 1, 0, 0]);
        let mut opts = Options::default();
        assert!(wanted(&opts, &v4) && wanted(&opts, &none));
        opts.family = Some(Family::V6);
        assert!(!wanted(&opts, &v4) && wanted(&opts, &none));
        opts.family = Some(Family::V4);
        assert!(wanted(&opts, &v4));
    }
}

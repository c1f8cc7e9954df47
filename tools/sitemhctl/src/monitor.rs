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
fn emit(out: &mut dyn Write, line: &str) -> bool {
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
    let mut out = io::stdout().lock();
    listen(
        opts,
        info.id,
        m.count,
        &mut |buf: &mut [u8]| sock.recv(buf),
        &mut out,
        &ffi::ifname,
    )
}

/// A source of datagrams (the socket's `recv`; the tests' list).
type Recv<'a> = &'a mut dyn FnMut(&mut [u8]) -> io::Result<usize>;

/// Prints the events of family `id` that `recv` delivers to `out` until `count` were
/// printed or `out` closes; a line for each overrun (`ENOBUFS`), which is not an event.
fn listen(
    opts: &Options,
    id: u16,
    count: Option<u64>,
    recv: Recv<'_>,
    out: &mut dyn Write,
    ifname: events::IfName<'_>,
) -> Result<(), Error> {
    let mut buf = vec![0u8; 65536];
    let mut seen = 0u64;
    loop {
        let n = match recv(&mut buf) {
            Ok(n) => n.min(buf.len()),
            Err(e) if e.raw_os_error() == Some(ENOBUFS) => {
                if !emit(out, &lost_line(opts)) {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(Error::kernel("receiving events", &e)),
        };
        for msg in netlink::messages(&buf[..n]) {
            if msg.kind != id {
                continue;
            }
            let ev = events::decode(msg.payload);
            if !wanted(opts, &ev) {
                continue;
            }
            if !emit(out, &line(opts, &ev, ifname)) {
                return Ok(());
            }
            seen += 1;
            if count.is_some_and(|c| seen >= c) {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::netlink::build;
    use std::collections::VecDeque;

    const ID: u16 = 0x1c;

    /// An event's attributes: `(type, payload)`.
    type Attrs<'a> = [(u16, &'a [u8])];

    /// A datagram of messages `(type, attributes)`, each an event message.
    fn datagram(msgs: &[(u16, &Attrs<'_>)]) -> Vec<u8> {
        let mut d = Vec::new();
        for (kind, attrs) in msgs {
            d.extend(netlink::genl_message(
                *kind,
                0,
                0,
                1,
                1,
                &build::attrs(attrs),
            ));
        }
        d
    }

    /// `listen` over `datagrams` (then EBADF: the end); what it printed and returned.
    fn run(
        opts: &Options,
        count: Option<u64>,
        datagrams: Vec<io::Result<Vec<u8>>>,
    ) -> (String, Result<(), Error>) {
        let mut queue: VecDeque<_> = datagrams.into();
        let mut recv = |buf: &mut [u8]| match queue.pop_front() {
            Some(Ok(d)) => {
                buf[..d.len()].copy_from_slice(&d);
                Ok(d.len())
            }
            Some(Err(e)) => Err(e),
            None => Err(io::Error::from_raw_os_error(9)),
        };
        let mut out = Vec::new();
        let r = listen(opts, ID, count, &mut recv, &mut out, &|i| {
            (i == 2).then(|| "eth0".to_string())
        });
        (String::from_utf8(out).unwrap(), r)
    }

    fn down(family: u8) -> Vec<(u16, &'static [u8])> {
        let f: &'static [u8] = if family == events::AF_INET {
            &[2]
        } else {
            &[10]
        };
        vec![(1, &[3]), (2, f), (4, &[1])]
    }

    #[test]
    fn events_of_the_family_then_a_loss_then_the_count() {
        let v4 = down(events::AF_INET);
        let v6 = down(events::AF_INET6);
        let notice: [(u16, &[u8]); 4] = [(1, &[2]), (2, &[2]), (3, &[1]), (7, &2u32.to_ne_bytes())];
        let first = datagram(&[(ID, &v4), (0x1d, &v4), (ID, &v6)]);
        let opts = Options::default();
        let (out, r) = run(
            &opts,
            Some(3),
            vec![
                Ok(first.clone()),
                Err(io::Error::from_raw_os_error(ENOBUFS)),
                Ok(datagram(&[(ID, &notice), (ID, &v4)])),
            ],
        );
        assert_eq!(r, Ok(()));
        assert_eq!(
            out,
            "domain_down ipv4 domain 1\ndomain_down ipv6 domain 1\n# events lost\nnotice_received ipv4 code 1 (CE-PE link) dev eth0\n"
        );
        // -6 -j: the IPv4 ones are skipped, the loss is an object; without a count the
        // monitor reads on until the source fails (exit 2).
        let opts = Options {
            json: true,
            family: Some(Family::V6),
            ..Options::default()
        };
        let (out, r) = run(
            &opts,
            None,
            vec![Ok(first), Err(io::Error::from_raw_os_error(ENOBUFS))],
        );
        assert_eq!(
            out,
            "{\"event\":\"domain_down\",\"family\":\"ipv6\",\"domain\":1}\n{\"lost\":true}\n"
        );
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.to_string(), "receiving events: Bad file descriptor");
    }

    #[test]
    fn garbage_datagrams_are_survived() {
        let mut cut = datagram(&[(ID, &down(events::AF_INET))]);
        cut.truncate(cut.len() - 3);
        let mut bad_attr = datagram(&[(ID, &down(events::AF_INET))]);
        bad_attr[20] = 0xff; // the first attribute's length
        let (out, r) = run(
            &Options::default(),
            Some(1),
            vec![Ok(vec![1, 2, 3]), Ok(cut), Ok(vec![]), Ok(bad_attr)],
        );
        assert_eq!(r, Ok(()));
        assert_eq!(out, "event0 truncated\n");
    }

    #[test]
    fn a_closed_stdout_ends_the_monitor_quietly() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let d = datagram(&[(ID, &down(events::AF_INET))]);
        let mut once = Some(d);
        let mut recv = |buf: &mut [u8]| match once.take() {
            Some(d) => {
                buf[..d.len()].copy_from_slice(&d);
                Ok(d.len())
            }
            None => Err(io::Error::from_raw_os_error(9)),
        };
        let r = listen(
            &Options::default(),
            ID,
            None,
            &mut recv,
            &mut Closed,
            &|_| None,
        );
        assert_eq!(r, Ok(()));
    }

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

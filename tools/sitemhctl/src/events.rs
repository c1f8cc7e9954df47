//! The module's events (include/uapi/linux/sitemh.h, "Events"), decoded from a generic
//! netlink message and shown as one line of text or one JSON object. Pure: the monitor
//! (`monitor.rs`) reads the socket, the tests hand-build the bytes.
//!
//! The text of an event is its name, its family, then what it carries in a fixed order:
//!
//! ```text
//! notice_sent ipv4 code 1 (CE-PE link) gateway 192.0.2.2 dev lan0
//! notice_received ipv4 code 1 (CE-PE link) router 198.51.100.1 gateway 192.0.2.2 dev h0
//! domain_down ipv4 domain 0
//! conn_moved ipv4 tcp 198.51.100.140:40000 -> 192.0.2.10:4433 from 198.51.100.140->192.0.2.10 to 203.0.113.140->192.0.2.10 uid 1000
//! binding_learned ipv6 home 2001:db8:9::5 careof 2001:db8:2::5
//! domain_learned ipv6 prefix 2001:db8:1::/48 router fe80::1 dev h0
//! ```
//!
//! (IPv6 tuples as `[2001:db8::10]:40000`.)
//! An attribute this version does not know, or one of the wrong size, is shown as
//! `attrN 0x<hex>` / `NAME 0x<hex>` after the others; an unknown event as `eventN`;
//! a message cut short ends with `truncated`.

use std::net::IpAddr;
use std::net::Ipv4Addr;
use std::net::Ipv6Addr;
use std::net::SocketAddr;

use crate::json::Json;
use crate::netlink;

/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_INET6`.
pub const AF_INET6: u8 = 10;

/// `enum sitemh_event_type`, by value.
const EVENTS: [&str; 11] = [
    "",
    "notice_sent",
    "notice_received",
    "domain_down",
    "domain_up",
    "conn_moved",
    "conn_failed_back",
    "binding_learned",
    "binding_expired",
    "domain_learned",
    "domain_expired",
];

/// How an attribute's payload reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    U8,
    U16,
    U32,
    Addr,
}

// enum sitemh_attr.
const A_EVENT: u16 = 1;
const A_FAMILY: u16 = 2;
const A_CODE: u16 = 3;
const A_DOMAIN: u16 = 4;
const A_ROUTER: u16 = 5;
const A_GATEWAY: u16 = 6;
const A_IFINDEX: u16 = 7;
const A_PROTO: u16 = 8;
const A_LADDR: u16 = 9;
const A_LPORT: u16 = 10;
const A_FADDR: u16 = 11;
const A_FPORT: u16 = 12;
const A_OLD_SADDR: u16 = 13;
const A_OLD_DADDR: u16 = 14;
const A_NEW_SADDR: u16 = 15;
const A_NEW_DADDR: u16 = 16;
const A_UID: u16 = 17;
const A_HOME: u16 = 18;
const A_CAREOF: u16 = 19;
const A_PREFIX: u16 = 20;
const A_PREFIX_LEN: u16 = 21;

/// `enum sitemh_attr`: each attribute's name (as the JSON key) and type, by value.
const ATTRS: [(&str, Type); 22] = [
    ("attr0", Type::U8),
    ("event", Type::U8),
    ("family", Type::U8),
    ("code", Type::U8),
    ("domain", Type::U8),
    ("router", Type::Addr),
    ("gateway", Type::Addr),
    ("ifindex", Type::U32),
    ("proto", Type::U8),
    ("laddr", Type::Addr),
    ("lport", Type::U16),
    ("faddr", Type::Addr),
    ("fport", Type::U16),
    ("old_saddr", Type::Addr),
    ("old_daddr", Type::Addr),
    ("new_saddr", Type::Addr),
    ("new_daddr", Type::Addr),
    ("uid", Type::U32),
    ("home", Type::Addr),
    ("careof", Type::Addr),
    ("prefix", Type::Addr),
    ("prefix_len", Type::U8),
];

/// An attribute's value, as its type reads it; `Raw` if its size is not the type's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A number (u8, u16 or u32).
    Num(u32),
    /// An address (4 or 16 octets).
    Addr(IpAddr),
    /// Octets of an unknown attribute, or of the wrong size.
    Raw(Vec<u8>),
}

/// One event: its attributes in the order they came (the last of a type counts, as the
/// kernel's `nla_parse` has it), and whether the message was cut short.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// `(attribute type, value)`.
    pub attrs: Vec<(u16, Value)>,
    /// The attributes ended in the middle of one.
    pub truncated: bool,
}

fn value(kind: u16, payload: &[u8]) -> Value {
    let ty = ATTRS.get(kind as usize).map(|a| a.1);
    match (ty, payload.len()) {
        (Some(Type::U8), 1) => Value::Num(payload[0].into()),
        (Some(Type::U16), 2) => Value::Num(u16::from_ne_bytes([payload[0], payload[1]]).into()),
        (Some(Type::U32), 4) => Value::Num(u32::from_ne_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ])),
        (Some(Type::Addr), 4) => {
            let o: [u8; 4] = payload.try_into().unwrap_or_default();
            Value::Addr(IpAddr::V4(Ipv4Addr::from(o)))
        }
        (Some(Type::Addr), 16) => {
            let o: [u8; 16] = payload.try_into().unwrap_or_default();
            Value::Addr(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => Value::Raw(payload.to_vec()),
    }
}

/// Decodes the payload of a message of the family (after `struct nlmsghdr`: the generic
/// netlink header, then the attributes). Never fails: what cannot be read is `Raw` or
/// `truncated`.
pub fn decode(payload: &[u8]) -> Event {
    let Some(body) = payload.get(netlink::GENL_HDRLEN..) else {
        return Event {
            attrs: Vec::new(),
            truncated: true,
        };
    };
    let (list, truncated) = netlink::attrs(body);
    Event {
        attrs: list
            .into_iter()
            .map(|a| (a.kind, value(a.kind, a.payload)))
            .collect(),
        truncated,
    }
}

/// What the names of interfaces are (`if_indextoname`), for `dev NAME`.
pub type IfName<'a> = &'a dyn Fn(u32) -> Option<String>;

/// The text of a notice's ICMP code (include/uapi/linux/sitemh.h).
pub fn code_name(code: u32) -> Option<&'static str> {
    Some(match code {
        1 => "CE-PE link",
        2 => "CE failure",
        3 => "set alternate route",
        4 => "alternate route established",
        5 => "link restored",
        6 => "keepalive",
        _ => return None,
    })
}

fn proto_name(proto: u32) -> String {
    match proto {
        6 => "tcp".into(),
        17 => "udp".into(),
        n => n.to_string(),
    }
}

fn family_name(family: u32) -> Option<&'static str> {
    match family as u8 {
        _ if family > 255 => None,
        AF_INET => Some("ipv4"),
        AF_INET6 => Some("ipv6"),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::from("0x");
    for o in b {
        s.push_str(&format!("{o:02x}"));
    }
    s
}

fn attr_name(kind: u16) -> String {
    match ATTRS.get(kind as usize) {
        Some((name, _)) if kind != 0 => name.to_string(),
        _ => format!("attr{kind}"),
    }
}

/// A walk over an event's attributes that marks what it has shown.
struct Walk<'a> {
    event: &'a Event,
    used: Vec<bool>,
}

impl<'a> Walk<'a> {
    fn new(event: &'a Event) -> Self {
        Walk {
            event,
            used: vec![false; event.attrs.len()],
        }
    }

    /// The position of the last attribute of `kind`.
    fn find(&self, kind: u16) -> Option<usize> {
        self.event.attrs.iter().rposition(|(k, _)| *k == kind)
    }

    /// Marks every attribute of `kind` shown.
    fn take(&mut self, kind: u16) {
        for (i, (k, _)) in self.event.attrs.iter().enumerate() {
            if *k == kind {
                self.used[i] = true;
            }
        }
    }

    fn num(&self, kind: u16) -> Option<u32> {
        match &self.event.attrs[self.find(kind)?].1 {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    fn addr(&self, kind: u16) -> Option<IpAddr> {
        match &self.event.attrs[self.find(kind)?].1 {
            Value::Addr(a) => Some(*a),
            _ => None,
        }
    }

    /// Both addresses of a pair, taken if both are there.
    fn pair(&mut self, a: u16, b: u16) -> Option<(IpAddr, IpAddr)> {
        let pair = (self.addr(a)?, self.addr(b)?);
        self.take(a);
        self.take(b);
        Some(pair)
    }

    /// The connection's tuple, taken if it is all there.
    fn tuple(&mut self) -> Option<(u32, SocketAddr, SocketAddr)> {
        let proto = self.num(A_PROTO)?;
        let local = SocketAddr::new(self.addr(A_LADDR)?, u16::try_from(self.num(A_LPORT)?).ok()?);
        let peer = SocketAddr::new(self.addr(A_FADDR)?, u16::try_from(self.num(A_FPORT)?).ok()?);
        for k in [A_PROTO, A_LADDR, A_LPORT, A_FADDR, A_FPORT] {
            self.take(k);
        }
        Some((proto, local, peer))
    }

    /// The attributes not shown yet, in their order.
    fn rest(&self) -> Vec<(u16, &'a Value)> {
        self.event
            .attrs
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|((k, v), _)| (*k, v))
            .collect()
    }
}

/// The attributes that are shown by name and value alone, in the order they are shown
/// (after the domain, prefix, tuple and pairs).
const PLAIN: [u16; 5] = [A_CODE, A_ROUTER, A_GATEWAY, A_HOME, A_CAREOF];

impl Event {
    /// `SITEMH_A_EVENT`, 0 if absent.
    pub fn kind(&self) -> u32 {
        Walk::new(self).num(A_EVENT).unwrap_or(0)
    }

    /// The event's name: `notice_sent`, ..., `eventN` for a kind this version does not
    /// know.
    pub fn name(&self) -> String {
        let kind = self.kind();
        match EVENTS.get(kind as usize) {
            Some(name) if kind != 0 => name.to_string(),
            _ => format!("event{kind}"),
        }
    }

    /// `SITEMH_A_FAMILY`, if the event has one.
    pub fn family(&self) -> Option<u32> {
        Walk::new(self).num(A_FAMILY)
    }

    /// One line of text (without the newline).
    pub fn text(&self, ifname: IfName<'_>) -> String {
        let mut w = Walk::new(self);
        let mut out = vec![self.name()];
        w.take(A_EVENT);
        if let Some(f) = self.family().and_then(family_name) {
            out.push(f.to_string());
            w.take(A_FAMILY);
        }
        if let Some(d) = w.num(A_DOMAIN) {
            out.push(format!("domain {d}"));
            w.take(A_DOMAIN);
        }
        if let (Some(p), Some(len)) = (w.addr(A_PREFIX), w.num(A_PREFIX_LEN)) {
            out.push(format!("prefix {p}/{len}"));
            w.take(A_PREFIX);
            w.take(A_PREFIX_LEN);
        }
        if let Some((proto, local, peer)) = w.tuple() {
            out.push(format!("{} {local} -> {peer}", proto_name(proto)));
        }
        if let Some((s, d)) = w.pair(A_OLD_SADDR, A_OLD_DADDR) {
            out.push(format!("from {s}->{d}"));
        }
        if let Some((s, d)) = w.pair(A_NEW_SADDR, A_NEW_DADDR) {
            out.push(format!("to {s}->{d}"));
        }
        for kind in PLAIN {
            if w.find(kind).is_none() {
                continue;
            }
            match (kind, w.num(kind), w.addr(kind)) {
                (A_CODE, Some(c), _) => match code_name(c) {
                    Some(name) => out.push(format!("code {c} ({name})")),
                    None => out.push(format!("code {c}")),
                },
                (_, _, Some(a)) => out.push(format!("{} {a}", attr_name(kind))),
                _ => continue,
            }
            w.take(kind);
        }
        if let Some(i) = w.num(A_IFINDEX) {
            match ifname(i) {
                Some(name) => out.push(format!("dev {name}")),
                None => out.push(format!("ifindex {i}")),
            }
            w.take(A_IFINDEX);
        }
        if let Some(uid) = w.num(A_UID) {
            out.push(format!("uid {uid}"));
            w.take(A_UID);
        }
        for (kind, v) in w.rest() {
            let shown = match (kind, v) {
                (A_PROTO, Value::Num(p)) => proto_name(*p),
                (_, Value::Num(n)) => n.to_string(),
                (_, Value::Addr(a)) => a.to_string(),
                (_, Value::Raw(b)) => hex(b),
            };
            out.push(format!("{} {shown}", attr_name(kind)));
        }
        if self.truncated {
            out.push("truncated".into());
        }
        out.join(" ")
    }

    /// One JSON object: `event`, `family` (`ipv4`, `ipv6`), then each attribute by its
    /// name (numbers as numbers, addresses as text, `proto` as `tcp` / `udp`, `code` with
    /// `code_name`, `ifindex` with `dev`), octets that cannot be read as `"0x..."`
    /// strings, and `truncated: true` for a message cut short.
    pub fn json(&self, ifname: IfName<'_>) -> Json {
        let mut o = Json::obj();
        o.push("event", Json::str(self.name()));
        let mut w = Walk::new(self);
        w.take(A_EVENT);
        if let Some(f) = self.family() {
            match family_name(f) {
                Some(name) => o.push("family", Json::str(name)),
                None => o.push("family", Json::Num(f.into())),
            }
            w.take(A_FAMILY);
        }
        // The same order as the text: by what is shown, not by what came first.
        let order = [
            A_DOMAIN,
            A_PREFIX,
            A_PREFIX_LEN,
            A_PROTO,
            A_LADDR,
            A_LPORT,
            A_FADDR,
            A_FPORT,
            A_OLD_SADDR,
            A_OLD_DADDR,
            A_NEW_SADDR,
            A_NEW_DADDR,
            A_CODE,
            A_ROUTER,
            A_GATEWAY,
            A_HOME,
            A_CAREOF,
            A_IFINDEX,
            A_UID,
        ];
        let mut pos: Vec<(usize, usize)> = self
            .attrs
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| *k != A_EVENT && *k != A_FAMILY)
            // The last of a type only: one key per name.
            .filter(|(i, (k, _))| w.find(*k) == Some(*i))
            .map(|(i, (k, _))| (order.iter().position(|o| o == k).unwrap_or(order.len()), i))
            .collect();
        pos.sort();
        for (_, i) in pos {
            let (kind, v) = &self.attrs[i];
            let name = attr_name(*kind);
            match (*kind, v) {
                (A_PROTO, Value::Num(p)) if *p == 6 || *p == 17 => {
                    o.push(&name, Json::str(proto_name(*p)))
                }
                (A_CODE, Value::Num(c)) => {
                    o.push(&name, Json::Num((*c).into()));
                    if let Some(text) = code_name(*c) {
                        o.push("code_name", Json::str(text));
                    }
                }
                (A_IFINDEX, Value::Num(i)) => {
                    o.push(&name, Json::Num((*i).into()));
                    if let Some(dev) = ifname(*i) {
                        o.push("dev", Json::str(dev));
                    }
                }
                (_, Value::Num(n)) => o.push(&name, Json::Num((*n).into())),
                (_, Value::Addr(a)) => o.push(&name, Json::str(a.to_string())),
                (_, Value::Raw(b)) => o.push(&name, Json::str(hex(b))),
            }
        }
        if self.truncated {
            o.push("truncated", Json::Bool(true));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::build;

    /// `SITEMH_CMD_EVENT`.
    const CMD_EVENT: u8 = 1;

    fn no_names(_: u32) -> Option<String> {
        None
    }

    fn names(i: u32) -> Option<String> {
        (i == 3).then(|| "h0".to_string())
    }

    /// The payload of an event message (what follows `struct nlmsghdr`).
    fn payload(list: &[(u16, &[u8])]) -> Vec<u8> {
        let mut p = vec![CMD_EVENT, 1, 0, 0];
        p.extend(build::attrs(list));
        p
    }

    fn v4(a: &str) -> Vec<u8> {
        a.parse::<Ipv4Addr>().unwrap().octets().to_vec()
    }

    fn v6(a: &str) -> Vec<u8> {
        a.parse::<Ipv6Addr>().unwrap().octets().to_vec()
    }

    fn text(list: &[(u16, &[u8])]) -> String {
        decode(&payload(list)).text(&names)
    }

    fn json(list: &[(u16, &[u8])]) -> String {
        decode(&payload(list)).json(&names).render(false)
    }

    #[test]
    fn notices() {
        let sent = [
            (A_EVENT, &[1u8][..]),
            (A_FAMILY, &[AF_INET]),
            (A_CODE, &[1]),
            (A_GATEWAY, &v4("192.0.2.2")),
            (A_IFINDEX, &3u32.to_ne_bytes()),
        ];
        assert_eq!(
            text(&sent),
            "notice_sent ipv4 code 1 (CE-PE link) gateway 192.0.2.2 dev h0"
        );
        assert_eq!(
            json(&sent),
            r#"{"event":"notice_sent","family":"ipv4","code":1,"code_name":"CE-PE link","gateway":"192.0.2.2","ifindex":3,"dev":"h0"}"#
        );
        let heard = [
            (A_EVENT, &[2u8][..]),
            (A_FAMILY, &[AF_INET]),
            (A_CODE, &[5]),
            (A_ROUTER, &v4("198.51.100.129")),
            (A_GATEWAY, &v4("192.0.2.2")),
            (A_IFINDEX, &4u32.to_ne_bytes()),
        ];
        assert_eq!(
            text(&heard),
            "notice_received ipv4 code 5 (link restored) router 198.51.100.129 gateway 192.0.2.2 ifindex 4"
        );
        assert_eq!(
            json(&heard),
            r#"{"event":"notice_received","family":"ipv4","code":5,"code_name":"link restored","router":"198.51.100.129","gateway":"192.0.2.2","ifindex":4}"#
        );
        // An IPv6 notice, a code without a name.
        let heard6 = [
            (A_EVENT, &[2u8][..]),
            (A_FAMILY, &[AF_INET6]),
            (A_CODE, &[9]),
            (A_ROUTER, &v6("fe80::c1")),
            (A_GATEWAY, &v6("2001:db8:ffff::2")),
        ];
        assert_eq!(
            text(&heard6),
            "notice_received ipv6 code 9 router fe80::c1 gateway 2001:db8:ffff::2"
        );
    }

    #[test]
    fn domains_down_and_up() {
        let down = [
            (A_EVENT, &[3u8][..]),
            (A_FAMILY, &[AF_INET]),
            (A_DOMAIN, &[0]),
        ];
        assert_eq!(text(&down), "domain_down ipv4 domain 0");
        assert_eq!(
            json(&down),
            r#"{"event":"domain_down","family":"ipv4","domain":0}"#
        );
        let up = [
            (A_EVENT, &[4u8][..]),
            (A_FAMILY, &[AF_INET6]),
            (A_DOMAIN, &[15]),
        ];
        assert_eq!(text(&up), "domain_up ipv6 domain 15");
        assert_eq!(
            json(&up),
            r#"{"event":"domain_up","family":"ipv6","domain":15}"#
        );
    }

    fn conn(kind: u8, family: u8, addrs: [&[u8]; 6]) -> Vec<u8> {
        payload(&[
            (A_EVENT, &[kind]),
            (A_FAMILY, &[family]),
            (A_PROTO, &[6]),
            (A_LPORT, &40000u16.to_ne_bytes()),
            (A_FPORT, &4433u16.to_ne_bytes()),
            (A_UID, &1000u32.to_ne_bytes()),
            (A_LADDR, addrs[0]),
            (A_FADDR, addrs[1]),
            (A_OLD_SADDR, addrs[2]),
            (A_OLD_DADDR, addrs[3]),
            (A_NEW_SADDR, addrs[4]),
            (A_NEW_DADDR, addrs[5]),
        ])
    }

    #[test]
    fn connections_moved_and_failed_back() {
        let (h1, x, h2) = (v4("198.51.100.140"), v4("192.0.2.10"), v4("203.0.113.140"));
        let moved = decode(&conn(5, AF_INET, [&h1, &x, &h1, &x, &h2, &x]));
        assert_eq!(
            moved.text(&no_names),
            "conn_moved ipv4 tcp 198.51.100.140:40000 -> 192.0.2.10:4433 from 198.51.100.140->192.0.2.10 to 203.0.113.140->192.0.2.10 uid 1000"
        );
        assert_eq!(
            moved.json(&no_names).render(false),
            r#"{"event":"conn_moved","family":"ipv4","proto":"tcp","laddr":"198.51.100.140","lport":40000,"faddr":"192.0.2.10","fport":4433,"old_saddr":"198.51.100.140","old_daddr":"192.0.2.10","new_saddr":"203.0.113.140","new_daddr":"192.0.2.10","uid":1000}"#
        );
        let (a, b, c) = (
            v6("2001:db8:1::10"),
            v6("2001:db8:ff::1"),
            v6("2001:db8:2::10"),
        );
        let back = decode(&conn(6, AF_INET6, [&a, &b, &c, &b, &a, &b]));
        assert_eq!(
            back.text(&no_names),
            "conn_failed_back ipv6 tcp [2001:db8:1::10]:40000 -> [2001:db8:ff::1]:4433 from 2001:db8:2::10->2001:db8:ff::1 to 2001:db8:1::10->2001:db8:ff::1 uid 1000"
        );
        let j = back.json(&no_names);
        assert_eq!(j.get("laddr"), Some(&Json::str("2001:db8:1::10")));
        assert_eq!(j.get("new_daddr"), Some(&Json::str("2001:db8:ff::1")));
        assert_eq!(back.family(), Some(AF_INET6.into()));
    }

    #[test]
    fn bindings_and_learned_domains() {
        let learned = [
            (A_EVENT, &[7u8][..]),
            (A_FAMILY, &[AF_INET6]),
            (A_HOME, &v6("2001:db8:9::5")),
            (A_CAREOF, &v6("2001:db8:2::5")),
        ];
        assert_eq!(
            text(&learned),
            "binding_learned ipv6 home 2001:db8:9::5 careof 2001:db8:2::5"
        );
        let expired = [
            (A_EVENT, &[8u8][..]),
            (A_FAMILY, &[AF_INET]),
            (A_CAREOF, &v4("198.51.100.10")),
            (A_HOME, &v4("192.0.2.77")),
        ];
        assert_eq!(
            text(&expired),
            "binding_expired ipv4 home 192.0.2.77 careof 198.51.100.10"
        );
        assert_eq!(
            json(&expired),
            r#"{"event":"binding_expired","family":"ipv4","home":"192.0.2.77","careof":"198.51.100.10"}"#
        );
        for (kind, name) in [(9u8, "domain_learned"), (10, "domain_expired")] {
            let d = [
                (A_EVENT, &[kind][..]),
                (A_FAMILY, &[AF_INET6]),
                (A_PREFIX, &v6("2001:db8:1::")),
                (A_PREFIX_LEN, &[48]),
                (A_ROUTER, &v6("fe80::1")),
                (A_IFINDEX, &3u32.to_ne_bytes()),
            ];
            assert_eq!(
                text(&d),
                format!("{name} ipv6 prefix 2001:db8:1::/48 router fe80::1 dev h0")
            );
            assert_eq!(
                json(&d),
                format!(
                    r#"{{"event":"{name}","family":"ipv6","prefix":"2001:db8:1::","prefix_len":48,"router":"fe80::1","ifindex":3,"dev":"h0"}}"#
                )
            );
        }
    }

    #[test]
    fn unknown_events_and_attributes_show_generically() {
        let odd = [
            (A_EVENT, &[42u8][..]),
            (A_FAMILY, &[7]),
            (30, &[1, 2, 3]),
            (A_DOMAIN, &[1]),
            (0, &[]),
        ];
        assert_eq!(
            text(&odd),
            "event42 domain 1 family 7 attr30 0x010203 attr0 0x"
        );
        assert_eq!(
            json(&odd),
            r#"{"event":"event42","family":7,"domain":1,"attr30":"0x010203","attr0":"0x"}"#
        );
        // No event attribute at all; an empty message.
        assert_eq!(text(&[(A_DOMAIN, &[2])]), "event0 domain 2");
        assert_eq!(text(&[]), "event0");
        assert_eq!(json(&[]), r#"{"event":"event0"}"#);
    }

    #[test]
    fn wrong_sizes_are_raw_and_partial_groups_plain() {
        // An IPv4 address of 5 octets, a port of 1, a u32 of 2: raw. The tuple lacks a
        // port, so its parts show one by one.
        let odd = [
            (A_EVENT, &[5u8][..]),
            (A_FAMILY, &[AF_INET]),
            (A_PROTO, &[17]),
            (A_LADDR, &[1, 2, 3, 4, 5]),
            (A_LPORT, &[9]),
            (A_FADDR, &v4("192.0.2.10")),
            (A_UID, &[1, 0]),
            (A_OLD_SADDR, &v4("192.0.2.1")),
            (A_CODE, &[1, 2]),
        ];
        assert_eq!(
            text(&odd),
            "conn_moved ipv4 proto udp laddr 0x0102030405 lport 0x09 faddr 192.0.2.10 uid 0x0100 old_saddr 192.0.2.1 code 0x0102"
        );
        assert_eq!(
            json(&odd),
            r#"{"event":"conn_moved","family":"ipv4","proto":"udp","laddr":"0x0102030405","lport":"0x09","faddr":"192.0.2.10","old_saddr":"192.0.2.1","code":"0x0102","uid":"0x0100"}"#
        );
    }

    #[test]
    fn truncated_and_garbage_messages() {
        let mut p = payload(&[(A_EVENT, &[3u8][..]), (A_DOMAIN, &[4])]);
        // The domain's attribute claims 12 octets.
        let at = p.len() - 8;
        p[at] = 12;
        let e = decode(&p);
        assert!(e.truncated);
        assert_eq!(e.text(&no_names), "domain_down truncated");
        assert_eq!(
            e.json(&no_names).render(false),
            r#"{"event":"domain_down","truncated":true}"#
        );
        // Shorter than the generic netlink header; stray octets; random bytes never panic.
        assert_eq!(decode(&[1, 1]).text(&no_names), "event0 truncated");
        assert_eq!(
            decode(&[1, 1, 0, 0, 5, 0]).text(&no_names),
            "event0 truncated"
        );
        let mut seed = 0x2545f491u32;
        for n in 0..2000 {
            let len = n % 64;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    // Small lengths and types, so that attributes parse often.
                    (seed % if n % 2 == 0 { 24 } else { 256 }) as u8
                })
                .collect();
            let e = decode(&bytes);
            let _ = e.text(&names);
            let _ = e.json(&names).render(false);
        }
    }

    #[test]
    fn the_last_of_a_type_counts() {
        let twice = [(A_EVENT, &[3u8][..]), (A_DOMAIN, &[1]), (A_DOMAIN, &[2])];
        assert_eq!(text(&twice), "domain_down domain 2");
        assert_eq!(json(&twice), r#"{"event":"domain_down","domain":2}"#);
    }
}

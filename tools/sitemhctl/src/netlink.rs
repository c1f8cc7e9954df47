//! Netlink messages as bytes, without a socket: splitting a datagram into messages and a
//! message's payload into attributes, and the generic netlink controller's exchange that
//! names a family's id and multicast groups (`CTRL_CMD_GETFAMILY`). Pure, so that the
//! unit tests feed it hand-built bytes; the socket is in `ffi.rs`.
//!
//! Everything is in host byte order, as netlink is (`struct nlmsghdr`, `struct nlattr`).

/// `NETLINK_GENERIC`.
pub const NETLINK_GENERIC: i32 = 16;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
#[cfg(test)]
const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`.
const NLM_F_REQUEST: u16 = 1;
/// `GENL_ID_CTRL`: the controller's own family id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_GETFAMILY`.
const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `CTRL_ATTR_VERSION` (u32).
const CTRL_ATTR_VERSION: u16 = 3;
/// `CTRL_ATTR_MCAST_GROUPS` (nested: one nest per group).
const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
/// `CTRL_ATTR_MCAST_GRP_NAME` (string).
const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
/// `CTRL_ATTR_MCAST_GRP_ID` (u32).
const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;
/// `NLA_TYPE_MASK`: an attribute's type without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct genlmsghdr)`.
pub const GENL_HDRLEN: usize = 4;

/// Rounds up to netlink's alignment (`NLMSG_ALIGN`, `NLA_ALIGN`: 4).
fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// One netlink message of a datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// `nlmsg_type`: `NLMSG_ERROR`, `NLMSG_DONE`, or a family's id.
    pub kind: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// What follows the header, up to `nlmsg_len`.
    pub payload: &'a [u8],
}

/// The messages of a datagram. A header that claims more than the datagram holds (or less
/// than itself) ends the walk: the rest is not trustworthy.
pub fn messages(mut data: &[u8]) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let (Some(len), Some(kind), Some(seq)) =
            (u32_at(data, 0), u16_at(data, 4), u32_at(data, 8))
        else {
            break;
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        out.push(Message {
            kind,
            seq,
            payload: &data[NLMSG_HDRLEN..len],
        });
        data = data.get(align(len)..).unwrap_or(&[]);
    }
    out
}

/// One attribute: its type (flags masked off) and its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    /// `nla_type & NLA_TYPE_MASK`.
    pub kind: u16,
    /// The octets after the attribute's header, `nla_len - 4` of them.
    pub payload: &'a [u8],
}

/// The attributes of a payload, and whether it ended in the middle of one (a length that
/// runs past the end or is shorter than the header, or stray octets).
pub fn attrs(mut data: &[u8]) -> (Vec<Attr<'_>>, bool) {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (Some(len), Some(kind)) = (u16_at(data, 0), u16_at(data, 2)) else {
            return (out, true);
        };
        let len = len as usize;
        if len < 4 || len > data.len() {
            return (out, true);
        }
        out.push(Attr {
            kind: kind & NLA_TYPE_MASK,
            payload: &data[4..len],
        });
        data = data.get(align(len)..).unwrap_or(&[]);
    }
    (out, false)
}

/// Appends an attribute (padded to 4 octets) to `out`.
fn put_attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(align(out.len()), 0);
}

/// A whole message: header, generic netlink header (`cmd`, `version`), `body`.
pub fn genl_message(kind: u16, flags: u16, seq: u32, cmd: u8, version: u8, body: &[u8]) -> Vec<u8> {
    let len = NLMSG_HDRLEN + GENL_HDRLEN + body.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel
    out.extend_from_slice(&[cmd, version, 0, 0]);
    out.extend_from_slice(body);
    out
}

/// The request for `name`'s id and groups.
pub fn getfamily_request(name: &str, seq: u32) -> Vec<u8> {
    let mut body = Vec::new();
    let mut cname = name.as_bytes().to_vec();
    cname.push(0);
    put_attr(&mut body, CTRL_ATTR_FAMILY_NAME, &cname);
    genl_message(
        GENL_ID_CTRL,
        NLM_F_REQUEST,
        seq,
        CTRL_CMD_GETFAMILY,
        1,
        &body,
    )
}

/// A generic netlink family as the controller describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FamilyInfo {
    /// Its id: the `nlmsg_type` of its messages.
    pub id: u16,
    /// Its version (`CTRL_ATTR_VERSION`), 0 if not said.
    pub version: u32,
    /// Its multicast groups: name and id.
    pub groups: Vec<(String, u32)>,
}

impl FamilyInfo {
    /// The id of group `name`.
    pub fn group(&self, name: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }
}

/// What the controller answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The family.
    Family(FamilyInfo),
    /// An error: the (positive) errno; `ENOENT` for a family that is not registered.
    Errno(i32),
    /// Nothing this request could have caused (another sequence number, a malformed
    /// answer): read on.
    Other,
}

/// A string attribute without its terminating NUL.
fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The controller's answer to [`getfamily_request`] number `seq`, from one datagram.
pub fn parse_getfamily_reply(data: &[u8], seq: u32) -> Reply {
    for m in messages(data) {
        if m.seq != seq {
            continue;
        }
        if m.kind == NLMSG_ERROR {
            // struct nlmsgerr: int error, then the request's header.
            return match m.payload.get(0..4) {
                Some(b) => Reply::Errno(-i32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
                None => Reply::Other,
            };
        }
        if m.kind != GENL_ID_CTRL || m.payload.len() < GENL_HDRLEN {
            continue;
        }
        let mut info = FamilyInfo::default();
        let mut has_id = false;
        for a in attrs(&m.payload[GENL_HDRLEN..]).0 {
            match a.kind {
                CTRL_ATTR_FAMILY_ID => {
                    if let Some(id) = u16_at(a.payload, 0) {
                        info.id = id;
                        has_id = true;
                    }
                }
                CTRL_ATTR_VERSION => info.version = u32_at(a.payload, 0).unwrap_or(0),
                CTRL_ATTR_MCAST_GROUPS => {
                    for g in attrs(a.payload).0 {
                        let fields = attrs(g.payload).0;
                        let name = fields.iter().find(|f| f.kind == CTRL_ATTR_MCAST_GRP_NAME);
                        let id = fields.iter().find(|f| f.kind == CTRL_ATTR_MCAST_GRP_ID);
                        if let (Some(name), Some(id)) =
                            (name, id.and_then(|i| u32_at(i.payload, 0)))
                        {
                            info.groups.push((c_string(name.payload), id));
                        }
                    }
                }
                _ => {}
            }
        }
        if has_id {
            return Reply::Family(info);
        }
    }
    Reply::Other
}

/// Builders of messages for the tests (of this module and of `events.rs`).
#[cfg(test)]
pub mod build {

    /// Attributes, each `(type, payload)`, padded.
    pub fn attrs(list: &[(u16, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, payload) in list {
            super::put_attr(&mut out, *kind, payload);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build;
    use super::*;

    fn nlmsg(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&0u16.to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(payload);
        out.resize(align(out.len()), 0);
        out
    }

    #[test]
    fn the_request_is_what_nlctrl_expects() {
        let r = getfamily_request("sitemh", 7);
        // header 16 + genl 4 + attribute 4 + "sitemh\0" 7, padded to 8.
        assert_eq!(r.len(), 32);
        assert_eq!(u32_at(&r, 0), Some(32));
        assert_eq!(u16_at(&r, 4), Some(GENL_ID_CTRL));
        assert_eq!(u16_at(&r, 6), Some(NLM_F_REQUEST));
        assert_eq!(u32_at(&r, 8), Some(7));
        assert_eq!(&r[16..20], &[CTRL_CMD_GETFAMILY, 1, 0, 0]);
        assert_eq!(u16_at(&r, 20), Some(11));
        assert_eq!(u16_at(&r, 22), Some(CTRL_ATTR_FAMILY_NAME));
        assert_eq!(&r[24..32], b"sitemh\0\0");
    }

    fn family_reply(seq: u32) -> Vec<u8> {
        let g1 = build::attrs(&[
            (CTRL_ATTR_MCAST_GRP_ID, &5u32.to_ne_bytes()),
            (CTRL_ATTR_MCAST_GRP_NAME, b"events\0"),
        ]);
        let g2 = build::attrs(&[
            (CTRL_ATTR_MCAST_GRP_NAME, b"own\0"),
            (CTRL_ATTR_MCAST_GRP_ID, &6u32.to_ne_bytes()),
        ]);
        let groups = build::attrs(&[(1 | 0x8000, &g1), (2 | 0x8000, &g2)]);
        let body = build::attrs(&[
            (CTRL_ATTR_FAMILY_NAME, b"sitemh\0"),
            (CTRL_ATTR_FAMILY_ID, &0x1au16.to_ne_bytes()),
            (CTRL_ATTR_VERSION, &1u32.to_ne_bytes()),
            (CTRL_ATTR_MCAST_GROUPS | 0x8000, &groups),
        ]);
        genl_message(GENL_ID_CTRL, 0, seq, 1, 2, &body)
    }

    #[test]
    fn a_family_and_its_groups() {
        let Reply::Family(info) = parse_getfamily_reply(&family_reply(3), 3) else {
            panic!()
        };
        assert_eq!(info.id, 0x1a);
        assert_eq!(info.version, 1);
        assert_eq!(info.group("events"), Some(5));
        assert_eq!(info.group("own"), Some(6));
        assert_eq!(info.group("other"), None);
        // Another request's answer is not this one's.
        assert_eq!(parse_getfamily_reply(&family_reply(3), 4), Reply::Other);
    }

    #[test]
    fn an_unknown_family_is_enoent() {
        let mut err = (-2i32).to_ne_bytes().to_vec();
        err.extend_from_slice(&getfamily_request("sitemh", 9)[..16]);
        assert_eq!(
            parse_getfamily_reply(&nlmsg(NLMSG_ERROR, 9, &err), 9),
            Reply::Errno(2)
        );
        assert_eq!(
            parse_getfamily_reply(&nlmsg(NLMSG_ERROR, 9, &[1]), 9),
            Reply::Other
        );
    }

    #[test]
    fn messages_of_a_datagram() {
        let mut d = nlmsg(0x1a, 0, &[1, 2, 3]);
        d.extend(nlmsg(NLMSG_DONE, 1, &[]));
        let m = messages(&d);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].payload, &[1, 2, 3]);
        assert_eq!((m[1].kind, m[1].seq), (NLMSG_DONE, 1));
        // A length past the end, or shorter than a header, ends the walk.
        let mut bad = nlmsg(0x1a, 0, &[1, 2, 3, 4]);
        bad[0] = 200;
        assert!(messages(&bad).is_empty());
        bad[0] = 3;
        assert!(messages(&bad).is_empty());
        assert!(messages(&[0; 7]).is_empty());
    }

    #[test]
    fn attributes_and_truncation() {
        let a = build::attrs(&[(1, &[7]), (0x4000 | 2, &[1, 2, 3, 4, 5])]);
        let (list, cut) = attrs(&a);
        assert!(!cut);
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].kind, 2);
        assert_eq!(list[1].payload, &[1, 2, 3, 4, 5]);
        // Cut in the middle of the second attribute.
        let (list, cut) = attrs(&a[..10]);
        assert!(cut);
        assert_eq!(list.len(), 1);
        // A zero length, stray octets.
        assert_eq!(attrs(&[0, 0, 1, 0, 9, 9, 9, 9]), (vec![], true));
        assert_eq!(attrs(&[5]), (vec![], true));
    }
}

//! `sitemhctl pairs HOST`: the address pairs the module ranks for HOST, best first, with
//! what the ranking weighed, through `getsockopt(SITEMH_SO_PAIRS)` as lib/sitemh.c's
//! `sitemh_rank_pairs` does (include/uapi/linux/sitemh.h has the structs).

use std::fmt::Write;
use std::net::IpAddr;
use std::net::Ipv4Addr;
use std::net::Ipv6Addr;
use std::net::ToSocketAddrs;
use std::net::UdpSocket;

use crate::error::errno_text;
use crate::error::Error;
use crate::json::Json;
use crate::show::Output;
use crate::sys::Files;
use crate::table::Family;
use crate::table::Slot;

/// `SITEMH_SO_PAIRS` (`SITEMH_SO_BASE` + 0).
const SITEMH_SO_PAIRS: i32 = 0x5348;
/// `SITEMH_MAX_DESTS`.
pub const MAX_DESTS: usize = 16;
/// `SITEMH_MAX_PAIRS`.
const MAX_PAIRS: usize = 256;
/// `SITEMH_SERVICE_LOW_LATENCY`.
const SERVICE_LOW_LATENCY: u32 = 1;
/// `SITEMH_RANK_MEASURED`, `SITEMH_RANK_DOWN`.
const RANK_MEASURED: u32 = 0x1;
const RANK_DOWN: u32 = 0x2;
/// `IPPROTO_IP`, `IPPROTO_IPV6`, `IP_TOS`, `IPV6_TCLASS`, `ENOPROTOOPT` (Linux).
const IPPROTO_IP: i32 = 0;
const IPPROTO_IPV6: i32 = 41;
const IP_TOS: i32 = 1;
const IPV6_TCLASS: i32 = 67;
const ENOPROTOOPT: i32 = 92;

/// The layout of `struct sitemh_pairs{,6}` for a family: the header (`ndst`, `npairs`,
/// `available`, `service`, `dst[16]`) and one `struct sitemh_ranked_pair{,6}` (the pair,
/// then `struct sitemh_rank_info`: `u64 bandwidth`, `u32 hops`, `u32 latency_us`,
/// `u32 flags`, `u32 reserved`, 8-aligned).
struct Layout {
    addr_len: usize,
    header: usize,
    pair: usize,
}

fn layout(family: Family) -> Layout {
    match family {
        Family::V4 => Layout {
            addr_len: 4,
            header: 16 + 4 * MAX_DESTS,
            pair: 8 + 24,
        },
        Family::V6 => Layout {
            addr_len: 16,
            header: 16 + 16 * MAX_DESTS,
            pair: 32 + 24,
        },
    }
}

/// A ranked pair and what its rank weighed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked {
    /// Local address.
    pub src: IpAddr,
    /// Peer address.
    pub dst: IpAddr,
    /// Effective available bandwidth of the source's provider path, kbit/s (0: unknown).
    pub bandwidth: u64,
    /// NUMBER_OF_IS_HOPS (0: unknown).
    pub hops: u32,
    /// One-way latency, µs, measured or configured (0: unknown).
    pub latency_us: u32,
    /// `SITEMH_RANK_*`.
    pub flags: u32,
}

/// The module's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// `SITEMH_SERVICE_*`.
    pub service: u32,
    /// Pairs found (more than `pairs.len()` only if the buffer was short).
    pub available: u32,
    /// The pairs, best first.
    pub pairs: Vec<Ranked>,
}

fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn addr_from(family: Family, bytes: &[u8]) -> Option<IpAddr> {
    match family {
        Family::V4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        Family::V6 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    }
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    buf.get(at..at + 4)?.try_into().ok().map(u32::from_ne_bytes)
}

fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    buf.get(at..at + 8)?.try_into().ok().map(u64::from_ne_bytes)
}

/// The request for `dsts` (1..16 addresses of `family`), with room for every pair.
pub fn encode(family: Family, dsts: &[IpAddr]) -> Vec<u8> {
    let l = layout(family);
    let mut buf = vec![0u8; l.header + MAX_PAIRS * l.pair];
    let n = dsts.len().min(MAX_DESTS);
    buf[0..4].copy_from_slice(&(n as u32).to_ne_bytes());
    for (i, dst) in dsts.iter().take(n).enumerate() {
        let at = 16 + i * l.addr_len;
        buf[at..at + l.addr_len].copy_from_slice(&addr_bytes(dst));
    }
    buf
}

/// Reads the answer (`len` bytes of `buf`).
pub fn decode(family: Family, buf: &[u8], len: usize) -> Result<Answer, String> {
    let l = layout(family);
    let buf = buf.get(..len).ok_or("answer longer than its buffer")?;
    let short = || "the module's answer is too short".to_string();
    let npairs = u32_at(buf, 4).ok_or_else(short)? as usize;
    let available = u32_at(buf, 8).ok_or_else(short)?;
    let service = u32_at(buf, 12).ok_or_else(short)?;
    if npairs > MAX_PAIRS || buf.len() < l.header + npairs * l.pair {
        return Err(short());
    }
    let mut pairs = Vec::with_capacity(npairs);
    for i in 0..npairs {
        let at = l.header + i * l.pair;
        let src = buf
            .get(at..at + l.addr_len)
            .and_then(|b| addr_from(family, b));
        let dst = buf
            .get(at + l.addr_len..at + 2 * l.addr_len)
            .and_then(|b| addr_from(family, b));
        let info = at + 2 * l.addr_len;
        let (Some(src), Some(dst), Some(bandwidth), Some(hops), Some(latency_us), Some(flags)) = (
            src,
            dst,
            u64_at(buf, info),
            u32_at(buf, info + 8),
            u32_at(buf, info + 12),
            u32_at(buf, info + 16),
        ) else {
            return Err(short());
        };
        pairs.push(Ranked {
            src,
            dst,
            bandwidth,
            hops,
            latency_us,
            flags,
        });
    }
    Ok(Answer {
        service,
        available,
        pairs,
    })
}

/// The service's name and the keys it ranks by, in order.
fn service_keys(service: u32) -> (&'static str, [&'static str; 2]) {
    if service == SERVICE_LOW_LATENCY {
        ("low-latency", ["latency_us", "hops"])
    } else {
        ("best-effort", ["bandwidth", "hops"])
    }
}

/// HOST's addresses per family: a literal, or what the system resolver
/// (`getaddrinfo`: /etc/hosts, DNS) gives, without duplicates, at most 16 per family.
pub fn resolve(host: &str) -> Result<Vec<(Family, Vec<IpAddr>)>, Error> {
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(a) => vec![a],
        Err(_) => (host, 0)
            .to_socket_addrs()
            .map_err(|e| Error::Failed(format!("cannot resolve \"{host}\": {}", errno_text(&e))))?
            .map(|sa| sa.ip())
            .collect(),
    };
    let mut out = Vec::new();
    for family in Family::ALL {
        let mut list: Vec<IpAddr> = Vec::new();
        for a in addrs.iter().filter(|a| Family::of(a) == family) {
            if !list.contains(a) && list.len() < MAX_DESTS {
                list.push(*a);
            }
        }
        if !list.is_empty() {
            out.push((family, list));
        }
    }
    if out.is_empty() {
        return Err(Error::Failed(format!("\"{host}\" has no address")));
    }
    Ok(out)
}

/// Asks the module to rank the pairs for `dsts`, from a UDP socket of the family (whose
/// TOS / traffic class, when given, picks the service).
fn rank(family: Family, dsts: &[IpAddr], tos: Option<u8>) -> Result<Answer, Error> {
    let (bind, level) = match family {
        Family::V4 => ("0.0.0.0:0", IPPROTO_IP),
        Family::V6 => ("[::]:0", IPPROTO_IPV6),
    };
    let sock = UdpSocket::bind(bind).map_err(|e| {
        Error::Failed(format!(
            "cannot open an {} socket: {}",
            family.name(),
            errno_text(&e)
        ))
    })?;
    if let Some(tos) = tos {
        let name = if family == Family::V4 {
            IP_TOS
        } else {
            IPV6_TCLASS
        };
        crate::ffi::set_int_option(&sock, level, name, i32::from(tos))
            .map_err(|e| Error::kernel("setting the TOS", &e))?;
    }
    let mut buf = encode(family, dsts);
    let len = match crate::ffi::get_option(&sock, level, SITEMH_SO_PAIRS, &mut buf) {
        Ok(len) => len,
        Err(e) if e.raw_os_error() == Some(ENOPROTOOPT) => {
            return Err(Error::Failed(
                "the sitemh module is not loaded (SITEMH_SO_PAIRS: Protocol not available)".into(),
            ))
        }
        Err(e) => {
            return Err(Error::kernel(
                &format!("ranking the {} pairs (SITEMH_SO_PAIRS)", family.name()),
                &e,
            ))
        }
    };
    decode(family, &buf, len).map_err(Error::Failed)
}

/// The domain (index) whose prefix holds `src`, the longest if several do.
fn domain_of(table: &[Slot], src: &IpAddr) -> Option<usize> {
    table
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Slot::Set(e) if e.prefix.contains(src) => Some((i, e.prefix.len)),
            _ => None,
        })
        .max_by_key(|&(_, len)| len)
        .map(|(i, _)| i)
}

/// Text and JSON of one family's answer.
pub fn render(out: &mut Output, host: &str, family: Family, answer: &Answer, table: &[Slot]) {
    let (service, keys) = service_keys(answer.service);
    let _ = writeln!(
        out.text,
        "pairs for {host} ({}): service {service}, ranked by {} then {}, down paths last; {} of {}",
        family.name(),
        keys[0],
        keys[1],
        answer.pairs.len(),
        answer.available
    );
    let mut list = Vec::new();
    for (i, p) in answer.pairs.iter().enumerate() {
        let domain = domain_of(table, &p.src);
        let _ = write!(out.text, "  {}: {} -> {}", i + 1, p.src, p.dst);
        if let Some(d) = domain {
            let _ = write!(out.text, " domain {d}");
        }
        let _ = write!(
            out.text,
            " bandwidth {} hops {} latency_us {}",
            p.bandwidth, p.hops, p.latency_us
        );
        if p.flags & RANK_MEASURED != 0 {
            out.text.push_str(" measured");
        }
        if p.flags & RANK_DOWN != 0 {
            out.text.push_str(" down");
        }
        out.text.push('\n');
        let mut o = Json::obj();
        o.push("rank", Json::Num(i as u64 + 1));
        o.push("src", Json::str(p.src.to_string()));
        o.push("dst", Json::str(p.dst.to_string()));
        o.push("domain", domain.map_or(Json::Null, |d| Json::Num(d as u64)));
        o.push("bandwidth", Json::Num(p.bandwidth));
        o.push("hops", Json::Num(u64::from(p.hops)));
        o.push("latency_us", Json::Num(u64::from(p.latency_us)));
        o.push("measured", Json::Bool(p.flags & RANK_MEASURED != 0));
        o.push("down", Json::Bool(p.flags & RANK_DOWN != 0));
        list.push(o);
    }
    let mut f = Json::obj();
    f.push("service", Json::str(service));
    f.push(
        "keys",
        Json::Arr(keys.iter().map(|k| Json::str(*k)).collect()),
    );
    f.push("available", Json::Num(u64::from(answer.available)));
    f.push("pairs", Json::Arr(list));
    out.json.push(family.name(), f);
}

/// `pairs HOST [tos TOS]`, for the families HOST has addresses of (and `families`
/// allows).
pub fn pairs(
    files: &Files,
    host: &str,
    tos: Option<u8>,
    families: &[Family],
) -> Result<Output, Error> {
    let mut out = Output {
        text: String::new(),
        json: Json::obj(),
    };
    out.json.push("host", Json::str(host));
    let mut any = false;
    for (family, dsts) in resolve(host)? {
        if !families.contains(&family) {
            continue;
        }
        any = true;
        let answer = rank(family, &dsts, tos)?;
        // The domain column is a courtesy: a table that cannot be read leaves it out.
        let table = files.table(family).unwrap_or_default();
        render(&mut out, host, family, &answer, &table);
    }
    if !any {
        return Err(Error::Failed(format!(
            "\"{host}\" has no address of the family asked for"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// An answer as the kernel lays it out, for `pairs`.
    fn answer_bytes(family: Family, service: u32, pairs: &[Ranked]) -> Vec<u8> {
        let l = layout(family);
        let mut buf = encode(family, &[pairs[0].dst]);
        buf[4..8].copy_from_slice(&(pairs.len() as u32).to_ne_bytes());
        buf[8..12].copy_from_slice(&(pairs.len() as u32).to_ne_bytes());
        buf[12..16].copy_from_slice(&service.to_ne_bytes());
        for (i, p) in pairs.iter().enumerate() {
            let at = l.header + i * l.pair;
            buf[at..at + l.addr_len].copy_from_slice(&addr_bytes(&p.src));
            buf[at + l.addr_len..at + 2 * l.addr_len].copy_from_slice(&addr_bytes(&p.dst));
            let info = at + 2 * l.addr_len;
            buf[info..info + 8].copy_from_slice(&p.bandwidth.to_ne_bytes());
            buf[info + 8..info + 12].copy_from_slice(&p.hops.to_ne_bytes());
            buf[info + 12..info + 16].copy_from_slice(&p.latency_us.to_ne_bytes());
            buf[info + 16..info + 20].copy_from_slice(&p.flags.to_ne_bytes());
        }
        buf.truncate(l.header + pairs.len() * l.pair);
        buf
    }

    #[test]
    fn layouts_match_the_uapi_header() {
        // sizeof(struct sitemh_pairs) 80, sitemh_ranked_pair 32; the IPv6 ones 272, 56.
        assert_eq!(
            (layout(Family::V4).header, layout(Family::V4).pair),
            (80, 32)
        );
        assert_eq!(
            (layout(Family::V6).header, layout(Family::V6).pair),
            (272, 56)
        );
    }

    #[test]
    fn requests_carry_the_destinations() {
        let buf = encode(Family::V4, &[a("192.0.2.200"), a("192.0.2.201")]);
        assert_eq!(u32_at(&buf, 0), Some(2));
        assert_eq!(&buf[16..24], &[192, 0, 2, 200, 192, 0, 2, 201]);
        assert_eq!(buf.len(), 80 + 256 * 32);
        let buf = encode(Family::V6, &[a("2001:db8::1")]);
        assert_eq!(buf[16], 0x20);
        assert_eq!(buf[31], 1);
    }

    #[test]
    fn answers_decode_in_order_with_their_weights() {
        for (family, s1, s2, d) in [
            (Family::V4, "198.51.100.10", "203.0.113.10", "192.0.2.200"),
            (
                Family::V6,
                "2001:db8:1::10",
                "2001:db8:2::10",
                "2001:db8:ff::200",
            ),
        ] {
            let pairs = vec![
                Ranked {
                    src: a(s1),
                    dst: a(d),
                    bandwidth: 100_000,
                    hops: 3,
                    latency_us: 0,
                    flags: 0,
                },
                Ranked {
                    src: a(s2),
                    dst: a(d),
                    bandwidth: 0,
                    hops: 0,
                    latency_us: 1500,
                    flags: RANK_MEASURED | RANK_DOWN,
                },
            ];
            let buf = answer_bytes(family, SERVICE_LOW_LATENCY, &pairs);
            let got = decode(family, &buf, buf.len()).unwrap();
            assert_eq!(got.pairs, pairs);
            assert_eq!(got.service, SERVICE_LOW_LATENCY);
            assert_eq!(got.available, 2);
            // Cut short: refused, not misread.
            assert!(decode(family, &buf, buf.len() - 1).is_err());
        }
    }

    #[test]
    fn rendering_names_service_keys_domain_and_flags() {
        let pairs = vec![
            Ranked {
                src: a("203.0.113.10"),
                dst: a("192.0.2.200"),
                bandwidth: 7,
                hops: 2,
                latency_us: 9,
                flags: RANK_DOWN,
            },
            Ranked {
                src: a("198.51.100.10"),
                dst: a("192.0.2.200"),
                bandwidth: 3,
                hops: 0,
                latency_us: 0,
                flags: RANK_MEASURED,
            },
        ];
        let answer = Answer {
            service: 0,
            available: 2,
            pairs,
        };
        let table = crate::table::parse_table(
            "198.51.100.0/24 198.51.100.129, 203.0.113.0/24 203.0.113.130",
            Family::V4,
        )
        .unwrap();
        let mut out = Output {
            text: String::new(),
            json: Json::obj(),
        };
        render(&mut out, "x", Family::V4, &answer, &table);
        assert!(
            out.text
                .contains("service best-effort, ranked by bandwidth then hops"),
            "{}",
            out.text
        );
        assert!(
            out.text.contains(
                "1: 203.0.113.10 -> 192.0.2.200 domain 1 bandwidth 7 hops 2 latency_us 9 down"
            ),
            "{}",
            out.text
        );
        assert!(
            out.text.ends_with(
                "  2: 198.51.100.10 -> 192.0.2.200 domain 0 bandwidth 3 hops 0 latency_us 0 measured\n"
            ),
            "{}",
            out.text
        );
        let j = out.json.render(false);
        assert!(
            j.contains(r#""rank":1,"src":"203.0.113.10","dst":"192.0.2.200","domain":1"#),
            "{j}"
        );
        assert!(j.contains(r#""measured":false,"down":true"#), "{j}");
    }

    #[test]
    fn literals_resolve_without_the_resolver() {
        let r = resolve("192.0.2.1").unwrap();
        assert_eq!(r, vec![(Family::V4, vec![a("192.0.2.1")])]);
        let r = resolve("2001:db8::1").unwrap();
        assert_eq!(r, vec![(Family::V6, vec![a("2001:db8::1")])]);
    }
}

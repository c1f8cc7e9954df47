// SPDX-License-Identifier: GPL-2.0

//! ICMP and ICMPv6 errors about a connection: which messages are errors that quote a TCP
//! or UDP packet, and the connection the quote names.
//!
//! A moved connection's packets travel with the addresses of another pair; an error a
//! router sends about one quotes those, and the switchover translates the quote back
//! before the stack matches it to a socket. The glue hands over the ICMP message's first
//! octets and verifies the checksum; what they mean is decided here.

/// Octets of an ICMP or ICMPv6 header.
pub(crate) const ICMP_HEADER_LEN: usize = 8;
/// The most octets [`quote4`] reads: the ICMP header, the longest IPv4 header, the ports.
pub(crate) const QUOTE4_MAX: usize = ICMP_HEADER_LEN + 60 + 4;
/// The octets [`quote6`] reads: the ICMPv6 header, the IPv6 header, the ports.
pub(crate) const QUOTE6_MAX: usize = ICMP_HEADER_LEN + IPV6_HEADER_LEN + 4;

const IPV4_MIN_HEADER: usize = 20;
const IPV6_HEADER_LEN: usize = 40;

/// The transport protocols a quote may name.
pub(crate) const IPPROTO_TCP: u8 = 6;
pub(crate) const IPPROTO_UDP: u8 = 17;

/// ICMP error types (RFC 792): destination unreachable, time exceeded, parameter problem.
const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_TIME_EXCEEDED: u8 = 11;
const ICMP_PARAMETERPROB: u8 = 12;
/// ICMPv6 error types (RFC 4443): destination unreachable, packet too big, time exceeded,
/// parameter problem.
const ICMPV6_ERRORS: [u8; 4] = [1, 2, 3, 4];

/// The fragment offset bits of the IPv4 `frag_off` field.
const IP_OFFSET: u16 = 0x1fff;

/// The connection an error quotes: the quoted packet's transport protocol, addresses and
/// ports (host byte order), as that packet carried them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quote<A> {
    pub(crate) proto: u8,
    pub(crate) saddr: A,
    pub(crate) daddr: A,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
}

fn be16(octets: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*octets.get(at)?, *octets.get(at + 1)?]))
}

fn ports(octets: &[u8], at: usize) -> Option<(u16, u16)> {
    Some((be16(octets, at)?, be16(octets, at + 2)?))
}

/// The quote of `icmp`, an ICMP message from its header on (as much of it as there is,
/// [`QUOTE4_MAX`] octets suffice): `None` unless it is a destination unreachable, time
/// exceeded or parameter problem message quoting an IPv4 packet of TCP or UDP that is no
/// later fragment, with the quoted ports there.
pub(crate) fn quote4(icmp: &[u8]) -> Option<Quote<u32>> {
    let kind = *icmp.first()?;
    if ![ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB].contains(&kind) {
        return None;
    }
    let quoted = icmp.get(ICMP_HEADER_LEN..ICMP_HEADER_LEN + IPV4_MIN_HEADER)?;
    let ihl = usize::from(quoted[0] & 0x0f) * 4;
    let proto = quoted[9];
    if quoted[0] >> 4 != 4
        || ihl < IPV4_MIN_HEADER
        || (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
        || be16(quoted, 6)? & IP_OFFSET != 0
    {
        return None;
    }
    let (sport, dport) = ports(icmp, ICMP_HEADER_LEN + ihl)?;
    Some(Quote {
        proto,
        saddr: u32::from_be_bytes([quoted[12], quoted[13], quoted[14], quoted[15]]),
        daddr: u32::from_be_bytes([quoted[16], quoted[17], quoted[18], quoted[19]]),
        sport,
        dport,
    })
}

/// As [`quote4`] for an ICMPv6 message ([`QUOTE6_MAX`] octets suffice): a destination
/// unreachable, packet too big, time exceeded or parameter problem message quoting an IPv6
/// packet whose TCP or UDP header follows the IPv6 header.
pub(crate) fn quote6(icmp: &[u8]) -> Option<Quote<u128>> {
    if !ICMPV6_ERRORS.contains(icmp.first()?) {
        return None;
    }
    let quoted = icmp.get(ICMP_HEADER_LEN..ICMP_HEADER_LEN + IPV6_HEADER_LEN)?;
    let proto = quoted[6];
    if quoted[0] >> 4 != 6 || (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
        return None;
    }
    let (sport, dport) = ports(icmp, ICMP_HEADER_LEN + IPV6_HEADER_LEN)?;
    let addr = |at: usize| {
        let mut a = [0u8; 16];
        a.copy_from_slice(&quoted[at..at + 16]);
        u128::from_be_bytes(a)
    };
    Some(Quote {
        proto,
        saddr: addr(8),
        daddr: addr(24),
        sport,
        dport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// An ICMP error of `kind` quoting an IPv4 header of `ihl` words, protocol `proto`,
    /// 192.0.2.1:1000 -> 198.51.100.2:80.
    fn error4(kind: u8, ihl: u8, proto: u8, frag_off: u16) -> Vec<u8> {
        let mut m = std::vec![kind, 0, 0, 0, 0, 0, 0, 0];
        let mut q = std::vec![0u8; usize::from(ihl) * 4];
        q[0] = 0x40 | ihl;
        q[6..8].copy_from_slice(&frag_off.to_be_bytes());
        q[9] = proto;
        q[12..16].copy_from_slice(&[192, 0, 2, 1]);
        q[16..20].copy_from_slice(&[198, 51, 100, 2]);
        m.extend_from_slice(&q);
        m.extend_from_slice(&[0x03, 0xe8, 0, 80, 0, 0, 0, 0]);
        m
    }

    fn error6(kind: u8, version: u8, proto: u8) -> Vec<u8> {
        let mut m = std::vec![kind, 0, 0, 0, 0, 0, 0, 0];
        let mut q = [0u8; 40];
        q[0] = version << 4;
        q[6] = proto;
        q[8] = 0x20;
        q[9] = 0x01;
        q[23] = 1;
        q[24] = 0x20;
        q[25] = 0x01;
        q[39] = 2;
        m.extend_from_slice(&q);
        m.extend_from_slice(&[0x03, 0xe8, 0, 80]);
        m
    }

    #[test]
    fn v4_errors_quote_their_connection() {
        for kind in [3, 11, 12] {
            let q = quote4(&error4(kind, 5, IPPROTO_TCP, 0)).unwrap();
            assert_eq!(
                q,
                Quote {
                    proto: IPPROTO_TCP,
                    saddr: 0xc000_0201,
                    daddr: 0xc633_6402,
                    sport: 1000,
                    dport: 80
                }
            );
        }
        // A quoted header with options: the ports come after them.
        let m = error4(3, 7, IPPROTO_UDP, 0x4000);
        assert_eq!(
            quote4(&m).map(|q| (q.proto, q.sport, q.dport)),
            Some((17, 1000, 80))
        );
        // Exactly up to the ports is enough.
        assert!(quote4(&m[..8 + 28 + 4]).is_some());
        assert!(quote4(&m[..8 + 28 + 3]).is_none());
    }

    #[test]
    fn v4_other_messages_are_refused() {
        // Echo reply, redirect, source quench: no errors about a connection.
        for kind in [0, 4, 5, 8, 41] {
            assert!(quote4(&error4(kind, 5, IPPROTO_TCP, 0)).is_none());
        }
        // ICMP in ICMP, a later fragment (the ports are not there), a short header length,
        // another IP version.
        assert!(quote4(&error4(3, 5, 1, 0)).is_none());
        assert!(quote4(&error4(3, 5, IPPROTO_TCP, 0x0001)).is_none());
        assert!(quote4(&error4(3, 5, IPPROTO_TCP, 0x2000)).is_some());
        let mut short = error4(3, 5, IPPROTO_TCP, 0);
        short[8] = 0x44;
        assert!(quote4(&short).is_none());
        let mut v6 = error4(3, 5, IPPROTO_TCP, 0);
        v6[8] = 0x65;
        assert!(quote4(&v6).is_none());
        assert!(quote4(&[]).is_none());
        assert!(quote4(&[3]).is_none());
    }

    #[test]
    fn v6_errors_quote_their_connection() {
        for kind in 1..=4 {
            let q = quote6(&error6(kind, 6, IPPROTO_UDP)).unwrap();
            assert_eq!(q.proto, IPPROTO_UDP);
            assert_eq!(q.saddr, 0x2001_0000_0000_0000_0000_0000_0000_0001);
            assert_eq!(q.daddr, 0x2001_0000_0000_0000_0000_0000_0000_0002);
            assert_eq!((q.sport, q.dport), (1000, 80));
        }
        let m = error6(1, 6, IPPROTO_TCP);
        assert_eq!(m.len(), QUOTE6_MAX);
        assert!(quote6(&m[..QUOTE6_MAX - 1]).is_none());
        // Informational messages, another version, an extension header before TCP.
        assert!(quote6(&error6(128, 6, IPPROTO_TCP)).is_none());
        assert!(quote6(&error6(129, 6, IPPROTO_TCP)).is_none());
        assert!(quote6(&error6(1, 4, IPPROTO_TCP)).is_none());
        assert!(quote6(&error6(1, 6, 43)).is_none());
        assert!(quote6(&[]).is_none());
    }

    #[test]
    fn no_message_makes_the_parsers_panic() {
        let mut next = crate::logic::xorshift(0x1c3_0001);
        for _ in 0..20_000 {
            let len = (next() % (QUOTE4_MAX as u64 + 8)) as usize;
            let mut m: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Often an error type, so that the parse goes deeper.
            if let Some(first) = m.first_mut() {
                if next() % 2 == 0 {
                    *first = [1, 3, 11][(next() % 3) as usize];
                }
            }
            if let Some(q) = quote4(&m) {
                assert!(q.proto == IPPROTO_TCP || q.proto == IPPROTO_UDP);
            }
            if let Some(q) = quote6(&m) {
                assert!(q.proto == IPPROTO_TCP || q.proto == IPPROTO_UDP);
            }
        }
    }
}

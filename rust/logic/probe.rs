// SPDX-License-Identifier: GPL-2.0

//! The draft's echo probe (2.1.1) on the wire: the request sitemh sends for one pair, and
//! which packet read back from the pair's raw socket is its reply.
//!
//! The glue (`glue_probe.c`) keeps the sockets, the clock and the random numbers; it asks
//! here what to send and whether what it read counts. A raw socket sees every ICMP
//! message to its address, so the match is strict: a forged or stray reply must not give
//! a pair a round-trip time.

use super::linkfail::internet_checksum;

/// `AF_INET`, as the glue passes the family.
pub(crate) const AF_INET: i32 = 2;
/// `AF_INET6` (the module passes any family but `AF_INET` as IPv6).
#[cfg(test)]
pub(crate) const AF_INET6: i32 = 10;

/// Octets of an echo request or reply header (type, code, checksum, identifier, sequence
/// number); the probe carries no data.
pub(crate) const ECHO_LEN: usize = 8;

/// ICMP echo request and reply (RFC 792).
const ICMP_ECHO: u8 = 8;
const ICMP_ECHOREPLY: u8 = 0;
/// ICMPv6 echo request and reply (RFC 4443).
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

/// The shortest IPv4 header: an IPv4 raw socket reads the IP header before the message.
const IPV4_MIN_HEADER: usize = 20;

/// The echo request for a pair of `family`, with identifier `id` and sequence number
/// `seq`. An ICMPv4 request carries its checksum; an ICMPv6 one leaves it 0, since the
/// kernel computes ICMPv6 checksums (over the pseudo-header) on raw sockets itself.
pub(crate) fn echo_request(family: i32, id: u16, seq: u16) -> [u8; ECHO_LEN] {
    let mut echo = [0u8; ECHO_LEN];
    echo[0] = if family == AF_INET {
        ICMP_ECHO
    } else {
        ICMPV6_ECHO_REQUEST
    };
    echo[4..6].copy_from_slice(&id.to_be_bytes());
    echo[6..8].copy_from_slice(&seq.to_be_bytes());
    if family == AF_INET {
        let sum = internet_checksum(&echo);
        echo[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    echo
}

/// Whether `packet`, read from a pair's raw socket of `family` and sent from `from`, is
/// the reply to the request [`echo_request`] made for `id` and `seq` to `dst`. Addresses
/// are in the glue's form (16 octets, an IPv4 address in the first four); `from` is
/// `None` when the sender was of another family. An IPv4 packet starts with its IP
/// header, whose length it states; an IPv6 one with the ICMPv6 message.
pub(crate) fn is_echo_reply(
    family: i32,
    from: Option<&[u8; 16]>,
    dst: &[u8; 16],
    packet: &[u8],
    id: u16,
    seq: u16,
) -> bool {
    let alen = if family == AF_INET { 4 } else { 16 };
    match from {
        Some(from) if from[..alen] == dst[..alen] => {}
        _ => return false,
    }
    let off = if family == AF_INET {
        let Some(&first) = packet.first() else {
            return false;
        };
        let ihl = usize::from(first & 0x0f) * 4;
        if packet.len() < IPV4_MIN_HEADER || ihl < IPV4_MIN_HEADER {
            return false;
        }
        ihl
    } else {
        0
    };
    let Some(echo) = packet.get(off..off + ECHO_LEN) else {
        return false;
    };
    let reply = if family == AF_INET {
        ICMP_ECHOREPLY
    } else {
        ICMPV6_ECHO_REPLY
    };
    echo[0] == reply
        && echo[1] == 0
        && echo[4..6] == id.to_be_bytes()
        && echo[6..8] == seq.to_be_bytes()
}

/// The round trip in microseconds from a request sent at `sent_ns` to a reply read at
/// `now_ns` (monotonic clock): at least 1, since 0 means "no answer".
pub(crate) fn rtt_us(sent_ns: u64, now_ns: u64) -> u32 {
    let us = now_ns.saturating_sub(sent_ns) / 1000;
    u32::try_from(us).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr4(a: [u8; 4]) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..4].copy_from_slice(&a);
        out
    }

    /// An IPv4 packet as a raw socket reads it: a header of `ihl` words, then `icmp`.
    fn v4_packet(ihl: u8, icmp: &[u8]) -> std::vec::Vec<u8> {
        let mut p = std::vec![0u8; usize::from(ihl) * 4];
        p[0] = 0x40 | ihl;
        p.extend_from_slice(icmp);
        p
    }

    fn reply_of(mut request: [u8; ECHO_LEN], reply_type: u8) -> [u8; ECHO_LEN] {
        request[0] = reply_type;
        request
    }

    #[test]
    fn icmpv4_request_layout_and_checksum() {
        let echo = echo_request(AF_INET, 0x1234, 0xabcd);
        assert_eq!(echo[0], 8);
        assert_eq!(echo[1], 0);
        assert_eq!(&echo[4..], &[0x12, 0x34, 0xab, 0xcd]);
        // A message with its checksum in place sums to 0.
        assert_eq!(internet_checksum(&echo), 0);
        // 0x0800 + 0x1234 + 0xabcd = 0xc601: the checksum is its complement.
        assert_eq!(&echo[2..4], &[0x39, 0xfe]);
    }

    #[test]
    fn icmpv6_request_leaves_the_checksum_to_the_kernel() {
        let echo = echo_request(AF_INET6, 1, 2);
        assert_eq!(echo, [128, 0, 0, 0, 0, 1, 0, 2]);
    }

    #[test]
    fn v4_reply_matches_only_its_pair() {
        let dst = addr4([192, 0, 2, 1]);
        let reply = reply_of(echo_request(AF_INET, 7, 9), 0);
        let good = v4_packet(5, &reply);
        assert!(is_echo_reply(AF_INET, Some(&dst), &dst, &good, 7, 9));
        // With IP options (a longer header) too.
        assert!(is_echo_reply(
            AF_INET,
            Some(&dst),
            &dst,
            &v4_packet(6, &reply),
            7,
            9
        ));
        // Another sender, another family, identifier or sequence number.
        let other = addr4([192, 0, 2, 2]);
        assert!(!is_echo_reply(AF_INET, Some(&other), &dst, &good, 7, 9));
        assert!(!is_echo_reply(AF_INET, None, &dst, &good, 7, 9));
        assert!(!is_echo_reply(AF_INET, Some(&dst), &dst, &good, 8, 9));
        assert!(!is_echo_reply(AF_INET, Some(&dst), &dst, &good, 7, 10));
        // The request itself (looped back), a nonzero code, a truncated reply.
        let request = v4_packet(5, &echo_request(AF_INET, 7, 9));
        assert!(!is_echo_reply(AF_INET, Some(&dst), &dst, &request, 7, 9));
        let mut coded = reply;
        coded[1] = 1;
        assert!(!is_echo_reply(
            AF_INET,
            Some(&dst),
            &dst,
            &v4_packet(5, &coded),
            7,
            9
        ));
        assert!(!is_echo_reply(AF_INET, Some(&dst), &dst, &good[..27], 7, 9));
        // A header length below 20 octets, or a packet shorter than any header.
        let mut short_ihl = good.clone();
        short_ihl[0] = 0x44;
        assert!(!is_echo_reply(AF_INET, Some(&dst), &dst, &short_ihl, 7, 9));
        assert!(!is_echo_reply(AF_INET, Some(&dst), &dst, &[], 7, 9));
        assert!(!is_echo_reply(AF_INET, Some(&dst), &dst, &good[..19], 7, 9));
    }

    #[test]
    fn v4_compares_only_the_first_four_octets() {
        let dst = addr4([198, 51, 100, 7]);
        let mut from = dst;
        from[15] = 0xff;
        let good = v4_packet(5, &reply_of(echo_request(AF_INET, 1, 1), 0));
        assert!(is_echo_reply(AF_INET, Some(&from), &dst, &good, 1, 1));
    }

    #[test]
    fn v6_reply_starts_the_packet() {
        let mut dst = [0u8; 16];
        dst[0] = 0x20;
        dst[1] = 0x01;
        dst[15] = 1;
        let reply = reply_of(echo_request(AF_INET6, 0xffff, 0), 129);
        assert!(is_echo_reply(AF_INET6, Some(&dst), &dst, &reply, 0xffff, 0));
        assert!(!is_echo_reply(
            AF_INET6,
            Some(&dst),
            &dst,
            &reply[..7],
            0xffff,
            0
        ));
        let mut other = dst;
        other[15] = 2;
        assert!(!is_echo_reply(
            AF_INET6,
            Some(&other),
            &dst,
            &reply,
            0xffff,
            0
        ));
        // An ICMPv4 reply type means nothing over ICMPv6.
        let v4_type = reply_of(echo_request(AF_INET6, 0xffff, 0), 0);
        assert!(!is_echo_reply(
            AF_INET6,
            Some(&dst),
            &dst,
            &v4_type,
            0xffff,
            0
        ));
    }

    #[test]
    fn no_packet_makes_the_match_panic() {
        let dst = addr4([10, 0, 0, 1]);
        let mut next = crate::logic::xorshift(0x5eed_0001);
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            let bytes: std::vec::Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let family = if next() % 2 == 0 { AF_INET } else { AF_INET6 };
            let (id, seq) = (next() as u16, next() as u16);
            let matched = is_echo_reply(family, Some(&dst), &dst, &bytes, id, seq);
            if matched {
                let off = if family == AF_INET {
                    usize::from(bytes[0] & 0x0f) * 4
                } else {
                    0
                };
                assert_eq!(
                    &bytes[off + 4..off + 8],
                    &[(id >> 8) as u8, id as u8, (seq >> 8) as u8, seq as u8]
                );
            }
        }
    }

    #[test]
    fn rtt_is_never_zero() {
        assert_eq!(rtt_us(1_000, 1_000), 1);
        assert_eq!(rtt_us(1_000, 1_999), 1);
        assert_eq!(rtt_us(0, 2_500_000), 2_500);
        // A clock read before the send (cannot happen on a monotonic clock) is no panic.
        assert_eq!(rtt_us(5, 1), 1);
        assert_eq!(rtt_us(0, u64::MAX), u32::MAX);
    }
}

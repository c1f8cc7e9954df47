// SPDX-License-Identifier: GPL-2.0

//! The MSS a TCP SYN advertises, lowered to make room for what sitemh adds to the packets
//! of the connection (an IPv4 option, an IPv6 routing header).
//!
//! The glue hands over the TCP header, writable; the walk of its options and the rule for
//! the new value are here, where the host tests and the fuzzer reach them.

/// Octets of a TCP header without options.
pub(crate) const HEADER_LEN: usize = 20;

/// Option kinds (RFC 9293): end of list, no-operation, maximum segment size.
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_MSS: u8 = 2;
/// The MSS option's length.
const OPT_MSS_LEN: u8 = 4;
/// The MSS every IPv4 host must accept (RFC 9293 3.7.1): never lowered below it.
pub(crate) const MIN_MSS: u16 = 536;

/// The SYN flag in the header's 14th octet.
const FLAG_SYN: u8 = 0x02;

/// What the first [`HEADER_LEN`] octets of a TCP header say about lowering its MSS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syn {
    /// No SYN: nothing to lower.
    Absent,
    /// A SYN whose data offset is shorter than the header itself.
    BadOffset,
    /// A SYN whose header (options included) has this many octets.
    HeaderLen(usize),
}

/// Reads the SYN flag and data offset of `fixed` (at least [`HEADER_LEN`] octets, else
/// it counts as no SYN).
pub(crate) fn syn(fixed: &[u8]) -> Syn {
    let (Some(&offset), Some(&flags)) = (fixed.get(12), fixed.get(13)) else {
        return Syn::Absent;
    };
    if fixed.len() < HEADER_LEN || flags & FLAG_SYN == 0 {
        return Syn::Absent;
    }
    let len = usize::from(offset >> 4) * 4;
    if len < HEADER_LEN {
        Syn::BadOffset
    } else {
        Syn::HeaderLen(len)
    }
}

/// The MSS `old` lowered by `delta`, but never below [`MIN_MSS`] (an MSS already below it
/// stays as it is).
pub(crate) fn lowered_mss(old: u16, delta: u16) -> u16 {
    if u32::from(old) > u32::from(delta) + u32::from(MIN_MSS) {
        old - delta
    } else {
        old.min(MIN_MSS)
    }
}

/// Lowers the MSS option of the TCP header `header` (all of it, options included) by
/// `delta`, as [`lowered_mss`] says; returns the old and new values (for the checksum),
/// `None` if the header has no well-formed MSS option before the end of its options. A
/// malformed option (a length below 2, or one that runs past the header) ends the walk.
pub(crate) fn lower_mss(header: &mut [u8], delta: u16) -> Option<(u16, u16)> {
    let mut off = HEADER_LEN;
    while off < header.len() {
        let kind = header[off];
        if kind == OPT_EOL {
            break;
        }
        if kind == OPT_NOP {
            off += 1;
            continue;
        }
        let len = *header.get(off + 1)?;
        if len < 2 {
            break;
        }
        if kind == OPT_MSS && len == OPT_MSS_LEN {
            let field = header.get_mut(off + 2..off + 4)?;
            let old = u16::from_be_bytes([field[0], field[1]]);
            let new = lowered_mss(old, delta);
            field.copy_from_slice(&new.to_be_bytes());
            return Some((old, new));
        }
        off += usize::from(len);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SYN header with `options` (padded to a multiple of 4 with EOL).
    fn syn_with(options: &[u8]) -> std::vec::Vec<u8> {
        let mut h = std::vec![0u8; HEADER_LEN];
        h.extend_from_slice(options);
        while h.len() % 4 != 0 {
            h.push(OPT_EOL);
        }
        h[12] = ((h.len() / 4) as u8) << 4;
        h[13] = FLAG_SYN;
        h
    }

    #[test]
    fn syn_reads_flag_and_offset() {
        let h = syn_with(&[2, 4, 5, 0xb4]);
        assert_eq!(syn(&h), Syn::HeaderLen(24));
        let mut ack = h.clone();
        ack[13] = 0x10;
        assert_eq!(syn(&ack), Syn::Absent);
        let mut bad = h.clone();
        bad[12] = 4 << 4;
        assert_eq!(syn(&bad), Syn::BadOffset);
        assert_eq!(syn(&h[..19]), Syn::Absent);
        assert_eq!(syn(&[]), Syn::Absent);
    }

    #[test]
    fn mss_rule() {
        assert_eq!(lowered_mss(1460, 12), 1448);
        assert_eq!(lowered_mss(1460, 0), 1460);
        // Down to 536 and no further; one already below stays.
        assert_eq!(lowered_mss(548, 12), 536);
        assert_eq!(lowered_mss(549, 12), 537);
        assert_eq!(lowered_mss(540, 12), 536);
        assert_eq!(lowered_mss(500, 12), 500);
        assert_eq!(lowered_mss(u16::MAX, u16::MAX), MIN_MSS);
        assert_eq!(lowered_mss(u16::MAX, 1), u16::MAX - 1);
    }

    #[test]
    fn lowers_the_mss_after_other_options() {
        // NOP, NOP, timestamps (10), window scale (3), then MSS 1460.
        let mut h = syn_with(&[
            1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 3, 3, 7, 2, 4, 0x05, 0xb4,
        ]);
        assert_eq!(lower_mss(&mut h, 40), Some((1460, 1420)));
        assert_eq!(&h[37..39], &1420u16.to_be_bytes());
    }

    #[test]
    fn stops_at_end_of_list_and_bad_lengths() {
        let mut eol = syn_with(&[0, 2, 4, 5, 0xb4]);
        let before = eol.clone();
        assert_eq!(lower_mss(&mut eol, 40), None);
        assert_eq!(eol, before);
        // A length of 1 or 0 is malformed: the walk ends.
        let mut short = syn_with(&[8, 1, 2, 4, 5, 0xb4]);
        assert_eq!(lower_mss(&mut short, 40), None);
        // An MSS option cut off by the end of the header.
        let mut cut = syn_with(&[1, 1, 1, 2, 4]);
        cut.truncate(HEADER_LEN + 5);
        assert_eq!(lower_mss(&mut cut, 40), None);
        // An MSS option of another length is stepped over, not rewritten.
        let mut odd = syn_with(&[2, 6, 5, 0xb4, 0, 0, 2, 4, 5, 0xb4]);
        assert_eq!(lower_mss(&mut odd, 40), Some((1460, 1420)));
        assert_eq!(&odd[22..24], &[5, 0xb4]);
    }

    #[test]
    fn no_header_makes_the_walk_panic_or_write_outside_an_mss_field() {
        let mut next = crate::logic::xorshift(0x7c9_0001);
        for _ in 0..20_000 {
            let len = HEADER_LEN + (next() % 41) as usize;
            let mut h: std::vec::Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let before = h.clone();
            let delta = next() as u16;
            match lower_mss(&mut h, delta) {
                None => assert_eq!(h, before),
                Some((old, new)) => {
                    assert!(new <= old);
                    let changed: std::vec::Vec<usize> =
                        (0..len).filter(|&i| h[i] != before[i]).collect();
                    assert!(changed.len() <= 2);
                    if let Some(&i) = changed.first() {
                        assert!(i >= HEADER_LEN + 2);
                    }
                }
            }
        }
    }
}

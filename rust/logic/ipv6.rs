// SPDX-License-Identifier: GPL-2.0

//! IPv6 addresses and masks as text (RFC 4291 section 2.2 in, RFC 5952 out).

use core::fmt;

use super::{
    ipv4,
    prefix::{
        len_of_mask,
        AddrError,
        Bits, //
    },
};

/// An IPv6 address in host byte order (the first byte on the wire is the top byte).
pub(crate) type Ipv6 = u128;

/// Parses one side of a `::` into `groups`, returning how many 16-bit groups it held.
/// `last` says whether this side ends the address, where a dotted IPv4 tail is allowed.
fn parse_groups(text: &[u8], last: bool, groups: &mut [u16; 8]) -> Result<usize, AddrError> {
    if text.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    let mut parts = text.split(|&c| c == b':').peekable();
    while let Some(part) = parts.next() {
        let is_last_part = parts.peek().is_none();
        if last && is_last_part && part.contains(&b'.') {
            let v4 = ipv4::parse_addr(part)?;
            if n + 2 > 8 {
                return Err(AddrError::Syntax);
            }
            groups[n] = (v4 >> 16) as u16;
            groups[n + 1] = v4 as u16;
            n += 2;
            continue;
        }
        if part.is_empty() || part.len() > 4 || n == 8 {
            return Err(AddrError::Syntax);
        }
        let mut value: u16 = 0;
        for &c in part {
            let digit = (c as char).to_digit(16).ok_or(AddrError::Syntax)?;
            value = (value << 4) | digit as u16;
        }
        groups[n] = value;
        n += 1;
    }
    Ok(n)
}

/// Parses an IPv6 address such as `2001:db8::1` or `::ffff:192.0.2.1` (no zone).
pub(crate) fn parse_addr(text: &[u8]) -> Result<Ipv6, AddrError> {
    let mut head = [0u16; 8];
    let mut tail = [0u16; 8];
    let gap = text.windows(2).position(|w| w == b"::");
    let (nh, nt) = match gap {
        Some(at) => {
            let rest = &text[at + 2..];
            if rest.windows(2).any(|w| w == b"::") {
                return Err(AddrError::Syntax);
            }
            let nh = parse_groups(&text[..at], false, &mut head)?;
            let nt = parse_groups(rest, true, &mut tail)?;
            if nh + nt > 7 {
                return Err(AddrError::Syntax);
            }
            (nh, nt)
        }
        None => {
            let nh = parse_groups(text, true, &mut head)?;
            if nh != 8 {
                return Err(AddrError::Syntax);
            }
            (nh, 0)
        }
    };
    let mut addr: u128 = 0;
    for (i, group) in head[..nh].iter().enumerate() {
        addr |= u128::from(*group) << (112 - 16 * i);
    }
    for (i, group) in tail[..nt].iter().enumerate() {
        addr |= u128::from(*group) << (16 * (nt - 1 - i));
    }
    Ok(addr)
}

/// Parses a mask written as `/N` or as an IPv6 mask, giving its prefix length.
pub(crate) fn parse_mask(text: &[u8]) -> Result<u8, AddrError> {
    if text.starts_with(b"/") {
        return ipv4::parse_slash_len(text, u128::WIDTH);
    }
    len_of_mask(parse_addr(text)?)
}

/// Whether `addr` is link-local unicast (fe80::/10): such a router needs an interface.
pub(crate) fn is_link_local(addr: Ipv6) -> bool {
    addr >> 118 == 0x3fa
}

/// Whether `addr` is multicast (ff00::/8).
pub(crate) fn is_multicast(addr: Ipv6) -> bool {
    addr >> 120 == 0xff
}

/// `addr` in canonical text in `buf`: a `&str` for the kernel's log macros (see
/// `ipv4::dotted`).
pub(crate) fn canonical(addr: Ipv6, buf: &mut [u8; 48]) -> &str {
    use fmt::Write as _;
    let mut out = super::text::FixedBuf::new(buf);
    // The longest form, 39 octets (or 45 for an IPv4-mapped one), fits: writing cannot fail.
    let _ = write!(out, "{}", Canonical(addr));
    let len = out.as_bytes().len();
    core::str::from_utf8(&buf[..len]).unwrap_or("?")
}

/// Shows an address in the RFC 5952 canonical form.
pub(crate) struct Canonical(pub(crate) Ipv6);

impl fmt::Display for Canonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = self.0;
        // IPv4-mapped addresses keep their dotted tail (RFC 5952 section 5).
        if addr >> 32 == 0xffff {
            return write!(f, "::ffff:{}", ipv4::Dotted(addr as u32));
        }
        let groups: [u16; 8] = core::array::from_fn(|i| (addr >> (112 - 16 * i)) as u16);
        // The longest run of two or more zero groups, the first one on a tie.
        let (mut best_at, mut best_len) = (0, 0);
        let mut i = 0;
        while i < 8 {
            let run = groups[i..].iter().take_while(|g| **g == 0).count();
            if run > best_len {
                (best_at, best_len) = (i, run);
            }
            i += run.max(1);
        }
        if best_len < 2 {
            best_len = 0;
            best_at = 8;
        }
        for (i, group) in groups.iter().enumerate() {
            if i == best_at {
                f.write_str("::")?;
            }
            if i >= best_at && i < best_at + best_len {
                continue;
            }
            if i != 0 && i != best_at + best_len {
                f.write_str(":")?;
            }
            write!(f, "{group:x}")?;
        }
        Ok(())
    }
}

/// Test vectors shared by the host tests and the KUnit suite.
#[cfg(any(test, CONFIG_KUNIT))]
pub(crate) mod vectors {
    use super::AddrError::{
        self,
        Syntax, //
    };
    use core::fmt::Write;

    /// The names of the checks below: one host test and one KUnit case each.
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* ipv6 {
                ipv6_addresses_parse_and_print,
            });
        };
    }
    pub(crate) use checks;

    /// `parse_addr` inputs, results, and the canonical text of each valid one.
    pub(crate) const ADDRS: &[(&[u8], Result<u128, AddrError>, &str)] = &[
        (
            b"2001:db8::1",
            Ok(0x2001_0db8_0000_0000_0000_0000_0000_0001),
            "2001:db8::1",
        ),
        (b"::", Ok(0), "::"),
        (b"::1", Ok(1), "::1"),
        (b"1::", Ok(1 << 112), "1::"),
        (b"fe80::1", Ok(0xfe80 << 112 | 1), "fe80::1"),
        (
            b"2001:DB8:0:0:1:0:0:1",
            Ok(0x2001_0db8_0000_0000_0001_0000_0000_0001),
            "2001:db8::1:0:0:1",
        ),
        (
            b"2001:db8:0:1:1:1:1:1",
            Ok(0x2001_0db8_0000_0001_0001_0001_0001_0001),
            "2001:db8:0:1:1:1:1:1",
        ),
        (
            b"0:0:0:0:0:ffff:192.0.2.1",
            Ok(0xffff_c000_0201),
            "::ffff:192.0.2.1",
        ),
        (b"::192.0.2.1", Ok(0xc000_0201), "::c000:201"),
        (
            b"1:2:3:4:5:6:7:8",
            Ok(0x0001_0002_0003_0004_0005_0006_0007_0008),
            "1:2:3:4:5:6:7:8",
        ),
        (
            b"1:2:3:4:5:6:7::",
            Ok(0x0001_0002_0003_0004_0005_0006_0007_0000),
            "1:2:3:4:5:6:7:0",
        ),
        (b"", Err(Syntax), ""),
        (b":", Err(Syntax), ""),
        (b":::", Err(Syntax), ""),
        (b"1::2::3", Err(Syntax), ""),
        (b"1:2:3:4:5:6:7", Err(Syntax), ""),
        (b"1:2:3:4:5:6:7:8:9", Err(Syntax), ""),
        (b"1:2:3:4:5:6:7:8::", Err(Syntax), ""),
        (b"12345::", Err(Syntax), ""),
        (b"g::", Err(Syntax), ""),
        (b"1.2.3.4::", Err(Syntax), ""),
        (b"::1.2.3", Err(Syntax), ""),
        (b"1:", Err(Syntax), ""),
        (b":1", Err(Syntax), ""),
        (b"fe80::1%eth0", Err(Syntax), ""),
    ];

    /// `parse_addr` gives each result of `ADDRS`, and each valid address prints as its
    /// canonical text.
    pub(crate) fn ipv6_addresses_parse_and_print() -> Result<(), &'static str> {
        for (text, expected, canonical) in ADDRS {
            let got = super::parse_addr(text);
            if got != *expected {
                return Err("an IPv6 address parses otherwise than its vector says");
            }
            if let Ok(addr) = got {
                let mut storage = [0u8; 64];
                let mut out = crate::logic::text::FixedBuf::new(&mut storage);
                if write!(out, "{}", super::Canonical(addr)).is_err()
                    || out.as_bytes() != canonical.as_bytes()
                {
                    return Err("an IPv6 address prints otherwise than its canonical text");
                }
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([ipv6] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn addresses_parse_and_print_as_the_vectors_say() {
        for (text, expected, canonical) in vectors::ADDRS {
            let got = parse_addr(text);
            assert_eq!(got, *expected, "{:?}", core::str::from_utf8(text));
            if let Ok(addr) = got {
                assert_eq!(Canonical(addr).to_string(), *canonical);
            }
        }
    }

    #[test]
    fn canonical_text_round_trips() {
        // Addresses with zero runs of every length and place.
        let mut x: u128 = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
        for i in 0..100_000u32 {
            x = x
                .wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645)
                .wrapping_add(1);
            let mut addr = x;
            for g in 0..8 {
                if (i >> g) & 1 == 1 {
                    addr &= !(0xffffu128 << (16 * g));
                }
            }
            let text = Canonical(addr).to_string();
            assert_eq!(parse_addr(text.as_bytes()), Ok(addr), "{text}");
        }
    }

    #[test]
    fn masks_parse_in_both_forms() {
        assert_eq!(parse_mask(b"/64"), Ok(64));
        assert_eq!(parse_mask(b"/128"), Ok(128));
        assert_eq!(parse_mask(b"/129"), Err(AddrError::PrefixTooLong));
        assert_eq!(parse_mask(b"ffff:ffff:ffff:ffff::"), Ok(64));
        assert_eq!(parse_mask(b"ffff::ffff"), Err(AddrError::NonContiguousMask));
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        assert!(is_link_local(0xfe80 << 112));
        assert!(is_link_local(0xfebf << 112 | 5));
        assert!(!is_link_local(0xfec0 << 112));
        assert!(!is_link_local(0x2001 << 112));
    }
}

// SPDX-License-Identifier: GPL-2.0

//! IPv4 addresses and masks as text, as the `ip_domain` sysctl nodes take and show them.
//!
//! Text is strict: a dotted quad has exactly four decimal parts of 0..=255 without leading
//! zeros (`010` is octal to `inet_aton` and decimal to others, so it is refused rather than
//! guessed), and a mask is either a contiguous dotted mask or `/N`.

use core::fmt;

use super::prefix::{
    len_of_mask,
    AddrError,
    Bits, //
};

/// An IPv4 address in host byte order.
pub(crate) type Ipv4 = u32;

/// Parses a dotted quad such as `192.0.2.1`.
pub(crate) fn parse_addr(text: &[u8]) -> Result<Ipv4, AddrError> {
    let mut addr: u32 = 0;
    let mut parts = 0;
    for part in text.split(|&c| c == b'.') {
        if parts == 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return Err(AddrError::Syntax);
        }
        let mut value: u32 = 0;
        for &c in part {
            if !c.is_ascii_digit() {
                return Err(AddrError::Syntax);
            }
            value = value * 10 + u32::from(c - b'0');
        }
        if value > 255 {
            return Err(AddrError::Syntax);
        }
        addr = (addr << 8) | value;
        parts += 1;
    }
    if parts != 4 {
        return Err(AddrError::Syntax);
    }
    Ok(addr)
}

/// Parses `/N` (a decimal prefix length of at most `width`), giving `N`.
pub(crate) fn parse_slash_len(text: &[u8], width: u8) -> Result<u8, AddrError> {
    let digits = text.strip_prefix(b"/").ok_or(AddrError::Syntax)?;
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(AddrError::Syntax);
    }
    let len = digits
        .iter()
        .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    if len > u32::from(width) {
        return Err(AddrError::PrefixTooLong);
    }
    Ok(len as u8)
}

/// Parses a mask written as `/N` or as a dotted mask, giving its prefix length.
pub(crate) fn parse_mask(text: &[u8]) -> Result<u8, AddrError> {
    if text.starts_with(b"/") {
        return parse_slash_len(text, u32::WIDTH);
    }
    len_of_mask(parse_addr(text)?)
}

/// Shows an address as a dotted quad.
pub(crate) struct Dotted(pub(crate) Ipv4);

impl fmt::Display for Dotted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// `addr` as dotted text in `buf`: a `&str` for the kernel's log macros, which take no
/// `core::fmt::Display` of ours.
pub(crate) fn dotted(addr: Ipv4, buf: &mut [u8; 16]) -> &str {
    use fmt::Write as _;
    let mut out = super::text::FixedBuf::new(buf);
    // "255.255.255.255" fits in 16 octets: writing cannot fail.
    let _ = write!(out, "{}", Dotted(addr));
    let len = out.as_bytes().len();
    core::str::from_utf8(&buf[..len]).unwrap_or("?")
}

/// Test vectors shared by the host tests and the KUnit suite, so both check the same cases.
#[cfg(any(test, CONFIG_KUNIT))]
pub(crate) mod vectors {
    use super::AddrError::{
        self,
        NonContiguousMask,
        PrefixTooLong,
        Syntax, //
    };

    /// The names of the checks below: one host test and one KUnit case each.
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* ipv4 {
                ipv4_addresses_parse,
                ipv4_masks_parse,
            });
        };
    }
    pub(crate) use checks;

    /// `parse_addr` inputs and results.
    pub(crate) const ADDRS: &[(&[u8], Result<u32, AddrError>)] = &[
        (b"192.0.2.1", Ok(0xc000_0201)),
        (b"0.0.0.0", Ok(0)),
        (b"255.255.255.255", Ok(u32::MAX)),
        (b"10.0.0.255", Ok(0x0a00_00ff)),
        (b"", Err(Syntax)),
        (b"1.2.3", Err(Syntax)),
        (b"1.2.3.4.5", Err(Syntax)),
        (b"1.2.3.256", Err(Syntax)),
        (b"1.2..4", Err(Syntax)),
        (b"1.2.3.4.", Err(Syntax)),
        (b".1.2.3", Err(Syntax)),
        (b"01.2.3.4", Err(Syntax)),
        (b"1.2.3.1000", Err(Syntax)),
        (b"1.2.3.x", Err(Syntax)),
        (b"1.2.3.-1", Err(Syntax)),
        (b" 1.2.3.4", Err(Syntax)),
    ];

    /// `parse_mask` inputs and the prefix lengths they give.
    pub(crate) const MASKS: &[(&[u8], Result<u8, AddrError>)] = &[
        (b"/0", Ok(0)),
        (b"/24", Ok(24)),
        (b"/32", Ok(32)),
        (b"255.255.255.0", Ok(24)),
        (b"255.255.255.255", Ok(32)),
        (b"0.0.0.0", Ok(0)),
        (b"255.255.128.0", Ok(17)),
        (b"/33", Err(PrefixTooLong)),
        (b"/100", Err(PrefixTooLong)),
        (b"/", Err(Syntax)),
        (b"/1000", Err(Syntax)),
        (b"/2x", Err(Syntax)),
        (b"255.0.255.0", Err(NonContiguousMask)),
        (b"0.255.255.255", Err(NonContiguousMask)),
        (b"255.255.255.1", Err(NonContiguousMask)),
    ];

    /// `parse_addr` gives each result of `ADDRS`.
    pub(crate) fn ipv4_addresses_parse() -> Result<(), &'static str> {
        for (text, expected) in ADDRS {
            if super::parse_addr(text) != *expected {
                return Err("an IPv4 address parses otherwise than its vector says");
            }
        }
        Ok(())
    }

    /// `parse_mask` gives each prefix length of `MASKS`.
    pub(crate) fn ipv4_masks_parse() -> Result<(), &'static str> {
        for (text, expected) in MASKS {
            if super::parse_mask(text) != *expected {
                return Err("a mask parses otherwise than its vector says");
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([ipv4] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn dotted_text_fits_its_buffer_for_the_longest_address() {
        let mut buf = [0u8; 16];
        assert_eq!(dotted(u32::MAX, &mut buf), "255.255.255.255");
        assert_eq!(dotted(0xc000_0201, &mut buf), "192.0.2.1");
    }

    #[test]
    fn addresses_parse_as_the_vectors_say() {
        for (text, expected) in vectors::ADDRS {
            assert_eq!(
                parse_addr(text),
                *expected,
                "{:?}",
                core::str::from_utf8(text)
            );
        }
    }

    #[test]
    fn masks_parse_as_the_vectors_say() {
        for (text, expected) in vectors::MASKS {
            assert_eq!(
                parse_mask(text),
                *expected,
                "{:?}",
                core::str::from_utf8(text)
            );
        }
    }

    #[test]
    fn every_address_round_trips_through_text() {
        // A sample of the whole space, stepping by a prime so that every octet varies.
        let mut addr: u32 = 0;
        for _ in 0..200_000 {
            let text = Dotted(addr).to_string();
            assert_eq!(parse_addr(text.as_bytes()), Ok(addr));
            addr = addr.wrapping_add(21_474_829);
        }
    }

    #[test]
    fn every_prefix_length_round_trips_through_both_mask_forms() {
        for len in 0..=32u8 {
            let dotted = Dotted(<u32 as Bits>::mask(len)).to_string();
            assert_eq!(parse_mask(dotted.as_bytes()), Ok(len));
            assert_eq!(parse_mask(std::format!("/{len}").as_bytes()), Ok(len));
        }
    }
}

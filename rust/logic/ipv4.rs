// SPDX-License-Identifier: GPL-2.0

//! IPv4 addresses and prefixes as the draft's `ip_domain` writes them: text in, checked
//! values out.
//!
//! Text is strict: a dotted quad has exactly four decimal parts of 0..=255 without leading
//! zeros (`010` is octal to `inet_aton` and decimal to others, so it is refused rather than
//! guessed), and a mask is either a contiguous dotted mask or `/N`.

/// Why a piece of text is not a valid address, mask or prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not of the expected form.
    Syntax,
    /// A dotted mask whose one bits are not contiguous from the left.
    NonContiguousMask,
    /// A prefix length above 32.
    PrefixTooLong,
    /// The network address has bits set beyond the mask.
    HostBitsSet,
}

/// An IPv4 address in host byte order.
pub(crate) type Ipv4 = u32;

/// Parses a dotted quad such as `192.0.2.1`.
pub(crate) fn parse_addr(text: &[u8]) -> Result<Ipv4, ParseError> {
    let mut addr: u32 = 0;
    let mut parts = 0;
    for part in text.split(|&c| c == b'.') {
        if parts == 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0')
        {
            return Err(ParseError::Syntax);
        }
        let mut value: u32 = 0;
        for &c in part {
            if !c.is_ascii_digit() {
                return Err(ParseError::Syntax);
            }
            value = value * 10 + u32::from(c - b'0');
        }
        if value > 255 {
            return Err(ParseError::Syntax);
        }
        addr = (addr << 8) | value;
        parts += 1;
    }
    if parts != 4 {
        return Err(ParseError::Syntax);
    }
    Ok(addr)
}

/// The mask of a prefix of `len` bits (`len` <= 32).
pub(crate) fn mask_of_len(len: u8) -> u32 {
    match len {
        0 => 0,
        1..=32 => u32::MAX << (32 - u32::from(len)),
        _ => u32::MAX,
    }
}

/// Parses a mask written as `/N` or as a dotted mask, giving its prefix length.
pub(crate) fn parse_mask(text: &[u8]) -> Result<u8, ParseError> {
    if let Some(digits) = text.strip_prefix(b"/") {
        if digits.is_empty() || digits.len() > 2 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::Syntax);
        }
        let len = digits.iter().fold(0u8, |acc, &c| acc * 10 + (c - b'0'));
        if len > 32 {
            return Err(ParseError::PrefixTooLong);
        }
        return Ok(len);
    }
    let mask = parse_addr(text)?;
    let len = mask.leading_ones();
    if mask_of_len(len as u8) != mask {
        return Err(ParseError::NonContiguousMask);
    }
    Ok(len as u8)
}

/// A network: an address whose bits beyond `len` are zero, and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefix {
    addr: Ipv4,
    len: u8,
}

impl Prefix {
    /// The network `addr`/`len`; refuses host bits and lengths above 32.
    pub(crate) fn new(addr: Ipv4, len: u8) -> Result<Self, ParseError> {
        if len > 32 {
            return Err(ParseError::PrefixTooLong);
        }
        if addr & !mask_of_len(len) != 0 {
            return Err(ParseError::HostBitsSet);
        }
        Ok(Self { addr, len })
    }

    /// The network address.
    pub(crate) fn addr(&self) -> Ipv4 {
        self.addr
    }

    /// The prefix length.
    pub(crate) fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether `addr` lies inside the network.
    pub(crate) fn contains(&self, addr: Ipv4) -> bool {
        addr & mask_of_len(self.len) == self.addr
    }
}

/// Test vectors shared by the host tests and the KUnit suite, so both check the same cases.
#[cfg(any(test, CONFIG_KUNIT))]
pub(crate) mod vectors {
    use super::ParseError::{
        self,
        HostBitsSet,
        NonContiguousMask,
        PrefixTooLong,
        Syntax, //
    };

    /// `parse_addr` inputs and results.
    pub(crate) const ADDRS: &[(&[u8], Result<u32, ParseError>)] = &[
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
    pub(crate) const MASKS: &[(&[u8], Result<u8, ParseError>)] = &[
        (b"/0", Ok(0)),
        (b"/24", Ok(24)),
        (b"/32", Ok(32)),
        (b"255.255.255.0", Ok(24)),
        (b"255.255.255.255", Ok(32)),
        (b"0.0.0.0", Ok(0)),
        (b"255.255.128.0", Ok(17)),
        (b"/33", Err(PrefixTooLong)),
        (b"/", Err(Syntax)),
        (b"/100", Err(Syntax)),
        (b"/2x", Err(Syntax)),
        (b"255.0.255.0", Err(NonContiguousMask)),
        (b"0.255.255.255", Err(NonContiguousMask)),
        (b"255.255.255.1", Err(NonContiguousMask)),
    ];

    /// `Prefix::new` inputs.
    pub(crate) const PREFIXES: &[(u32, u8, Result<(), ParseError>)] = &[
        (0xc000_0200, 24, Ok(())),
        (0, 0, Ok(())),
        (0xc000_0201, 32, Ok(())),
        (0xc000_0201, 24, Err(HostBitsSet)),
        (0x0b00_0000, 7, Err(HostBitsSet)),
        (0x0a00_0000, 7, Ok(())),
        (0x0a00_0000, 33, Err(PrefixTooLong)),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_the_vectors_say() {
        for (text, expected) in vectors::ADDRS {
            assert_eq!(parse_addr(text), *expected, "{:?}", core::str::from_utf8(text));
        }
    }

    #[test]
    fn masks_parse_as_the_vectors_say() {
        for (text, expected) in vectors::MASKS {
            assert_eq!(parse_mask(text), *expected, "{:?}", core::str::from_utf8(text));
        }
    }

    #[test]
    fn prefixes_check_as_the_vectors_say() {
        for (addr, len, expected) in vectors::PREFIXES {
            assert_eq!(Prefix::new(*addr, *len).map(|_| ()), *expected);
        }
    }

    #[test]
    fn every_address_round_trips_through_text() {
        // A sample of the whole space, stepping by a prime so that every octet varies.
        let mut addr: u32 = 0;
        for _ in 0..200_000 {
            let [a, b, c, d] = addr.to_be_bytes();
            let text = std::format!("{a}.{b}.{c}.{d}");
            assert_eq!(parse_addr(text.as_bytes()), Ok(addr));
            addr = addr.wrapping_add(21_474_829);
        }
    }

    #[test]
    fn every_prefix_length_round_trips_through_both_mask_forms() {
        for len in 0..=32u8 {
            let [a, b, c, d] = mask_of_len(len).to_be_bytes();
            let dotted = std::format!("{a}.{b}.{c}.{d}");
            assert_eq!(parse_mask(dotted.as_bytes()), Ok(len));
            assert_eq!(parse_mask(std::format!("/{len}").as_bytes()), Ok(len));
        }
    }

    #[test]
    fn a_prefix_contains_exactly_its_addresses() {
        let net = Prefix::new(0xc633_6400, 24).unwrap();
        assert!(net.contains(0xc633_6400));
        assert!(net.contains(0xc633_64ff));
        assert!(!net.contains(0xc633_6500));
        assert!(!net.contains(0xc633_63ff));
        assert!(Prefix::new(0, 0).unwrap().contains(u32::MAX));
    }
}

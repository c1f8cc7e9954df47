// SPDX-License-Identifier: GPL-2.0

//! Address prefixes, generic over the width of the address (IPv4 in a `u32`, IPv6 in a
//! `u128`, both in host byte order so that bit 0 of the prefix is the top bit).

use core::ops::{
    BitAnd,
    Not, //
};

/// The bits of an address: `u32` for IPv4, `u128` for IPv6.
pub(crate) trait Bits: Copy + Eq + BitAnd<Output = Self> + Not<Output = Self> {
    /// Width of the address in bits.
    const WIDTH: u8;
    /// The all-zero address.
    const ZERO: Self;

    /// The mask of the first `len` bits; `len` is at most [`Self::WIDTH`].
    fn mask(len: u8) -> Self;

    /// The number of leading one bits.
    fn leading_ones(self) -> u32;

    /// The last eight bits of the address shifted right by `shift` (below
    /// [`Self::WIDTH`]; beyond, it wraps, and some eight bits come back).
    fn low_octet(self, shift: u32) -> u8;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    const ZERO: Self = 0;

    fn mask(len: u8) -> Self {
        u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0)
    }

    fn leading_ones(self) -> u32 {
        u32::leading_ones(self)
    }

    fn low_octet(self, shift: u32) -> u8 {
        self.wrapping_shr(shift) as u8
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
    const ZERO: Self = 0;

    fn mask(len: u8) -> Self {
        u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0)
    }

    fn leading_ones(self) -> u32 {
        u128::leading_ones(self)
    }

    fn low_octet(self, shift: u32) -> u8 {
        self.wrapping_shr(shift) as u8
    }
}

/// Addresses of one family as they travel: network byte order, 4 or 16 octets.
pub(crate) trait WireAddr: Bits {
    /// Octets on the wire.
    const LEN: usize;
    /// Reads an address from exactly [`WireAddr::LEN`] octets.
    fn read(octets: &[u8]) -> Option<Self>;
    /// Writes the address into exactly [`WireAddr::LEN`] octets.
    fn write(self, out: &mut [u8]);
}

impl WireAddr for u32 {
    const LEN: usize = 4;
    fn read(octets: &[u8]) -> Option<Self> {
        Some(u32::from_be_bytes(octets.get(..4)?.try_into().ok()?))
    }
    fn write(self, out: &mut [u8]) {
        if let Some(out) = out.get_mut(..4) {
            out.copy_from_slice(&self.to_be_bytes());
        }
    }
}

impl WireAddr for u128 {
    const LEN: usize = 16;
    fn read(octets: &[u8]) -> Option<Self> {
        Some(u128::from_be_bytes(octets.get(..16)?.try_into().ok()?))
    }
    fn write(self, out: &mut [u8]) {
        if let Some(out) = out.get_mut(..16) {
            out.copy_from_slice(&self.to_be_bytes());
        }
    }
}

/// Why a piece of text is not a valid address, mask or prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrError {
    /// Not of the expected form.
    Syntax,
    /// A mask whose one bits are not contiguous from the left.
    NonContiguousMask,
    /// A prefix length above the address width.
    PrefixTooLong,
    /// The network address has bits set beyond the mask.
    HostBitsSet,
}

/// The prefix length of a mask, if its one bits are contiguous from the left.
pub(crate) fn len_of_mask<B: Bits>(mask: B) -> Result<u8, AddrError> {
    // `leading_ones` is at most the width, which fits in a `u8`.
    let len = mask.leading_ones() as u8;
    if B::mask(len) == mask {
        Ok(len)
    } else {
        Err(AddrError::NonContiguousMask)
    }
}

/// A network: an address whose bits beyond `len` are zero, and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefix<B: Bits> {
    addr: B,
    /// The mask of `len`, kept so that [`Prefix::contains`], on every packet, does not
    /// compute it.
    mask: B,
    len: u8,
}

impl<B: Bits> Prefix<B> {
    /// `0/0`, which holds every address.
    pub(crate) const ANY: Self = Self {
        addr: B::ZERO,
        mask: B::ZERO,
        len: 0,
    };

    /// The network `addr`/`len`; refuses host bits and lengths above the width.
    pub(crate) fn new(addr: B, len: u8) -> Result<Self, AddrError> {
        if len > B::WIDTH {
            return Err(AddrError::PrefixTooLong);
        }
        if addr & !B::mask(len) != B::ZERO {
            return Err(AddrError::HostBitsSet);
        }
        Ok(Self {
            addr,
            mask: B::mask(len),
            len,
        })
    }

    /// The network address.
    pub(crate) fn addr(&self) -> B {
        self.addr
    }

    /// The prefix length.
    pub(crate) fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether `addr` lies inside the network.
    pub(crate) fn contains(&self, addr: B) -> bool {
        addr & self.mask == self.addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_have_the_right_number_of_bits() {
        assert_eq!(<u32 as Bits>::mask(0), 0);
        assert_eq!(<u32 as Bits>::mask(1), 0x8000_0000);
        assert_eq!(<u32 as Bits>::mask(32), u32::MAX);
        assert_eq!(<u128 as Bits>::mask(0), 0);
        assert_eq!(<u128 as Bits>::mask(64), u128::MAX << 64);
        assert_eq!(<u128 as Bits>::mask(128), u128::MAX);
        for len in 0..=128u8 {
            assert_eq!(len_of_mask(<u128 as Bits>::mask(len)), Ok(len));
        }
    }

    #[test]
    fn prefixes_refuse_host_bits_and_long_lengths() {
        assert_eq!(
            Prefix::new(0x2001_0db8u128 << 96, 32).map(|p| p.prefix_len()),
            Ok(32)
        );
        assert_eq!(Prefix::new(1u128, 127), Err(AddrError::HostBitsSet));
        assert_eq!(Prefix::new(0u128, 129), Err(AddrError::PrefixTooLong));
        assert_eq!(
            len_of_mask(0xff00_ff00u32),
            Err(AddrError::NonContiguousMask)
        );
    }
}

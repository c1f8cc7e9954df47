// SPDX-License-Identifier: GPL-2.0

//! Small text helpers for sysctl values: a fixed buffer to format into, and trimming.

use core::fmt;

/// A `fmt::Write` into a fixed byte buffer; writing past its end is an error, not a cut.
pub(crate) struct FixedBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> FixedBuf<'a> {
    /// A writer into `buf`, empty.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// The bytes written so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// How many bytes were written.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl fmt::Write for FixedBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `text` without leading and trailing ASCII white space (sysctl(8) appends a newline).
pub(crate) fn trim(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &text[start..end]
}

/// Parses a decimal integer without sign, leading zeros (other than `0` itself) or spaces.
pub(crate) fn parse_decimal(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || (text.len() > 1 && text[0] == b'0') {
        return None;
    }
    text.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn fixed_buf_refuses_to_overflow() {
        let mut storage = [0u8; 8];
        let mut buf = FixedBuf::new(&mut storage);
        assert!(write!(buf, "1234").is_ok());
        assert!(write!(buf, "56789").is_err());
        assert_eq!(buf.as_bytes(), b"1234");
        assert_eq!(buf.len(), 4);
    }

    #[test]
    fn trim_strips_white_space_only_at_the_ends() {
        assert_eq!(trim(b"  1.2.3.4\n"), b"1.2.3.4");
        assert_eq!(trim(b"a b"), b"a b");
        assert_eq!(trim(b"\n"), b"");
        assert_eq!(trim(b""), b"");
    }

    #[test]
    fn decimals_are_strict() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"16"), Some(16));
        assert_eq!(parse_decimal(b"016"), None);
        assert_eq!(parse_decimal(b"-1"), None);
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"1 "), None);
        assert_eq!(parse_decimal(b"9999999999"), None);
    }
}

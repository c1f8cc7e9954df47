// SPDX-License-Identifier: GPL-2.0

//! The services opportunistic protection is limited to: their ports
//! (`net.ipv4.sitemh_lf.auto_ports`), up to eight ports or ranges, "22 443 8000-8080",
//! empty, every port; and their cgroup (`net.ipv4.sitemh_lf.auto_cgroup`), a path of the
//! cgroup v2 hierarchy, empty, every cgroup.

use core::fmt;

/// How many ports or ranges the knob holds.
pub(crate) const PORT_RANGES_MAX: usize = 8;

/// A set of port ranges; none means every port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PortRanges {
    ranges: [(u16, u16); PORT_RANGES_MAX],
    len: usize,
}

impl PortRanges {
    /// Parses `text` (trimmed): ports or `low-high` ranges (1..=65535, low <= high)
    /// separated by spaces or commas; empty text, every port. `None` if anything is
    /// malformed or there are more than `PORT_RANGES_MAX`.
    pub(crate) fn parse(text: &[u8]) -> Option<Self> {
        let mut out = Self::default();
        for word in text
            .split(|&c| c == b' ' || c == b',' || c.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
        {
            let (low, high) = match word.iter().position(|&c| c == b'-') {
                Some(at) => (port(&word[..at])?, port(&word[at + 1..])?),
                None => {
                    let p = port(word)?;
                    (p, p)
                }
            };
            if low > high {
                return None;
            }
            *out.ranges.get_mut(out.len)? = (low, high);
            out.len += 1;
        }
        Some(out)
    }

    /// Whether `port` is one of them (every port if there are none): what `packed_allows`,
    /// the packet path's form, must agree with (tests and fuzzing compare them).
    #[allow(dead_code)]
    pub(crate) fn allows(&self, port: u16) -> bool {
        self.len == 0
            || self.ranges[..self.len]
                .iter()
                .any(|&(low, high)| (low..=high).contains(&port))
    }

    /// The ranges as `low << 16 | high`, 0 for an unused entry (no range starts at 0):
    /// what atomics of the packet path hold.
    pub(crate) fn packed(&self) -> [u32; PORT_RANGES_MAX] {
        let mut out = [0; PORT_RANGES_MAX];
        for (o, &(low, high)) in out.iter_mut().zip(&self.ranges[..self.len]) {
            *o = u32::from(low) << 16 | u32::from(high);
        }
        out
    }

    /// The ranges of `packed` (its non-zero entries).
    pub(crate) fn from_packed(packed: &[u32; PORT_RANGES_MAX]) -> Self {
        let mut out = Self::default();
        for &p in packed.iter().filter(|&&p| p != 0) {
            out.ranges[out.len] = ((p >> 16) as u16, p as u16);
            out.len += 1;
        }
        out
    }

    /// Whether `port` is allowed by the packed ranges `packed` (as `allows`), read one
    /// entry at a time.
    pub(crate) fn packed_allows(packed: impl Iterator<Item = u32>, port: u16) -> bool {
        let mut any = false;
        for p in packed.filter(|&p| p != 0) {
            any = true;
            if ((p >> 16) as u16..=p as u16).contains(&port) {
                return true;
            }
        }
        !any
    }
}

/// The longest cgroup path `auto_cgroup` takes (octets).
pub(crate) const CGROUP_PATH_MAX: usize = 255;

/// Whether `text` (trimmed) is a cgroup path `auto_cgroup` takes: "/" then names separated
/// by "/" (no empty name, none "." or ".."), UTF-8, printable, without white space, at most
/// [`CGROUP_PATH_MAX`] octets. Whether the cgroup exists is the kernel's to say; the
/// empty text (no limit) is not a path.
pub(crate) fn cgroup_path_valid(text: &[u8]) -> bool {
    let Some(rest) = text.strip_prefix(b"/") else {
        return false;
    };
    if text.len() > CGROUP_PATH_MAX || core::str::from_utf8(text).is_err() {
        return false;
    }
    if text.iter().any(|&c| c < 0x20 || c == 0x7f || c == b' ') {
        return false;
    }
    // "/" alone is the namespace's root cgroup: every socket, allowed.
    rest.is_empty()
        || rest
            .split(|&c| c == b'/')
            .all(|name| !name.is_empty() && name != b"." && name != b"..")
}

/// A port: a decimal 1..=65535.
fn port(text: &[u8]) -> Option<u16> {
    let v = super::text::parse_decimal(text)?;
    u16::try_from(v).ok().filter(|&p| p != 0)
}

impl fmt::Display for PortRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(low, high)) in self.ranges[..self.len].iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if low == high {
                write!(f, "{}", low)?;
            } else {
                write!(f, "{}-{}", low, high)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn ports_and_ranges_parse_and_show_back() {
        let r = PortRanges::parse(b"22 443,8000-8080").unwrap();
        assert_eq!(format!("{}", r), "22 443 8000-8080");
        assert_eq!(PortRanges::parse(format!("{}", r).as_bytes()), Some(r));
        assert!(r.allows(22) && r.allows(443) && r.allows(8000) && r.allows(8080));
        assert!(!r.allows(21) && !r.allows(7999) && !r.allows(8081) && !r.allows(5201));
    }

    #[test]
    fn empty_allows_every_port() {
        let r = PortRanges::parse(b"").unwrap();
        assert_eq!(format!("{}", r), "");
        assert!(r.allows(1) && r.allows(65535));
        assert!(PortRanges::packed_allows(r.packed().into_iter(), 5201));
    }

    #[test]
    fn cgroup_paths() {
        for ok in [
            &b"/"[..],
            b"/sitemh",
            b"/system.slice/nginx.service",
            b"/a/b/c",
        ] {
            assert!(cgroup_path_valid(ok), "{:?}", ok);
        }
        let long = [b'a'; CGROUP_PATH_MAX];
        let mut too_long = [b'/'; CGROUP_PATH_MAX + 1];
        too_long[1..].copy_from_slice(&long);
        assert!(cgroup_path_valid(&too_long[..CGROUP_PATH_MAX]));
        assert!(!cgroup_path_valid(&too_long));
        for bad in [
            &b""[..],
            b"sitemh",
            b"//",
            b"/a//b",
            b"/a/",
            b"/a/../b",
            b"/.",
            b"/a b",
            b"/a\tb",
            b"/a\0b",
            b"/\xff",
        ] {
            assert!(!cgroup_path_valid(bad), "{:?}", bad);
        }
    }

    #[test]
    fn malformed_is_refused() {
        for bad in [
            &b"0"[..],
            b"65536",
            b"80-22",
            b"-22",
            b"22-",
            b"a",
            b"22--23",
            b"1 2 3 4 5 6 7 8 9",
            b"022",
        ] {
            assert_eq!(
                PortRanges::parse(bad),
                None,
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
        assert!(PortRanges::parse(b"1 2 3 4 5 6 7 8").is_some());
    }

    #[test]
    fn packed_form_agrees_with_the_ranges() {
        let r = PortRanges::parse(b"1 80-90 65535").unwrap();
        let packed = r.packed();
        assert_eq!(PortRanges::from_packed(&packed), r);
        for port in [1u16, 2, 79, 80, 85, 90, 91, 65534, 65535] {
            assert_eq!(
                PortRanges::packed_allows(packed.into_iter(), port),
                r.allows(port),
                "{}",
                port
            );
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! IP address stacking (draft 2.2.1): a packet of a mobile node, or of a node with a
//! provider-independent address, travels between care-of addresses (real local prefixes, so
//! that source-domain routing still decides by them) and carries the home addresses beside
//! them, for the receiver to restore.
//!
//! Which addresses are stacked is the *stacking type*:
//!
//! | type | IP source | IP destination | stacked |
//! | --- | --- | --- | --- |
//! | 0 | the sender | the receiver's care-of | the receiver's home |
//! | 1 | the sender's care-of | the receiver | the sender's home |
//! | 2 | the sender's care-of | the receiver's care-of | the sender's home, then the receiver's |
//!
//! IPv4 carries them in option `CODE(144)` (copied, class 0, number 16), laid out as the
//! draft's figures show: the code, the stacking type, two reserved octets, the addresses.
//! The draft gives the option no length octet: its length follows from the type (8 octets
//! for types 0 and 1, 12 for type 2: IP header lengths 7 and 8 words when it is the only
//! option). IANA lists option 144 as IMITD, hence [`IPV4_OPTION`] is a documented constant
//! the module can be told to change.
//!
//! IPv6 carries them in a type 2 routing header (RFC 6275 section 6.4) whose first reserved
//! octet holds the stacking type: Hdr Ext Len 2 with one address (types 0 and 1), 4 with
//! two (type 2), Segments Left 1. Type 0 is RFC 6275's own header.
//!
//! Everything here is parsed within the bounds given and never past a length the data
//! states; reserved octets are written as zero and ignored when read, as the draft says.

/// The IPv4 option's type octet, `CODE(144)`: copied flag, class 0, number 16.
pub(crate) const IPV4_OPTION: u8 = 144;
/// IPv4 options that have no length octet.
const IPOPT_END: u8 = 0;
const IPOPT_NOOP: u8 = 1;
/// The most octets of IPv4 options (a header of 15 words).
pub(crate) const IPV4_OPTIONS_MAX: usize = 40;
/// The IPv6 routing type.
pub(crate) const ROUTING_TYPE: u8 = 2;

/// How the IPv4 option's first four octets are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ipv4Layout {
    /// The draft's figures: code, stacking type, two reserved octets.
    Draft,
    /// Code, length (as RFC 791 requires of every option but END and NOOP), stacking
    /// type, one reserved octet: what routers forward.
    Rfc791,
}

/// The addresses a packet stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stacking<A> {
    /// Type 0: the receiver is away; its home address.
    Receiver { receiver_home: A },
    /// Type 1: the sender is away; its home address.
    Sender { sender_home: A },
    /// Type 2: both are away.
    Both { sender_home: A, receiver_home: A },
}

/// Why stacked addresses were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StackingError {
    /// Fewer octets than the header or option needs.
    Truncated,
    /// A stacking type other than 0, 1 and 2.
    UnknownType(u8),
    /// A length octet that disagrees with the stacking type, or an IPv4 option whose own
    /// length is impossible.
    WrongLength,
    /// An IPv6 routing header of another type, or with Segments Left other than 1.
    NotStacking,
    /// Two stacking options in one packet.
    Duplicate,
    /// An address no node can have as its home address (unspecified, loopback,
    /// multicast, broadcast).
    BadAddress,
}

impl<A: Copy> Stacking<A> {
    /// The stacking type (0, 1 or 2).
    pub(crate) fn stacking_type(&self) -> u8 {
        match self {
            Self::Receiver { .. } => 0,
            Self::Sender { .. } => 1,
            Self::Both { .. } => 2,
        }
    }

    /// The sender's home address, if stacked.
    pub(crate) fn sender_home(&self) -> Option<A> {
        match *self {
            Self::Sender { sender_home } | Self::Both { sender_home, .. } => Some(sender_home),
            Self::Receiver { .. } => None,
        }
    }

    /// The receiver's home address, if stacked.
    pub(crate) fn receiver_home(&self) -> Option<A> {
        match *self {
            Self::Receiver { receiver_home } | Self::Both { receiver_home, .. } => {
                Some(receiver_home)
            }
            Self::Sender { .. } => None,
        }
    }

    /// The type that stacks a sender's and a receiver's home addresses (`None`: the
    /// node uses its care-of, or only, address); `None` if neither is away.
    pub(crate) fn of(sender_home: Option<A>, receiver_home: Option<A>) -> Option<Self> {
        match (sender_home, receiver_home) {
            (None, None) => None,
            (None, Some(receiver_home)) => Some(Self::Receiver { receiver_home }),
            (Some(sender_home), None) => Some(Self::Sender { sender_home }),
            (Some(sender_home), Some(receiver_home)) => Some(Self::Both {
                sender_home,
                receiver_home,
            }),
        }
    }

    fn count(stacking_type: u8) -> Result<usize, StackingError> {
        match stacking_type {
            0 | 1 => Ok(1),
            2 => Ok(2),
            t => Err(StackingError::UnknownType(t)),
        }
    }

    fn from_addrs(stacking_type: u8, first: A, second: A) -> Self {
        match stacking_type {
            0 => Self::Receiver {
                receiver_home: first,
            },
            1 => Self::Sender { sender_home: first },
            _ => Self::Both {
                sender_home: first,
                receiver_home: second,
            },
        }
    }

    fn addrs(&self) -> [Option<A>; 2] {
        match *self {
            Self::Receiver { receiver_home } => [Some(receiver_home), None],
            Self::Sender { sender_home } => [Some(sender_home), None],
            Self::Both {
                sender_home,
                receiver_home,
            } => [Some(sender_home), Some(receiver_home)],
        }
    }
}

/// An address family's home addresses; the default is the unspecified address.
pub(crate) trait HomeAddr: Copy + Default + PartialEq + core::fmt::Debug {
    /// Octets on the wire.
    const LEN: usize;
    /// Whether a node can have it as its home address.
    fn usable_as_home(self) -> bool;
    fn read(octets: &[u8]) -> Self;
    fn write(self, out: &mut [u8]);
}

impl HomeAddr for u32 {
    const LEN: usize = 4;

    /// Unicast and routable beyond the link: not in 0/8 ("this network"), 127/8
    /// (loopback), 169.254/16 (link-local), 224/4 (multicast) or 240/4 (reserved and the
    /// limited broadcast).
    fn usable_as_home(self) -> bool {
        let first = self >> 24;
        first != 0 && first != 127 && first < 224 && self >> 16 != 0xa9fe
    }

    fn read(octets: &[u8]) -> Self {
        let mut a = [0u8; 4];
        a.copy_from_slice(&octets[..4]);
        u32::from_be_bytes(a)
    }

    fn write(self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.to_be_bytes());
    }
}

impl HomeAddr for u128 {
    const LEN: usize = 16;

    /// Unicast and routable beyond the link: not the unspecified or loopback address,
    /// IPv4-compatible (::/96) or IPv4-mapped (::ffff:0:0/96), link-local (fe80::/10) or
    /// multicast (ff00::/8).
    fn usable_as_home(self) -> bool {
        let top96 = self >> 32;
        top96 != 0 && top96 != 0xffff && (self >> 118) != 0x3fa && (self >> 120) != 0xff
    }

    fn read(octets: &[u8]) -> Self {
        let mut a = [0u8; 16];
        a.copy_from_slice(&octets[..16]);
        u128::from_be_bytes(a)
    }

    fn write(self, out: &mut [u8]) {
        out[..16].copy_from_slice(&self.to_be_bytes());
    }
}

/// Reads the addresses after a stacking header of `head` octets; `bytes` holds exactly
/// the header or option.
fn read_addrs<A: HomeAddr>(
    stacking_type: u8,
    bytes: &[u8],
    head: usize,
) -> Result<Stacking<A>, StackingError> {
    let count = Stacking::<A>::count(stacking_type)?;
    if bytes.len() < head + count * A::LEN {
        return Err(StackingError::Truncated);
    }
    let first = A::read(&bytes[head..]);
    let second = if count == 2 {
        A::read(&bytes[head + A::LEN..])
    } else {
        first
    };
    if !first.usable_as_home() || !second.usable_as_home() {
        return Err(StackingError::BadAddress);
    }
    Ok(Stacking::from_addrs(stacking_type, first, second))
}

/// Octets of the IPv4 stacking option for `stacking_type`.
pub(crate) fn ipv4_option_len(stacking_type: u8) -> Result<usize, StackingError> {
    Ok(4 + Stacking::<u32>::count(stacking_type)? * 4)
}

/// Finds the stacking option in an IPv4 header's options (`options`: the octets after the
/// first 20, as many as the header length says), laid out as `layout` says. Other options
/// are stepped over by their length octets; a malformed one is an error, as the stack
/// would find it.
pub(crate) fn parse_ipv4_options(
    options: &[u8],
    layout: Ipv4Layout,
) -> Result<Option<Stacking<u32>>, StackingError> {
    Ok(find_ipv4_option(options, layout)?.map(|(_, stacking)| stacking))
}

/// As [`parse_ipv4_options`], with where the stacking option starts in `options`.
pub(crate) fn find_ipv4_option(
    options: &[u8],
    layout: Ipv4Layout,
) -> Result<Option<(usize, Stacking<u32>)>, StackingError> {
    let mut found = None;
    let mut at = 0;
    while at < options.len() {
        match options[at] {
            IPOPT_END => break,
            IPOPT_NOOP => at += 1,
            IPV4_OPTION => {
                let second = *options.get(at + 1).ok_or(StackingError::Truncated)?;
                let (stacking_type, stated) = match layout {
                    Ipv4Layout::Draft => (second, None),
                    Ipv4Layout::Rfc791 => (
                        *options.get(at + 2).ok_or(StackingError::Truncated)?,
                        Some(usize::from(second)),
                    ),
                };
                let len = ipv4_option_len(stacking_type)?;
                if stated.is_some_and(|stated| stated != len) {
                    return Err(StackingError::WrongLength);
                }
                let option = options.get(at..at + len).ok_or(StackingError::Truncated)?;
                let stacking = read_addrs(stacking_type, option, 4)?;
                if found.replace((at, stacking)).is_some() {
                    return Err(StackingError::Duplicate);
                }
                at += len;
            }
            _ => {
                let len = usize::from(*options.get(at + 1).ok_or(StackingError::Truncated)?);
                if len < 2 {
                    return Err(StackingError::WrongLength);
                }
                if at + len > options.len() {
                    return Err(StackingError::Truncated);
                }
                at += len;
            }
        }
    }
    Ok(found)
}

/// Writes the IPv4 stacking option into `out`, laid out as `layout` says; returns its
/// length (8 or 12, a multiple of 4, so it needs no padding).
pub(crate) fn write_ipv4_option(
    stacking: &Stacking<u32>,
    layout: Ipv4Layout,
    out: &mut [u8],
) -> Result<usize, StackingError> {
    let stacking_type = stacking.stacking_type();
    let len = ipv4_option_len(stacking_type)?;
    let out = out.get_mut(..len).ok_or(StackingError::Truncated)?;
    let head = match layout {
        Ipv4Layout::Draft => [IPV4_OPTION, stacking_type, 0, 0],
        // At most 12: fits the octet.
        Ipv4Layout::Rfc791 => [IPV4_OPTION, len as u8, stacking_type, 0],
    };
    out[..4].copy_from_slice(&head);
    for (i, addr) in stacking.addrs().into_iter().flatten().enumerate() {
        addr.write(&mut out[4 + 4 * i..]);
    }
    Ok(len)
}

/// Octets of the IPv6 stacking routing header for `stacking_type`.
pub(crate) fn rh_len(stacking_type: u8) -> Result<usize, StackingError> {
    Ok(8 + Stacking::<u128>::count(stacking_type)? * 16)
}

/// Parses a type 2 routing header (`rh`: from its first octet; at least as long as its
/// Hdr Ext Len says). Returns the next header and the stacked addresses.
pub(crate) fn parse_rh(rh: &[u8]) -> Result<(u8, Stacking<u128>), StackingError> {
    let head = rh.get(..8).ok_or(StackingError::Truncated)?;
    let (next, ext_len, routing_type, segments_left, stacking_type) =
        (head[0], head[1], head[2], head[3], head[4]);
    if routing_type != ROUTING_TYPE || segments_left != 1 {
        return Err(StackingError::NotStacking);
    }
    let len = rh_len(stacking_type)?;
    if (usize::from(ext_len) + 1) * 8 != len {
        return Err(StackingError::WrongLength);
    }
    let header = rh.get(..len).ok_or(StackingError::Truncated)?;
    Ok((next, read_addrs(stacking_type, header, 8)?))
}

/// Writes a type 2 routing header with `next` as its next header; returns its length (24
/// or 40).
pub(crate) fn write_rh(
    next: u8,
    stacking: &Stacking<u128>,
    out: &mut [u8],
) -> Result<usize, StackingError> {
    let len = rh_len(stacking.stacking_type())?;
    let out = out.get_mut(..len).ok_or(StackingError::Truncated)?;
    let ext_len = (len / 8 - 1) as u8;
    out[..8].copy_from_slice(&[
        next,
        ext_len,
        ROUTING_TYPE,
        1,
        stacking.stacking_type(),
        0,
        0,
        0,
    ]);
    for (i, addr) in stacking.addrs().into_iter().flatten().enumerate() {
        addr.write(&mut out[8 + 16 * i..]);
    }
    Ok(len)
}

/// Cases shared by the host tests and KUnit.
pub(crate) mod vectors {
    use super::Ipv4Layout::{
        Draft,
        Rfc791, //
    };
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* stacking {
                ipv4_draft_layouts,
                ipv4_draft_refusals,
                ipv4_draft_truncations,
                ipv4_rfc791_layouts,
                ipv4_rfc791_refusals,
                ipv4_rfc791_truncations,
                ipv6_routing_header_layout,
                ipv6_routing_header_refusals,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    /// Home addresses of the documentation ranges.
    pub(crate) const HOME4: u32 = 0xc633_640a; // 198.51.100.10
    pub(crate) const PEER_HOME4: u32 = 0xcb00_710a; // 203.0.113.10
    pub(crate) const HOME6: u128 = 0x2001_0db8_0001_0000_0000_0000_0000_0010;

    /// Type 1 in IPv4, as the draft lays it out: IP header length 7.
    pub(crate) const IPV4_TYPE1: [u8; 8] = [144, 1, 0, 0, 198, 51, 100, 10];
    /// Type 2 in IPv4: IP header length 8.
    pub(crate) const IPV4_TYPE2: [u8; 12] = [144, 2, 0, 0, 198, 51, 100, 10, 203, 0, 113, 10];

    /// The same with a length octet (the module's default layout).
    pub(crate) const IPV4_TYPE1_RFC791: [u8; 8] = [144, 8, 1, 0, 198, 51, 100, 10];
    pub(crate) const IPV4_TYPE2_RFC791: [u8; 12] =
        [144, 12, 2, 0, 198, 51, 100, 10, 203, 0, 113, 10];

    /// Options areas that must be refused in the RFC 791 layout, with the reason.
    pub(crate) const BAD_IPV4_RFC791: &[(&[u8], StackingError)] = &[
        (&[144], StackingError::Truncated),
        (&[144, 8], StackingError::Truncated),
        (
            &[144, 12, 1, 0, 198, 51, 100, 10],
            StackingError::WrongLength,
        ),
        (
            &[144, 8, 2, 0, 198, 51, 100, 10],
            StackingError::WrongLength,
        ),
        (
            &[144, 1, 0, 0, 198, 51, 100, 10],
            StackingError::WrongLength,
        ),
        (
            &[144, 8, 7, 0, 198, 51, 100, 10],
            StackingError::UnknownType(7),
        ),
        (&[144, 8, 1, 0, 127, 0, 0, 1], StackingError::BadAddress),
        (
            &[
                144, 8, 0, 0, 198, 51, 100, 10, 144, 8, 1, 0, 203, 0, 113, 10,
            ],
            StackingError::Duplicate,
        ),
    ];

    /// Options areas that must be refused, with the reason.
    pub(crate) const BAD_IPV4: &[(&[u8], StackingError)] = &[
        (&[144], StackingError::Truncated),
        (&[144, 0, 0, 0, 198, 51, 100], StackingError::Truncated),
        (
            &[144, 3, 0, 0, 198, 51, 100, 10],
            StackingError::UnknownType(3),
        ),
        (&[144, 0, 0, 0, 0, 0, 0, 0], StackingError::BadAddress),
        (&[144, 1, 0, 0, 127, 0, 0, 1], StackingError::BadAddress),
        (&[144, 1, 0, 0, 224, 0, 0, 1], StackingError::BadAddress),
        (
            &[144, 1, 0, 0, 255, 255, 255, 255],
            StackingError::BadAddress,
        ),
        (
            &[
                144, 1, 0, 0, 198, 51, 100, 10, 144, 0, 0, 0, 203, 0, 113, 10,
            ],
            StackingError::Duplicate,
        ),
        // A record-route option claiming more octets than there are.
        (&[7, 39, 4, 0, 144, 1, 0, 0], StackingError::Truncated),
        (&[7, 1, 4, 0], StackingError::WrongLength),
    ];

    /// Type 1 (the sender's home address) and type 2 (both ends') of the vectors.
    const ONE: Stacking<u32> = Stacking::Sender { sender_home: HOME4 };
    const TWO: Stacking<u32> = Stacking::Both {
        sender_home: HOME4,
        receiver_home: PEER_HOME4,
    };
    /// Both home addresses in an IPv6 routing header.
    const BOTH6: Stacking<u128> = Stacking::Both {
        sender_home: HOME6,
        receiver_home: HOME6 + 1,
    };

    /// Types 1 and 2 in the draft's IPv4 layout, written and parsed.
    pub(crate) fn ipv4_draft_layouts() -> Result<(), &'static str> {
        let mut out = [0u8; 12];
        if write_ipv4_option(&ONE, Draft, &mut out) != Ok(8) || out[..8] != IPV4_TYPE1 {
            return Err("IPv4 type 1 layout");
        }
        if write_ipv4_option(&TWO, Draft, &mut out) != Ok(12) || out != IPV4_TYPE2 {
            return Err("IPv4 type 2 layout");
        }
        if parse_ipv4_options(&IPV4_TYPE1, Draft) != Ok(Some(ONE))
            || parse_ipv4_options(&IPV4_TYPE2, Draft) != Ok(Some(TWO))
        {
            return Err("IPv4 parse");
        }
        Ok(())
    }

    /// Every malformed options area of `BAD_IPV4` is refused for its reason.
    pub(crate) fn ipv4_draft_refusals() -> Result<(), &'static str> {
        for (area, why) in BAD_IPV4 {
            if parse_ipv4_options(area, Draft) != Err(*why) {
                return Err("IPv4 refusal");
            }
        }
        Ok(())
    }

    /// Every cut of type 2 in the draft's layout is truncated.
    pub(crate) fn ipv4_draft_truncations() -> Result<(), &'static str> {
        for cut in 1..IPV4_TYPE2.len() {
            if parse_ipv4_options(&IPV4_TYPE2[..cut], Draft) != Err(StackingError::Truncated) {
                return Err("IPv4 truncation");
            }
        }
        Ok(())
    }

    /// Types 1 and 2 in the RFC 791 layout (a length octet), written and parsed.
    pub(crate) fn ipv4_rfc791_layouts() -> Result<(), &'static str> {
        let mut out = [0u8; 12];
        if write_ipv4_option(&ONE, Rfc791, &mut out) != Ok(8) || out[..8] != IPV4_TYPE1_RFC791 {
            return Err("IPv4 type 1 RFC 791 layout");
        }
        if write_ipv4_option(&TWO, Rfc791, &mut out) != Ok(12) || out != IPV4_TYPE2_RFC791 {
            return Err("IPv4 type 2 RFC 791 layout");
        }
        if parse_ipv4_options(&IPV4_TYPE1_RFC791, Rfc791) != Ok(Some(ONE))
            || parse_ipv4_options(&IPV4_TYPE2_RFC791, Rfc791) != Ok(Some(TWO))
        {
            return Err("IPv4 RFC 791 parse");
        }
        Ok(())
    }

    /// Every malformed options area of `BAD_IPV4_RFC791` is refused for its reason.
    pub(crate) fn ipv4_rfc791_refusals() -> Result<(), &'static str> {
        for (area, why) in BAD_IPV4_RFC791 {
            if parse_ipv4_options(area, Rfc791) != Err(*why) {
                return Err("IPv4 RFC 791 refusal");
            }
        }
        Ok(())
    }

    /// Every cut of type 2 in the RFC 791 layout is truncated.
    pub(crate) fn ipv4_rfc791_truncations() -> Result<(), &'static str> {
        for cut in 1..IPV4_TYPE2_RFC791.len() {
            if parse_ipv4_options(&IPV4_TYPE2_RFC791[..cut], Rfc791)
                != Err(StackingError::Truncated)
            {
                return Err("IPv4 RFC 791 truncation");
            }
        }
        Ok(())
    }

    /// Both home addresses in the IPv6 routing header, written and parsed.
    pub(crate) fn ipv6_routing_header_layout() -> Result<(), &'static str> {
        let mut rh = [0u8; 40];
        if write_rh(6, &BOTH6, &mut rh) != Ok(40) || rh[..8] != [6, 4, 2, 1, 2, 0, 0, 0] {
            return Err("routing header layout");
        }
        if parse_rh(&rh) != Ok((6, BOTH6)) {
            return Err("routing header parse");
        }
        Ok(())
    }

    /// Every cut of the routing header is truncated; a wrong length is refused.
    pub(crate) fn ipv6_routing_header_refusals() -> Result<(), &'static str> {
        let mut rh = [0u8; 40];
        if write_rh(6, &BOTH6, &mut rh) != Ok(40) {
            return Err("routing header layout");
        }
        for cut in 0..rh.len() {
            if parse_rh(&rh[..cut]) != Err(StackingError::Truncated) {
                return Err("routing header truncation");
            }
        }
        rh[1] = 2;
        if parse_rh(&rh) != Err(StackingError::WrongLength) {
            return Err("routing header length");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([stacking] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::vectors::*;
    use super::Ipv4Layout::{
        Draft,
        Rfc791, //
    };
    use super::*;

    /// What Linux's `ip_options_compile` (and any RFC 791 parser) does with an option it
    /// does not know: steps over it by its length octet, refusing a length below 2.
    fn rfc791_steps_over(options: &[u8]) -> bool {
        let mut at = 0;
        while at < options.len() {
            match options[at] {
                0 => return true,
                1 => at += 1,
                _ => match options.get(at + 1) {
                    Some(&len) if len >= 2 && at + usize::from(len) <= options.len() => {
                        at += usize::from(len)
                    }
                    _ => return false,
                },
            }
        }
        true
    }

    #[test]
    fn routers_step_over_the_rfc_791_layout_but_not_the_draft_s() {
        assert!(rfc791_steps_over(&IPV4_TYPE1_RFC791));
        assert!(rfc791_steps_over(&IPV4_TYPE2_RFC791));
        let zero = Stacking::Receiver {
            receiver_home: PEER_HOME4,
        };
        let mut out = [0u8; 12];
        assert_eq!(write_ipv4_option(&zero, Rfc791, &mut out), Ok(8));
        assert_eq!(out[..8], [144, 8, 0, 0, 203, 0, 113, 10]);
        assert!(rfc791_steps_over(&out[..8]));
        // The draft's types 0 and 1 read as lengths 0 and 1: refused.
        assert!(!rfc791_steps_over(&IPV4_TYPE1));
        assert!(!rfc791_steps_over(&[144, 0, 0, 0, 203, 0, 113, 10]));
        // Each layout refuses the other's types 0 and 1.
        assert!(parse_ipv4_options(&IPV4_TYPE1, Rfc791).is_err());
        assert!(parse_ipv4_options(&IPV4_TYPE1_RFC791, Draft).is_err());
    }

    #[test]
    fn malformed_rfc_791_options_are_refused() {
        for (area, why) in BAD_IPV4_RFC791 {
            assert_eq!(parse_ipv4_options(area, Rfc791), Err(*why), "{area:?}");
        }
    }

    #[test]
    fn ipv4_options_follow_the_draft_figures() {
        let one = Stacking::Sender { sender_home: HOME4 };
        let mut out = [0u8; 12];
        assert_eq!(write_ipv4_option(&one, Draft, &mut out), Ok(8));
        assert_eq!(out[..8], IPV4_TYPE1);
        // Header length 7: 20 octets, then the option's 8.
        assert_eq!((20 + 8) / 4, 7);
        let two = Stacking::Both {
            sender_home: HOME4,
            receiver_home: PEER_HOME4,
        };
        assert_eq!(write_ipv4_option(&two, Draft, &mut out), Ok(12));
        assert_eq!(out, IPV4_TYPE2);
        assert_eq!((20 + 12) / 4, 8);
        assert_eq!(parse_ipv4_options(&IPV4_TYPE1, Draft), Ok(Some(one)));
        assert_eq!(parse_ipv4_options(&IPV4_TYPE2, Draft), Ok(Some(two)));
        let zero = Stacking::Receiver {
            receiver_home: PEER_HOME4,
        };
        assert_eq!(write_ipv4_option(&zero, Draft, &mut out), Ok(8));
        assert_eq!(out[..8], [144, 0, 0, 0, 203, 0, 113, 10]);
    }

    #[test]
    fn the_type_follows_who_is_away() {
        assert_eq!(Stacking::<u32>::of(None, None), None);
        assert_eq!(
            Stacking::of(None, Some(1u32)).map(|s| s.stacking_type()),
            Some(0)
        );
        assert_eq!(
            Stacking::of(Some(1u32), None).map(|s| s.stacking_type()),
            Some(1)
        );
        assert_eq!(
            Stacking::of(Some(1u32), Some(2)).map(|s| s.stacking_type()),
            Some(2)
        );
        let both = Stacking::of(Some(1u32), Some(2));
        assert_eq!(both.and_then(|s| s.sender_home()), Some(1));
        assert_eq!(both.and_then(|s| s.receiver_home()), Some(2));
    }

    #[test]
    fn other_ipv4_options_are_stepped_over_and_reserved_octets_ignored() {
        let mut area = [0u8; 16];
        area[..4].copy_from_slice(&[1, 1, 1, 1]);
        area[4..12].copy_from_slice(&IPV4_TYPE1);
        area[6] = 0xaa; // reserved: ignored when read
        assert_eq!(
            parse_ipv4_options(&area, Draft),
            Ok(Some(Stacking::Sender { sender_home: HOME4 }))
        );
        // A timestamp option of 8 octets before it.
        let mut area = [0u8; 16];
        area[..8].copy_from_slice(&[68, 8, 5, 0, 0, 0, 0, 0]);
        area[8..].copy_from_slice(&IPV4_TYPE1);
        assert!(matches!(parse_ipv4_options(&area, Draft), Ok(Some(_))));
        assert_eq!(parse_ipv4_options(&[], Draft), Ok(None));
        assert_eq!(parse_ipv4_options(&[0, 144], Draft), Ok(None));
    }

    #[test]
    fn malformed_ipv4_options_are_refused() {
        for (area, why) in BAD_IPV4 {
            assert_eq!(parse_ipv4_options(area, Draft), Err(*why), "{area:?}");
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        for valid in [&IPV4_TYPE1[..], &IPV4_TYPE2[..]] {
            for cut in 1..valid.len() {
                assert_eq!(
                    parse_ipv4_options(&valid[..cut], Draft),
                    Err(StackingError::Truncated),
                    "{cut}"
                );
            }
        }
        let mut rh = [0u8; 40];
        let two = Stacking::Both {
            sender_home: HOME6,
            receiver_home: HOME6 + 1,
        };
        assert_eq!(write_rh(6, &two, &mut rh), Ok(40));
        for cut in 0..40 {
            assert_eq!(parse_rh(&rh[..cut]), Err(StackingError::Truncated), "{cut}");
        }
        assert_eq!(parse_rh(&rh), Ok((6, two)));
    }

    #[test]
    fn routing_headers_follow_the_draft_and_rfc_6275() {
        let zero = Stacking::Receiver {
            receiver_home: HOME6,
        };
        let mut rh = [0u8; 40];
        assert_eq!(write_rh(17, &zero, &mut rh), Ok(24));
        // RFC 6275's own type 2 header: next header, 2, type 2, segments left 1, reserved.
        assert_eq!(rh[..8], [17, 2, 2, 1, 0, 0, 0, 0]);
        assert_eq!(u128::from_be_bytes(rh[8..24].try_into().unwrap()), HOME6);
        assert_eq!(parse_rh(&rh[..24]), Ok((17, zero)));
        let one = Stacking::Sender { sender_home: HOME6 };
        assert_eq!(write_rh(6, &one, &mut rh), Ok(24));
        assert_eq!(rh[..8], [6, 2, 2, 1, 1, 0, 0, 0]);
        let two = Stacking::Both {
            sender_home: HOME6,
            receiver_home: HOME6 + 1,
        };
        assert_eq!(write_rh(6, &two, &mut rh), Ok(40));
        assert_eq!(rh[..8], [6, 4, 2, 1, 2, 0, 0, 0]);
    }

    #[test]
    fn malformed_routing_headers_are_refused() {
        let mut rh = [0u8; 40];
        let one = Stacking::Sender { sender_home: HOME6 };
        write_rh(6, &one, &mut rh).unwrap();
        let cases: &[(usize, u8, StackingError)] = &[
            (1, 4, StackingError::WrongLength), // Hdr Ext Len 4 for one address
            (1, 0, StackingError::WrongLength),
            (2, 0, StackingError::NotStacking), // type 0 routing header
            (3, 0, StackingError::NotStacking), // segments left 0
            (3, 2, StackingError::NotStacking),
            (4, 9, StackingError::UnknownType(9)),
            (4, 2, StackingError::WrongLength), // type 2 needs Hdr Ext Len 4
        ];
        for &(at, value, why) in cases {
            let mut bad = rh;
            bad[at] = value;
            assert_eq!(parse_rh(&bad), Err(why), "octet {at} = {value}");
        }
        for addr in [0u128, 1, 0xff02 << 112] {
            let mut bad = rh;
            bad[8..24].copy_from_slice(&addr.to_be_bytes());
            assert_eq!(parse_rh(&bad), Err(StackingError::BadAddress));
        }
    }

    /// Random input never panics nor reads past its end; whatever parses writes back to
    /// the same addresses.
    #[test]
    fn random_input_parses_cleanly_or_is_refused() {
        let mut next = crate::logic::xorshift(0x9e37_79b9_7f4a_7c15);
        let (mut parsed4, mut parsed6) = (0, 0);
        for _ in 0..200_000 {
            let len = (next() % 41) as usize;
            let mut bytes = [0u8; 40];
            for b in bytes.iter_mut().take(len) {
                // Bias toward the octets that matter, so that valid input occurs.
                *b = match next() % 4 {
                    0 => 144,
                    1 => (next() % 3) as u8,
                    _ => next() as u8,
                };
            }
            for layout in [Draft, Rfc791] {
                if let Ok(Some(s)) = parse_ipv4_options(&bytes[..len], layout) {
                    parsed4 += 1;
                    let mut out = [0u8; 12];
                    let n = write_ipv4_option(&s, layout, &mut out).unwrap();
                    assert_eq!(parse_ipv4_options(&out[..n], layout), Ok(Some(s)));
                }
            }
            bytes[2] = ROUTING_TYPE;
            bytes[3] = 1;
            if let Ok((next_header, s)) = parse_rh(&bytes[..len]) {
                parsed6 += 1;
                let mut out = [0u8; 40];
                let n = write_rh(next_header, &s, &mut out).unwrap();
                assert_eq!(parse_rh(&out[..n]), Ok((next_header, s)));
            }
        }
        assert!(parsed4 > 100 && parsed6 > 10, "{parsed4} {parsed6}");
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Wire format and replay protection of the draft's link-failure messages (section 2.1.2):
//! ICMP type 41 (`ICMP_LINKFAILURE`) with codes 1..4, and the sliding window that refuses a
//! replayed `SET_ALT_ROUTE` / `ALT_ROUTE_ESTABLISHED`.
//!
//! Layout (all integers in network byte order):
//!
//! ```text
//! codes 1, 2 (CE broadcasts), 5 (sitemh: link restored)
//!   0 type  1 code  2 checksum  4 gateway address (icmp_gwaddr: the PE / the failed CE)
//! codes 3, 4 (host to peer)
//!   0 type  1 code  2 checksum  4 unused (0)
//!   8 struct id_pcb in clear: protocol (1), 3 octets of padding, local address,
//!     foreign address, local port (2), foreign port (2)  -- 16 octets (IPv4), 40 (IPv6)
//!   record header: content type (1) = 41, version (2) = 0x0303, length (2) of what follows
//!   explicit nonce (8): the sender's sequence number
//!   AES-GCM ciphertext of: code (1), 3 octets zero, the sender's timestamp (8: ms of its
//!     monotonic clock when it sealed the message), alternate source, alternate destination
//!   tag (16)
//! codes 10, 11 (sitemh: route lists carried by the module, host to peer)
//!   as codes 3, 4, the AES-GCM ciphertext being: code (1), count n (1, 1..=4), 2 octets
//!     zero, the sender's timestamp (8), the sender's n addresses
//! ```
//!
//! The authenticated data of the AEAD is everything before the explicit nonce with the
//! checksum field zero, so the clear part (which selects the connection) is authenticated
//! too, not only the encrypted one.

use super::prefix::WireAddr;

/// The draft's ICMP type for link-failure messages (a module parameter may change it).
pub(crate) const ICMP_LINKFAILURE: u8 = 41;
/// CE router: its link to the PE failed; the gateway field holds the PE's address.
pub(crate) const CODE_CE_PE_LINK: u8 = 1;
/// CE router: a peer CE failed (missed keepalives); the gateway field holds its address.
pub(crate) const CODE_CE_FAILURE: u8 = 2;
/// Host to peer: move this connection to the alternate pair (encrypted part).
pub(crate) const CODE_SET_ALT_ROUTE: u8 = 3;
/// Peer to host: the alternate pair is in use.
pub(crate) const CODE_ALT_ROUTE_ESTABLISHED: u8 = 4;
/// sitemh's addition (the draft is silent on recovery): the link named in the gateway
/// field works again, so hosts may move back (with damping).
pub(crate) const CODE_LINK_RESTORED: u8 = 5;
/// sitemh's addition: a CE's keepalive to its peer CEs (unicast, TTL 255); the draft asks
/// for keepalives between CE routers without fixing their form.
pub(crate) const CODE_KEEPALIVE: u8 = 6;
/// sitemh's addition: a host asks its default router for the state of its links (unicast,
/// TTL 255, the gateway field zero); the router answers with unicast notices. (Codes 7 and
/// 8 are the binding update and its error, `binding_update.rs`.)
pub(crate) const CODE_SOLICIT: u8 = 9;
/// sitemh's addition (issue 19): for a connection registered without `SO_LFROUTES`, an
/// end's own addresses, sealed with the connection's keys like code 3; answer wanted.
pub(crate) const CODE_ROUTE_LIST: u8 = 10;
/// sitemh's addition: the answer to a route list, carrying the answerer's addresses.
pub(crate) const CODE_ROUTE_LIST_ACK: u8 = 11;
/// Most addresses in a route list: four per end make `SITEMH_MAX_LFROUTES` (16) routes.
pub(crate) const LIST_MAX: usize = 4;

/// Record content type of the encrypted part (the ICMP type, as a reminder of its user).
pub(crate) const RECORD_TYPE: u8 = 41;
/// Record version: TLS 1.2's.
pub(crate) const RECORD_VERSION: u16 = 0x0303;
/// Octets of the record header.
pub(crate) const RECORD_HEADER_LEN: usize = 5;
/// Octets of the explicit nonce (the sequence number).
pub(crate) const NONCE_LEN: usize = 8;
/// Octets of the AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;
/// Octets of the ICMP header.
pub(crate) const ICMP_HEADER_LEN: usize = 8;

/// Why a message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireError {
    /// Shorter than its fixed part or than its record header says.
    Truncated,
    /// Longer than its record header says.
    TrailingData,
    /// Not type 41, or a code this message form does not carry.
    WrongTypeOrCode,
    /// The record header is not ours (content type or version).
    BadRecord,
    /// The ICMP checksum does not verify.
    BadChecksum,
    /// An extension after a notice's draft fields that is not ours.
    UnknownExtension,
}

/// The draft's `struct id_pcb`: the connection's current 5-tuple, as the sender sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdPcb<B> {
    /// IPPROTO_TCP or IPPROTO_UDP.
    pub(crate) proto: u8,
    /// The sender's address.
    pub(crate) laddr: B,
    /// The receiver's address.
    pub(crate) faddr: B,
    /// The sender's port.
    pub(crate) lport: u16,
    /// The receiver's port.
    pub(crate) fport: u16,
}

impl<B: WireAddr> IdPcb<B> {
    /// Octets on the wire.
    pub(crate) const LEN: usize = 4 + 2 * B::LEN + 4;

    /// Writes the `struct id_pcb` into `out` ([`IdPcb::LEN`] octets).
    pub(crate) fn write(&self, out: &mut [u8]) {
        out[0] = self.proto;
        out[1..4].fill(0);
        self.laddr.write(&mut out[4..4 + B::LEN]);
        self.faddr.write(&mut out[4 + B::LEN..4 + 2 * B::LEN]);
        let ports = 4 + 2 * B::LEN;
        out[ports..ports + 2].copy_from_slice(&self.lport.to_be_bytes());
        out[ports + 2..ports + 4].copy_from_slice(&self.fport.to_be_bytes());
    }

    /// Reads a `struct id_pcb` from `octets`.
    pub(crate) fn read(octets: &[u8]) -> Option<Self> {
        let ports = 4 + 2 * B::LEN;
        let port = |at: usize| Some(u16::from_be_bytes(octets.get(at..at + 2)?.try_into().ok()?));
        Some(Self {
            proto: *octets.first()?,
            laddr: B::read(octets.get(4..4 + B::LEN)?)?,
            faddr: B::read(octets.get(4 + B::LEN..ports)?)?,
            lport: port(ports)?,
            fport: port(ports + 2)?,
        })
    }

    /// The same connection seen from the other end.
    pub(crate) fn reversed(&self) -> Self {
        Self {
            proto: self.proto,
            laddr: self.faddr,
            faddr: self.laddr,
            lport: self.fport,
            fport: self.lport,
        }
    }
}

/// The encrypted part's plaintext: the code again, when it was sealed, and the alternate
/// pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AltRoute<B> {
    /// Must equal the ICMP header's code.
    pub(crate) code: u8,
    /// The sender's clock (ms) when it sealed the message: a copy delayed well beyond the
    /// others is refused (sitemh's addition: the sequence numbers' window alone accepts a
    /// message held back while later ones passed).
    pub(crate) stamp: u64,
    /// The alternate source (the sender's address).
    pub(crate) src: B,
    /// The alternate destination (the receiver's address).
    pub(crate) dst: B,
}

impl<B: WireAddr> AltRoute<B> {
    /// Octets of the plaintext.
    pub(crate) const LEN: usize = 12 + 2 * B::LEN;

    /// Writes the plaintext into `out` ([`AltRoute::LEN`] octets; a shorter `out` is left
    /// alone).
    pub(crate) fn write(&self, out: &mut [u8]) {
        let Some(out) = out.get_mut(..Self::LEN) else {
            return;
        };
        out[0] = self.code;
        out[1..4].fill(0);
        out[4..12].copy_from_slice(&self.stamp.to_be_bytes());
        self.src.write(&mut out[12..12 + B::LEN]);
        self.dst.write(&mut out[12 + B::LEN..12 + 2 * B::LEN]);
    }

    /// Reads a decrypted plaintext; its padding must be zero.
    pub(crate) fn read(octets: &[u8]) -> Option<Self> {
        if octets.len() != Self::LEN || octets[1..4] != [0, 0, 0] {
            return None;
        }
        Some(Self {
            code: octets[0],
            stamp: u64::from_be_bytes(octets[4..12].try_into().ok()?),
            src: B::read(&octets[12..12 + B::LEN])?,
            dst: B::read(&octets[12 + B::LEN..])?,
        })
    }
}

/// Offsets within a code 3/4 message of family `B`.
pub(crate) struct Layout<B>(core::marker::PhantomData<B>);

impl<B: WireAddr> Layout<B> {
    /// Start of the record header.
    pub(crate) const RECORD: usize = ICMP_HEADER_LEN + IdPcb::<B>::LEN;
    /// Start of the explicit nonce; the authenticated data is everything before it.
    pub(crate) const NONCE: usize = Self::RECORD + RECORD_HEADER_LEN;
    /// Start of the ciphertext.
    pub(crate) const CIPHERTEXT: usize = Self::NONCE + NONCE_LEN;
    /// Start of the tag.
    pub(crate) const TAG: usize = Self::CIPHERTEXT + AltRoute::<B>::LEN;
    /// Length of the whole message.
    pub(crate) const LEN: usize = Self::TAG + TAG_LEN;
    /// Length of a message whose plaintext has `plain` octets.
    pub(crate) const fn len_for(plain: usize) -> usize {
        Self::CIPHERTEXT + plain + TAG_LEN
    }
    /// Length of the longest sealed message (a full route list).
    pub(crate) const MAX: usize = Self::len_for(RouteList::<B>::MAX_LEN);
}

/// Up to [`LIST_MAX`] addresses of one end, in its order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AddrList<B> {
    addrs: [B; LIST_MAX],
    len: u8,
}

impl<B: WireAddr> AddrList<B> {
    /// No address.
    pub(crate) fn empty() -> Self {
        Self {
            addrs: [B::ZERO; LIST_MAX],
            len: 0,
        }
    }

    /// The first [`LIST_MAX`] distinct non-zero addresses of `addrs`.
    pub(crate) fn of(addrs: impl IntoIterator<Item = B>) -> Self {
        let mut list = Self::empty();
        for addr in addrs {
            list.push(addr);
        }
        list
    }

    /// Adds `addr` unless it is zero, listed already or there is no room; whether it did.
    pub(crate) fn push(&mut self, addr: B) -> bool {
        let n = usize::from(self.len);
        if addr == B::ZERO || n >= LIST_MAX || self.as_slice().contains(&addr) {
            return false;
        }
        self.addrs[n] = addr;
        self.len += 1;
        true
    }

    /// The addresses.
    pub(crate) fn as_slice(&self) -> &[B] {
        &self.addrs[..usize::from(self.len).min(LIST_MAX)]
    }
}

/// The plaintext of a route list (codes 10 and 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouteList<B> {
    /// Must equal the ICMP header's code.
    pub(crate) code: u8,
    /// The sender's clock (ms) when it sealed the message, as in [`AltRoute`].
    pub(crate) stamp: u64,
    /// The sender's addresses (at least one).
    pub(crate) addrs: AddrList<B>,
}

impl<B: WireAddr> RouteList<B> {
    /// Octets of the longest plaintext.
    pub(crate) const MAX_LEN: usize = 12 + LIST_MAX * B::LEN;

    /// Octets of this plaintext.
    pub(crate) fn len(&self) -> usize {
        12 + self.addrs.as_slice().len() * B::LEN
    }

    /// Writes the plaintext into `out` (at least [`RouteList::len`] octets; a shorter
    /// `out` is left alone).
    pub(crate) fn write(&self, out: &mut [u8]) {
        let addrs = self.addrs.as_slice();
        let Some(out) = out.get_mut(..self.len()) else {
            return;
        };
        out[0] = self.code;
        out[1] = addrs.len() as u8;
        out[2..4].fill(0);
        out[4..12].copy_from_slice(&self.stamp.to_be_bytes());
        for (addr, room) in addrs.iter().zip(out[12..].chunks_exact_mut(B::LEN)) {
            addr.write(room);
        }
    }

    /// Reads a decrypted plaintext: its count must match its length and be 1..=[`LIST_MAX`],
    /// its padding zero, its addresses non-zero and distinct.
    pub(crate) fn read(octets: &[u8]) -> Option<Self> {
        let n = usize::from(*octets.get(1)?);
        if !(1..=LIST_MAX).contains(&n) || octets.len() != 12 + n * B::LEN || octets[2..4] != [0, 0]
        {
            return None;
        }
        let mut addrs = AddrList::empty();
        for chunk in octets[12..].chunks_exact(B::LEN) {
            if !addrs.push(B::read(chunk)?) {
                return None;
            }
        }
        Some(Self {
            code: octets[0],
            stamp: u64::from_be_bytes(octets[4..12].try_into().ok()?),
            addrs,
        })
    }
}

/// The plaintext of a sealed message: an alternate route (codes 3, 4) or a route list
/// (codes 10, 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plaintext<B> {
    Route(AltRoute<B>),
    List(RouteList<B>),
}

impl<B: WireAddr> Plaintext<B> {
    /// The code it repeats.
    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::Route(alt) => alt.code,
            Self::List(list) => list.code,
        }
    }

    /// Its stamp.
    pub(crate) fn stamp(&self) -> u64 {
        match self {
            Self::Route(alt) => alt.stamp,
            Self::List(list) => list.stamp,
        }
    }

    /// The same, stamped `stamp`.
    pub(crate) fn stamped(self, stamp: u64) -> Self {
        match self {
            Self::Route(alt) => Self::Route(AltRoute { stamp, ..alt }),
            Self::List(list) => Self::List(RouteList { stamp, ..list }),
        }
    }

    /// Octets of the plaintext.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Route(_) => AltRoute::<B>::LEN,
            Self::List(list) => list.len(),
        }
    }

    /// Writes it into `out` (see [`AltRoute::write`], [`RouteList::write`]).
    pub(crate) fn write(&self, out: &mut [u8]) {
        match self {
            Self::Route(alt) => alt.write(out),
            Self::List(list) => list.write(out),
        }
    }

    /// Reads the decrypted plaintext of a message of code `code`.
    pub(crate) fn read(code: u8, octets: &[u8]) -> Option<Self> {
        match code {
            CODE_SET_ALT_ROUTE | CODE_ALT_ROUTE_ESTABLISHED => {
                AltRoute::read(octets).map(Self::Route)
            }
            CODE_ROUTE_LIST | CODE_ROUTE_LIST_ACK => RouteList::read(octets).map(Self::List),
            _ => None,
        }
    }
}

/// A code 3/4 message whose clear part was checked; the encrypted part is still to be
/// opened with the connection's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sealed<B> {
    /// The header's code.
    pub(crate) code: u8,
    /// The connection, as the sender names it.
    pub(crate) pcb: IdPcb<B>,
    /// The sender's sequence number (the explicit nonce).
    pub(crate) seq: u64,
    /// Octets of the plaintext (of the whole message: [`Layout::len_for`]).
    pub(crate) plain_len: usize,
}

/// Whether a plaintext of `plain` octets fits a message of code `code` and family `B`.
fn plain_len_ok<B: WireAddr>(code: u8, plain: usize) -> bool {
    match code {
        CODE_SET_ALT_ROUTE | CODE_ALT_ROUTE_ESTABLISHED => plain == AltRoute::<B>::LEN,
        CODE_ROUTE_LIST | CODE_ROUTE_LIST_ACK => {
            plain >= 12
                && (plain - 12) % B::LEN == 0
                && (1..=LIST_MAX).contains(&((plain - 12) / B::LEN))
        }
        _ => false,
    }
}

/// `sum` plus the 16-bit big-endian words of `data` (an odd last octet padded with zero),
/// not yet folded: the running sum of RFC 1071.
fn add_words(mut sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// The one's complement of the folded running sum.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Internet checksum (RFC 1071) of `data`.
pub(crate) fn internet_checksum(data: &[u8]) -> u16 {
    fold(add_words(0, data))
}

/// Writes the clear part of a code 3/4 message into `out` ([`Layout::LEN`] octets): ICMP
/// header (checksum 0), id_pcb, record header, nonce. The caller encrypts the plaintext
/// into `out[CIPHERTEXT..TAG]` with `out[..NONCE]` as authenticated data, writes the tag,
/// then calls [`finish_checksum`].
pub(crate) fn write_clear<B: WireAddr>(
    type_: u8,
    code: u8,
    pcb: &IdPcb<B>,
    seq: u64,
    out: &mut [u8],
) {
    write_clear_len(type_, code, pcb, seq, AltRoute::<B>::LEN, out);
}

/// As [`write_clear`], for a plaintext of `plain` octets (a route list's): `out` holds
/// [`Layout::len_for`] `plain` octets.
pub(crate) fn write_clear_len<B: WireAddr>(
    type_: u8,
    code: u8,
    pcb: &IdPcb<B>,
    seq: u64,
    plain: usize,
    out: &mut [u8],
) {
    out[..Layout::<B>::len_for(plain)].fill(0);
    out[0] = type_;
    out[1] = code;
    pcb.write(&mut out[ICMP_HEADER_LEN..Layout::<B>::RECORD]);
    let record = Layout::<B>::RECORD;
    out[record] = RECORD_TYPE;
    out[record + 1..record + 3].copy_from_slice(&RECORD_VERSION.to_be_bytes());
    let length = (NONCE_LEN + plain + TAG_LEN) as u16;
    out[record + 3..record + 5].copy_from_slice(&length.to_be_bytes());
    out[Layout::<B>::NONCE..Layout::<B>::CIPHERTEXT].copy_from_slice(&seq.to_be_bytes());
}

/// Fills in the ICMP checksum of a finished message. (For IPv4; ICMPv6 checksums cover a
/// pseudo-header and are the stack's job.)
pub(crate) fn finish_checksum(message: &mut [u8]) {
    if message.len() < ICMP_HEADER_LEN {
        return;
    }
    message[2..4].fill(0);
    let sum = internet_checksum(message);
    message[2..4].copy_from_slice(&sum.to_be_bytes());
}

/// Checks the clear part of a received code 3/4 message of exactly its length. With
/// `verify_checksum` (IPv4) the ICMP checksum must verify.
pub(crate) fn parse_sealed<B: WireAddr>(
    type_: u8,
    message: &[u8],
    verify_checksum: bool,
) -> Result<Sealed<B>, WireError> {
    if message.len() < Layout::<B>::NONCE {
        return Err(WireError::Truncated);
    }
    let code = message[1];
    if message[0] != type_
        || !matches!(
            code,
            CODE_SET_ALT_ROUTE | CODE_ALT_ROUTE_ESTABLISHED | CODE_ROUTE_LIST | CODE_ROUTE_LIST_ACK
        )
    {
        return Err(WireError::WrongTypeOrCode);
    }
    let record = Layout::<B>::RECORD;
    let length = usize::from(u16::from_be_bytes([
        message[record + 3],
        message[record + 4],
    ]));
    let plain_len = length.saturating_sub(NONCE_LEN + TAG_LEN);
    if message[record] != RECORD_TYPE
        || u16::from_be_bytes([message[record + 1], message[record + 2]]) != RECORD_VERSION
        || length < NONCE_LEN + TAG_LEN
        || !plain_len_ok::<B>(code, plain_len)
    {
        return Err(WireError::BadRecord);
    }
    let len = Layout::<B>::len_for(plain_len);
    if message.len() < len {
        return Err(WireError::Truncated);
    }
    if message.len() > len {
        return Err(WireError::TrailingData);
    }
    if verify_checksum && internet_checksum(message) != 0 {
        return Err(WireError::BadChecksum);
    }
    let pcb = IdPcb::read(&message[ICMP_HEADER_LEN..record]).ok_or(WireError::Truncated)?;
    let nonce = &message[Layout::<B>::NONCE..Layout::<B>::CIPHERTEXT];
    let seq = u64::from_be_bytes(nonce.try_into().map_err(|_| WireError::Truncated)?);
    Ok(Sealed {
        code,
        pcb,
        seq,
        plain_len,
    })
}

/// A CE router's broadcast (codes 1, 2 and 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    /// CODE_CE_PE_LINK, CODE_CE_FAILURE, CODE_LINK_RESTORED, CODE_KEEPALIVE or
    /// CODE_SOLICIT.
    pub(crate) code: u8,
    /// The PE (code 1, 5) or the failed CE (code 2), IPv4.
    pub(crate) gateway: u32,
}

/// Octets of a notice.
pub(crate) const NOTICE_LEN: usize = ICMP_HEADER_LEN;

/// Writes an IPv4 notice with its checksum.
pub(crate) fn write_notice(type_: u8, notice: &Notice, out: &mut [u8; NOTICE_LEN]) {
    out[0] = type_;
    out[1] = notice.code;
    out[2..4].fill(0);
    out[4..8].copy_from_slice(&notice.gateway.to_be_bytes());
    finish_checksum(out);
}

/// Parses an IPv4 notice; the message must be exactly [`NOTICE_LEN`] octets.
pub(crate) fn parse_notice(type_: u8, message: &[u8]) -> Result<Notice, WireError> {
    if message.len() < NOTICE_LEN {
        return Err(WireError::Truncated);
    }
    if message.len() > NOTICE_LEN {
        return Err(WireError::TrailingData);
    }
    let code = message[1];
    if message[0] != type_
        || !matches!(
            code,
            CODE_CE_PE_LINK | CODE_CE_FAILURE | CODE_LINK_RESTORED | CODE_KEEPALIVE | CODE_SOLICIT
        )
    {
        return Err(WireError::WrongTypeOrCode);
    }
    if internet_checksum(message) != 0 {
        return Err(WireError::BadChecksum);
    }
    Ok(Notice {
        code,
        gateway: u32::from_be_bytes([message[4], message[5], message[6], message[7]]),
    })
}

/// Octets of an IPv6 notice: the ICMPv6 header (its last four octets zero), then the
/// gateway's 16 octets. (IPv4's gateway field cannot hold an IPv6 address.)
pub(crate) const NOTICE6_LEN: usize = ICMP_HEADER_LEN + 16;

/// An IPv6 notice (codes 1, 2, 5; keepalives stay IPv4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Notice6 {
    /// CODE_CE_PE_LINK, CODE_CE_FAILURE or CODE_LINK_RESTORED.
    pub(crate) code: u8,
    /// The router or PE the notice is about; an IPv4-mapped address (`::ffff:a.b.c.d`)
    /// when the CE knows it only by its IPv4 address.
    pub(crate) gateway: u128,
}

/// The ICMPv6 checksum (RFC 4443 section 2.3) of `message` sent from `src` to `dst`: over
/// the pseudo-header (RFC 8200 section 8.1) and the message with its checksum field as it
/// is. A received message verifies when this is 0.
pub(crate) fn icmpv6_checksum(src: u128, dst: u128, message: &[u8]) -> u16 {
    let len = message.len() as u64;
    let pseudo = (len >> 16) + (len & 0xffff) + u64::from(IPPROTO_ICMPV6);
    let sum = add_words(pseudo, &src.to_be_bytes());
    let sum = add_words(sum, &dst.to_be_bytes());
    fold(add_words(sum, message))
}

/// IPPROTO_ICMPV6, the pseudo-header's next header.
const IPPROTO_ICMPV6: u8 = 58;

/// Writes an IPv6 notice. The checksum stays 0: the sending socket fills it in.
pub(crate) fn write_notice6(type_: u8, notice: &Notice6, out: &mut [u8; NOTICE6_LEN]) {
    out.fill(0);
    out[0] = type_;
    out[1] = notice.code;
    out[ICMP_HEADER_LEN..].copy_from_slice(&notice.gateway.to_be_bytes());
}

/// Parses an IPv6 notice of exactly [`NOTICE6_LEN`] octets that came from `src` to
/// `dst`; its checksum must verify.
pub(crate) fn parse_notice6(
    type_: u8,
    message: &[u8],
    src: u128,
    dst: u128,
) -> Result<Notice6, WireError> {
    if message.len() < NOTICE6_LEN {
        return Err(WireError::Truncated);
    }
    if message.len() > NOTICE6_LEN {
        return Err(WireError::TrailingData);
    }
    let code = message[1];
    if message[0] != type_
        || !matches!(
            code,
            CODE_CE_PE_LINK | CODE_CE_FAILURE | CODE_LINK_RESTORED | CODE_KEEPALIVE | CODE_SOLICIT
        )
    {
        return Err(WireError::WrongTypeOrCode);
    }
    if icmpv6_checksum(src, dst, message) != 0 {
        return Err(WireError::BadChecksum);
    }
    let gateway = u128::read(&message[ICMP_HEADER_LEN..]).ok_or(WireError::Truncated)?;
    Ok(Notice6 { code, gateway })
}

/// The IPv4-mapped IPv6 form of `addr` (`::ffff:a.b.c.d`).
pub(crate) fn ipv4_mapped(addr: u32) -> u128 {
    0xffff_0000_0000 | u128::from(addr)
}

/// A sliding window over received sequence numbers (RFC 4303, section 3.4.3): a number is
/// accepted once, and only if it is newer than the highest seen minus the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReplayWindow {
    /// The highest number accepted; 0: none yet (senders start at 1).
    highest: u64,
    /// Bit i: `highest - i` was accepted.
    seen: u64,
}

impl ReplayWindow {
    /// Numbers older than the highest by this much or more are refused.
    pub(crate) const SIZE: u64 = 64;

    /// Whether `seq` would be accepted (call before authenticating, to save the work).
    pub(crate) fn check(&self, seq: u64) -> bool {
        if seq == 0 {
            return false;
        }
        if seq > self.highest {
            return true;
        }
        let age = self.highest - seq;
        age < Self::SIZE && self.seen & (1 << age) == 0
    }

    /// Records `seq` as accepted (call only after the message authenticated); returns
    /// false, changing nothing, if it is not acceptable.
    pub(crate) fn accept(&mut self, seq: u64) -> bool {
        if !self.check(seq) {
            return false;
        }
        if seq > self.highest {
            let shift = seq - self.highest;
            self.seen = if shift >= Self::SIZE {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.highest = seq;
        } else {
            self.seen |= 1 << (self.highest - seq);
        }
        true
    }
}

/// Named checks shared by the host tests and the KUnit suite `sitemh_linkfail`, so that the
/// kernel build of this file is exercised too.
pub(crate) mod vectors {
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* linkfail {
                id_pcb_reversal,
                sealed_message_ipv4,
                sealed_message_ipv6,
                route_list_message,
                notice_round_trip,
                notice_ipv6_checksum,
                replay_window,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    /// A TCP connection from 198.51.100.10 to 192.0.2.200, port 443.
    const PCB: IdPcb<u32> = IdPcb {
        proto: 6,
        laddr: 0xc633_640a,
        faddr: 0xc000_02c8,
        lport: 40000,
        fport: 443,
    };

    /// Reversed twice is the same; reversed once swaps the ends.
    pub(crate) fn id_pcb_reversal() -> Result<(), &'static str> {
        let pcb = PCB;
        if pcb.reversed().reversed() != pcb || pcb.reversed().laddr != pcb.faddr {
            return Err("id_pcb reversal");
        }
        Ok(())
    }

    /// An IPv4 sealed message: its clear fields, its plaintext, every truncation refused.
    pub(crate) fn sealed_message_ipv4() -> Result<(), &'static str> {
        let pcb = PCB;
        let mut m = [0u8; Layout::<u32>::LEN];
        write_clear(ICMP_LINKFAILURE, CODE_SET_ALT_ROUTE, &pcb, 9, &mut m);
        let alt = AltRoute {
            code: CODE_SET_ALT_ROUTE,
            stamp: 0x0102_0304_0506_0708,
            src: 0xcb00_710a_u32,
            dst: 0xc000_02c9,
        };
        alt.write(&mut m[Layout::<u32>::CIPHERTEXT..Layout::<u32>::TAG]);
        finish_checksum(&mut m);
        let sealed = parse_sealed::<u32>(ICMP_LINKFAILURE, &m, true)
            .map_err(|_| "a well-formed message is refused")?;
        if sealed
            != (Sealed {
                code: CODE_SET_ALT_ROUTE,
                pcb,
                seq: 9,
                plain_len: AltRoute::<u32>::LEN,
            })
        {
            return Err("sealed message fields");
        }
        if AltRoute::read(&m[Layout::<u32>::CIPHERTEXT..Layout::<u32>::TAG]) != Some(alt) {
            return Err("alternate route plaintext");
        }
        for len in 0..m.len() {
            if parse_sealed::<u32>(ICMP_LINKFAILURE, &m[..len], true).is_ok() {
                return Err("a truncated message is accepted");
            }
        }
        Ok(())
    }

    /// An IPv6 sealed message names its connection.
    pub(crate) fn sealed_message_ipv6() -> Result<(), &'static str> {
        let mut m6 = [0u8; Layout::<u128>::LEN];
        let pcb6 = IdPcb {
            proto: 17,
            laddr: 1u128,
            faddr: 2,
            lport: 3,
            fport: 4,
        };
        write_clear(
            ICMP_LINKFAILURE,
            CODE_ALT_ROUTE_ESTABLISHED,
            &pcb6,
            1,
            &mut m6,
        );
        if parse_sealed::<u128>(ICMP_LINKFAILURE, &m6, false).map(|s| s.pcb) != Ok(pcb6) {
            return Err("IPv6 sealed message");
        }
        Ok(())
    }

    /// A route list (codes 10, 11) of 1..=4 addresses round trips in both families; its
    /// count must match its length, its addresses be distinct and non-zero; a list's
    /// length with a route code is refused.
    pub(crate) fn route_list_message() -> Result<(), &'static str> {
        fn one<B: WireAddr>(addrs: &[B]) -> Result<(), &'static str> {
            let list = RouteList {
                code: CODE_ROUTE_LIST,
                stamp: 77,
                addrs: AddrList::of(addrs.iter().copied()),
            };
            let mut m = [0u8; Layout::<u128>::MAX];
            let len = Layout::<B>::len_for(list.len());
            write_clear_len(
                ICMP_LINKFAILURE,
                CODE_ROUTE_LIST,
                &any_pcb::<B>(),
                5,
                list.len(),
                &mut m,
            );
            list.write(&mut m[Layout::<B>::CIPHERTEXT..]);
            let sealed = parse_sealed::<B>(ICMP_LINKFAILURE, &m[..len], false)
                .map_err(|_| "a well-formed route list is refused")?;
            if sealed.plain_len != list.len() || sealed.seq != 5 {
                return Err("route list clear part");
            }
            let plain = &m[Layout::<B>::CIPHERTEXT..Layout::<B>::CIPHERTEXT + list.len()];
            if Plaintext::read(CODE_ROUTE_LIST, plain) != Some(Plaintext::List(list)) {
                return Err("route list plaintext");
            }
            if Plaintext::<B>::read(CODE_SET_ALT_ROUTE, plain).is_some()
                && list.len() != AltRoute::<B>::LEN
            {
                return Err("a route list read as a route");
            }
            for cut in 0..len {
                if parse_sealed::<B>(ICMP_LINKFAILURE, &m[..cut], false).is_ok() {
                    return Err("a truncated route list is accepted");
                }
            }
            // A count that disagrees with the length.
            let mut bad = [0u8; RouteList::<u128>::MAX_LEN];
            bad[..list.len()].copy_from_slice(plain);
            bad[1] = bad[1].wrapping_add(1);
            if RouteList::<B>::read(&bad[..list.len()]).is_some() {
                return Err("a route list with a wrong count is accepted");
            }
            Ok(())
        }
        one::<u32>(&[0xc633_640a])?;
        one::<u32>(&[0xc633_640a, 0xcb00_710a, 0x0a00_0001, 0x0a00_0002])?;
        one::<u128>(&[1, 2, 3])?;
        // Duplicates and zero are not listed; a fifth address finds no room.
        let list = AddrList::of([5u32, 5, 0, 6, 7, 8, 9]);
        if list.as_slice() != [5, 6, 7, 8] {
            return Err("address list");
        }
        let mut dup = [0u8; 20];
        dup[1] = 2;
        dup[12..16].copy_from_slice(&5u32.to_be_bytes());
        dup[16..20].copy_from_slice(&5u32.to_be_bytes());
        if RouteList::<u32>::read(&dup).is_some() {
            return Err("a route list naming an address twice is accepted");
        }
        // A list's length under a route code (a route's is a list of two under a list code).
        let mut m = [0u8; Layout::<u32>::len_for(16)];
        write_clear_len(ICMP_LINKFAILURE, CODE_SET_ALT_ROUTE, &PCB, 1, 16, &mut m);
        if parse_sealed::<u32>(ICMP_LINKFAILURE, &m, false).is_ok() {
            return Err("a route code with a list's length is accepted");
        }
        Ok(())
    }

    /// A connection of either family for the checks.
    fn any_pcb<B: WireAddr>() -> IdPcb<B> {
        IdPcb {
            proto: 6,
            laddr: B::ZERO,
            faddr: B::ZERO,
            lport: 1,
            fport: 2,
        }
    }

    /// Every notice code round trips; a corrupted notice fails its checksum.
    pub(crate) fn notice_round_trip() -> Result<(), &'static str> {
        let mut n = [0u8; NOTICE_LEN];
        for code in [
            CODE_CE_PE_LINK,
            CODE_CE_FAILURE,
            CODE_LINK_RESTORED,
            CODE_KEEPALIVE,
            CODE_SOLICIT,
        ] {
            let notice = Notice {
                code,
                gateway: 0xc000_0202,
            };
            write_notice(ICMP_LINKFAILURE, &notice, &mut n);
            if parse_notice(ICMP_LINKFAILURE, &n) != Ok(notice) {
                return Err("notice round trip");
            }
        }
        n[4] ^= 1;
        if parse_notice(ICMP_LINKFAILURE, &n) != Err(WireError::BadChecksum) {
            return Err("a corrupted notice is accepted");
        }
        // The same type carries the binding update (7) and its error (8): a solicitation
        // must not be taken for one.
        let binding = [
            super::super::binding_update::CODE_BINDING_UPDATE,
            super::super::binding_update::CODE_BINDING_ERROR,
        ];
        if binding.contains(&CODE_SOLICIT) || binding.contains(&CODE_KEEPALIVE) {
            return Err("a link-failure code is also a binding code");
        }
        Ok(())
    }

    /// An IPv6 notice verifies under its pseudo-header only, and whole only.
    pub(crate) fn notice_ipv6_checksum() -> Result<(), &'static str> {
        // An IPv6 notice with its checksum as the sending socket would fill it in.
        let (src, dst) = (0xfe80_u128 << 112 | 1, 0xff02_u128 << 112 | 1);
        let notice6 = Notice6 {
            code: CODE_CE_PE_LINK,
            gateway: ipv4_mapped(0xc000_0202),
        };
        let mut n6 = [0u8; NOTICE6_LEN];
        write_notice6(ICMP_LINKFAILURE, &notice6, &mut n6);
        let sum = icmpv6_checksum(src, dst, &n6);
        n6[2..4].copy_from_slice(&sum.to_be_bytes());
        if parse_notice6(ICMP_LINKFAILURE, &n6, src, dst) != Ok(notice6) {
            return Err("IPv6 notice round trip");
        }
        if parse_notice6(ICMP_LINKFAILURE, &n6, src ^ 2, dst) != Err(WireError::BadChecksum) {
            return Err("an IPv6 notice from another source verifies");
        }
        if parse_notice6(ICMP_LINKFAILURE, &n6[..NOTICE6_LEN - 1], src, dst).is_ok() {
            return Err("a truncated IPv6 notice is accepted");
        }
        // A peer CE's IPv6 keepalive (an IPv6-only site's CEs watch each other so) and a
        // host's solicitation are notices too; the exchange's codes are not.
        for code in [CODE_KEEPALIVE, CODE_SOLICIT, CODE_SET_ALT_ROUTE] {
            let notice6 = Notice6 {
                code,
                gateway: 0x2001_0db8_u128 << 96 | 1,
            };
            let mut n6 = [0u8; NOTICE6_LEN];
            write_notice6(ICMP_LINKFAILURE, &notice6, &mut n6);
            let sum = icmpv6_checksum(src, dst, &n6);
            n6[2..4].copy_from_slice(&sum.to_be_bytes());
            let parsed = parse_notice6(ICMP_LINKFAILURE, &n6, src, dst);
            if (code == CODE_SET_ALT_ROUTE) != (parsed == Err(WireError::WrongTypeOrCode)) {
                return Err("IPv6 keepalive, solicitation or exchange code misread");
            }
        }
        Ok(())
    }

    /// The replay window takes each sequence number once, and none too old.
    pub(crate) fn replay_window() -> Result<(), &'static str> {
        let mut w = ReplayWindow::default();
        let script: [(u64, bool); 8] = [
            (1, true),
            (1, false),
            (70, true),
            (6, false),
            (7, true),
            (7, false),
            (0, false),
            (71, true),
        ];
        for (seq, expected) in script {
            if w.accept(seq) != expected {
                return Err("replay window");
            }
        }
        if w.check(70) || !w.check(72) || ReplayWindow::SIZE != 64 || RECORD_HEADER_LEN != 5 {
            return Err("replay window state");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([linkfail] crate::logic::host_tests!());
    }
}

/// Hardware types (`ARPHRD_*`) of IP tunnels (IP-in-IP, IPv6-in-IPv6, SIT, GRE, IPv6
/// GRE) and of devices without a link layer (TUN, WireGuard).
const UNLINKED_HW_TYPES: [u16; 6] = [768, 769, 776, 778, 823, 0xfffe];

/// Whether a device of hardware type `hw_type` (`None`: no such device) delivers packets
/// that were decapsulated or injected, never sent on a link: a notice that arrived on it
/// did not come over a router's link, TTL 255 or not. A device that is gone counts as one.
pub(crate) fn delivers_unlinked(hw_type: Option<u16>) -> bool {
    match hw_type {
        Some(t) => UNLINKED_HW_TYPES.contains(&t),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    const PCB4: IdPcb<u32> = IdPcb {
        proto: 6,
        laddr: 0xc633_640a,
        faddr: 0xc000_02c8,
        lport: 40000,
        fport: 443,
    };

    #[test]
    fn layouts_have_the_documented_sizes() {
        assert_eq!(IdPcb::<u32>::LEN, 16);
        assert_eq!(IdPcb::<u128>::LEN, 40);
        assert_eq!(Layout::<u32>::RECORD, 24);
        assert_eq!(Layout::<u32>::NONCE, 29);
        assert_eq!(Layout::<u32>::LEN, 24 + 5 + 8 + 20 + 16);
        assert_eq!(Layout::<u128>::LEN, 48 + 5 + 8 + 44 + 16);
    }

    fn sealed4(code: u8, seq: u64) -> std::vec::Vec<u8> {
        let mut m = vec![0u8; Layout::<u32>::LEN];
        write_clear(41, code, &PCB4, seq, &mut m);
        // Stand-in ciphertext and tag: the wire layer does not look inside.
        for (i, b) in m[Layout::<u32>::CIPHERTEXT..].iter_mut().enumerate() {
            *b = i as u8;
        }
        finish_checksum(&mut m);
        m
    }

    #[test]
    fn sealed_messages_round_trip() {
        let m = sealed4(CODE_SET_ALT_ROUTE, 7);
        assert_eq!(
            parse_sealed::<u32>(41, &m, true),
            Ok(Sealed {
                code: 3,
                pcb: PCB4,
                seq: 7,
                plain_len: AltRoute::<u32>::LEN,
            })
        );
        let mut m6 = vec![0u8; Layout::<u128>::LEN];
        let pcb6 = IdPcb {
            proto: 17,
            laddr: 1u128 << 100,
            faddr: 5,
            lport: 1,
            fport: 2,
        };
        write_clear(58, CODE_ALT_ROUTE_ESTABLISHED, &pcb6, u64::MAX, &mut m6);
        assert_eq!(
            parse_sealed::<u128>(58, &m6, false),
            Ok(Sealed {
                code: 4,
                pcb: pcb6,
                seq: u64::MAX,
                plain_len: AltRoute::<u128>::LEN,
            })
        );
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let m = sealed4(CODE_SET_ALT_ROUTE, 1);
        for len in 0..m.len() {
            assert!(
                parse_sealed::<u32>(41, &m[..len], true).is_err(),
                "length {len}"
            );
        }
        let mut longer = m.clone();
        longer.push(0);
        assert_eq!(
            parse_sealed::<u32>(41, &longer, false),
            Err(WireError::TrailingData)
        );
    }

    #[test]
    fn wrong_type_code_record_or_checksum_is_refused() {
        let m = sealed4(CODE_SET_ALT_ROUTE, 1);
        assert_eq!(
            parse_sealed::<u32>(42, &m, true),
            Err(WireError::WrongTypeOrCode)
        );
        for code in [0, 1, 2, 5, 6, 255] {
            let mut bad = m.clone();
            bad[1] = code;
            finish_checksum(&mut bad);
            assert_eq!(
                parse_sealed::<u32>(41, &bad, true),
                Err(WireError::WrongTypeOrCode)
            );
        }
        for at in [24, 25, 26, 27, 28] {
            let mut bad = m.clone();
            bad[at] ^= 0x01;
            finish_checksum(&mut bad);
            assert_eq!(
                parse_sealed::<u32>(41, &bad, true),
                Err(WireError::BadRecord),
                "{at}"
            );
        }
        // Any single flipped bit breaks the checksum.
        for at in 0..m.len() {
            let mut bad = m.clone();
            bad[at] ^= 0x10;
            assert!(parse_sealed::<u32>(41, &bad, true).is_err(), "octet {at}");
        }
    }

    #[test]
    fn alt_route_plaintext_round_trips_and_needs_zero_padding() {
        let alt = AltRoute {
            code: 3,
            stamp: 77,
            src: 0xcb00_710a_u32,
            dst: 0xc000_02c9,
        };
        let mut p = [0u8; AltRoute::<u32>::LEN];
        alt.write(&mut p);
        assert_eq!(AltRoute::read(&p), Some(alt));
        p[2] = 1;
        assert_eq!(AltRoute::<u32>::read(&p), None);
        assert_eq!(AltRoute::<u32>::read(&p[..19]), None);
    }

    #[test]
    fn notices_round_trip_and_reject_garbage() {
        let mut m = [0u8; NOTICE_LEN];
        let n = Notice {
            code: CODE_CE_PE_LINK,
            gateway: 0xc000_0202,
        };
        write_notice(41, &n, &mut m);
        assert_eq!(parse_notice(41, &m), Ok(n));
        assert_eq!(parse_notice(41, &m[..7]), Err(WireError::Truncated));
        assert_eq!(
            parse_notice(41, &[m.as_slice(), &[0]].concat()),
            Err(WireError::TrailingData)
        );
        let mut bad = m;
        bad[7] ^= 1;
        assert_eq!(parse_notice(41, &bad), Err(WireError::BadChecksum));
        let mut code3 = m;
        code3[1] = 3;
        finish_checksum(&mut code3);
        assert_eq!(parse_notice(41, &code3), Err(WireError::WrongTypeOrCode));
    }

    #[test]
    fn tunnels_and_devices_without_link_layer_deliver_unlinked() {
        // ipip, ip6tnl, sit, gre, ip6gre, tun/wireguard; a device that is gone.
        for t in [768, 769, 776, 778, 823, 0xfffe] {
            assert!(delivers_unlinked(Some(t)));
        }
        assert!(delivers_unlinked(None));
        // Ethernet, loopback, GRE taps (Ethernet too), IEEE 802.11, VLANs (Ethernet).
        for t in [1, 772, 801, 0xffff] {
            assert!(!delivers_unlinked(Some(t)));
        }
    }

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        assert_eq!(internet_checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn replay_window_accepts_each_number_once_within_the_window() {
        let mut w = ReplayWindow::default();
        assert!(!w.accept(0));
        assert!(w.accept(1));
        assert!(!w.accept(1));
        assert!(w.accept(5));
        assert!(w.accept(3));
        assert!(!w.accept(3));
        assert!(w.accept(100));
        assert!(!w.accept(36), "older than the window");
        assert!(w.accept(37));
        assert!(!w.check(100));
        assert!(w.accept(1000));
        assert!(w.accept(999));
        assert!(!w.accept(999));
        assert!(w.accept(u64::MAX));
        assert!(!w.accept(u64::MAX));
    }

    #[test]
    fn replay_window_matches_a_set_model() {
        let mut next = crate::logic::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut w = ReplayWindow::default();
        let mut accepted = std::collections::BTreeSet::new();
        let mut highest = 0u64;
        for _ in 0..20_000 {
            let seq = highest.saturating_sub(70) + next() % 80 + 1;
            let fresh = !accepted.contains(&seq) && (seq > highest || highest - seq < 64);
            assert_eq!(w.accept(seq), fresh, "seq {seq} highest {highest}");
            if fresh {
                accepted.insert(seq);
                highest = highest.max(seq);
            }
        }
    }
}

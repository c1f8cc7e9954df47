// SPDX-License-Identifier: GPL-2.0

//! The structs of the `SITEMH_SO_*` socket options (`include/uapi/linux/sitemh.h`) as
//! the module reads them from user memory: fixed layouts checked against the length the
//! caller gave, nothing read past it, every field range-checked. Integers the UAPI types
//! as `__u32` are in host byte order; addresses in network byte order.
//!
//! The module reads and writes the structs typed, as the header declares them
//! (`rust/ffi/uapi.rs`), and checks their fields here (`from_fields`, `count`,
//! `check_careof`); the byte-level parsers and writers are the reference layouts the fuzz
//! target `sockopt` and the host's property tests check (each parser the inverse of its
//! writer), compiled for the host only.

use super::{
    kdf::{
        KEY_BLOCK_LEN,
        MASTER_SECRET_LEN,
        RANDOM_LEN, //
    },
    prefix::WireAddr,
    select::MAX_DESTS,
    stacking::HomeAddr,
    switchover::{
        MAX_LFROUTES,
        STAT_ALTER,
        STAT_DO_NOT_ALTER, //
    },
};

/// Why an option value was refused (the handlers answer `EINVAL` for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockoptError {
    /// Shorter than the struct (the byte-level reference parsers'; the module reads the
    /// structs typed, whose lengths it checks itself).
    #[cfg_attr(CONFIG_RUST, allow(dead_code))]
    TooShort,
    /// A length the option does not take (not a whole number of entries, or too many).
    WrongLength,
    /// A count, form or flag outside its range, or reserved octets not zero.
    OutOfRange,
    /// An address the option cannot take.
    BadAddress,
}

/// Octets of `ndst`, `npairs`, `available` and `service` in `struct sitemh_pairs{,6}`.
pub(crate) const COUNTS_LEN: usize = 16;
/// `sizeof(struct sitemh_rank_info)`.
pub(crate) const RANK_INFO_LEN: usize = 24;

/// The request part of `struct sitemh_pairs{,6}`: `ndst` and the destinations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PairsRequest<B> {
    dsts: [B; MAX_DESTS],
    ndst: usize,
}

impl<B: WireAddr> PairsRequest<B> {
    /// Octets of the fixed part (counts and `dst[SITEMH_MAX_DESTS]`).
    pub(crate) const HEADER_LEN: usize = COUNTS_LEN + MAX_DESTS * B::LEN;
    /// Octets of one `struct sitemh_ranked_pair{,6}` of the answer.
    pub(crate) const PAIR_LEN: usize = 2 * B::LEN + RANK_INFO_LEN;

    /// A request for 1..=[`MAX_DESTS`] destinations (the caller's side, for the host's
    /// tests: the module only reads requests).
    #[cfg(not(CONFIG_RUST))]
    pub(crate) fn new(dsts: &[B]) -> Option<Self> {
        if dsts.is_empty() || dsts.len() > MAX_DESTS {
            return None;
        }
        let mut all = [B::ZERO; MAX_DESTS];
        all[..dsts.len()].copy_from_slice(dsts);
        Some(Self {
            dsts: all,
            ndst: dsts.len(),
        })
    }

    /// The destinations asked for.
    pub(crate) fn dsts(&self) -> &[B] {
        &self.dsts[..self.ndst]
    }

    /// The request of a struct's fields (the module reads them typed, `ffi::uapi`):
    /// `ndst` must be 1..=[`MAX_DESTS`]; the destinations beyond it are ignored.
    pub(crate) fn from_fields(ndst: u32, dsts: &[B; MAX_DESTS]) -> Result<Self, SockoptError> {
        let ndst = usize::try_from(ndst).map_err(|_| SockoptError::OutOfRange)?;
        if ndst == 0 || ndst > MAX_DESTS {
            return Err(SockoptError::OutOfRange);
        }
        let mut all = [B::ZERO; MAX_DESTS];
        all[..ndst].copy_from_slice(&dsts[..ndst]);
        Ok(Self { dsts: all, ndst })
    }

    /// Reads the request from the first [`Self::HEADER_LEN`] octets of an option buffer of
    /// `optlen` octets (`request`: what was copied of it); returns it and how many ranked
    /// pairs the buffer has room for. (The reference layout of the header's struct, for
    /// the host's tests and fuzzing; the module reads the struct typed.)
    #[cfg(not(CONFIG_RUST))]
    pub(crate) fn parse(request: &[u8]) -> Result<(Self, usize), SockoptError> {
        let header = request
            .get(..Self::HEADER_LEN)
            .ok_or(SockoptError::TooShort)?;
        let ndst = read_u32(header, 0).ok_or(SockoptError::TooShort)?;
        let mut dsts = [B::ZERO; MAX_DESTS];
        for (i, dst) in dsts.iter_mut().enumerate() {
            let at = COUNTS_LEN + i * B::LEN;
            *dst = header
                .get(at..at + B::LEN)
                .and_then(B::read)
                .ok_or(SockoptError::TooShort)?;
        }
        let request_fields = Self::from_fields(ndst, &dsts)?;
        let room = (request.len() - Self::HEADER_LEN) / Self::PAIR_LEN;
        Ok((request_fields, room))
    }

    /// Writes the request into `out` (the caller's side, for the host's tests; at least [`Self::HEADER_LEN`] octets; the counts the
    /// kernel answers in are zero).
    #[cfg(not(CONFIG_RUST))]
    pub(crate) fn write(&self, out: &mut [u8]) -> Result<(), SockoptError> {
        let header = out
            .get_mut(..Self::HEADER_LEN)
            .ok_or(SockoptError::TooShort)?;
        header.fill(0);
        // At most MAX_DESTS: fits.
        header[..4].copy_from_slice(&(self.ndst as u32).to_ne_bytes());
        for (i, dst) in self.dsts().iter().enumerate() {
            let at = COUNTS_LEN + i * B::LEN;
            dst.write(&mut header[at..at + B::LEN]);
        }
        Ok(())
    }
}

/// `SITEMH_RANK_MEASURED`: the latency is half a measured round trip.
pub(crate) const RANK_MEASURED: u32 = 1;
/// `SITEMH_RANK_DOWN`: the path is known to be down.
pub(crate) const RANK_DOWN: u32 = 2;

/// `struct sitemh_rank_info`: what the ranking weighed for one pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RankInfo {
    /// kbit/s.
    pub(crate) bandwidth: u64,
    /// IS hops.
    pub(crate) hops: u32,
    /// One-way, in microseconds.
    pub(crate) latency_us: u32,
    /// `SITEMH_RANK_*`.
    pub(crate) flags: u32,
}

impl<B: WireAddr> PairsRequest<B> {
    #[cfg(not(CONFIG_RUST))]
    /// Writes one `struct sitemh_ranked_pair{,6}` into the first [`Self::PAIR_LEN`]
    /// octets of `out`.
    pub(crate) fn write_ranked(
        out: &mut [u8],
        src: B,
        dst: B,
        info: &RankInfo,
    ) -> Result<(), SockoptError> {
        let out = out
            .get_mut(..Self::PAIR_LEN)
            .ok_or(SockoptError::TooShort)?;
        let addrs = 2 * B::LEN;
        src.write(&mut out[..B::LEN]);
        dst.write(&mut out[B::LEN..addrs]);
        let info_out = &mut out[addrs..];
        info_out[..8].copy_from_slice(&info.bandwidth.to_ne_bytes());
        info_out[8..12].copy_from_slice(&info.hops.to_ne_bytes());
        info_out[12..16].copy_from_slice(&info.latency_us.to_ne_bytes());
        info_out[16..20].copy_from_slice(&info.flags.to_ne_bytes());
        info_out[20..24].fill(0);
        Ok(())
    }

    #[cfg(not(CONFIG_RUST))]
    /// Writes the answer's counts (`npairs`, `available`, `service`) into the header in
    /// `out`, leaving `ndst` and the destinations as asked.
    pub(crate) fn write_counts(
        out: &mut [u8],
        npairs: u32,
        available: u32,
        service: u32,
    ) -> Result<(), SockoptError> {
        let counts = out.get_mut(4..COUNTS_LEN).ok_or(SockoptError::TooShort)?;
        counts[..4].copy_from_slice(&npairs.to_ne_bytes());
        counts[4..8].copy_from_slice(&available.to_ne_bytes());
        counts[8..12].copy_from_slice(&service.to_ne_bytes());
        Ok(())
    }
}

/// `struct sitemh_srcaddrs{,6}`: octets before `src[]` (`nsrc`, `service`, `dst`).
pub(crate) const fn srcaddrs_header_len<B: WireAddr>() -> usize {
    8 + B::LEN
}

#[cfg(not(CONFIG_RUST))]
/// Reads the destination of a `struct sitemh_srcaddrs{,6}` request; the buffer must have
/// room for the whole struct (the answer fills `src[SITEMH_MAX_SOURCES]`).
pub(crate) fn parse_srcaddrs<B: WireAddr>(request: &[u8]) -> Result<B, SockoptError> {
    let header_len = srcaddrs_header_len::<B>();
    if request.len() < header_len + super::select::MAX_SOURCES * B::LEN {
        return Err(SockoptError::TooShort);
    }
    request
        .get(8..header_len)
        .and_then(B::read)
        .ok_or(SockoptError::TooShort)
}

#[cfg(not(CONFIG_RUST))]
/// Writes the answer of `struct sitemh_srcaddrs{,6}` into `out`, which holds the request:
/// `nsrc`, `service` and the sources, best first (at most `SITEMH_MAX_SOURCES`); returns
/// the answer's length (up to the last source written).
pub(crate) fn write_srcaddrs<B: WireAddr>(
    out: &mut [u8],
    service: u32,
    sources: &[B],
) -> Result<usize, SockoptError> {
    let header_len = srcaddrs_header_len::<B>();
    if sources.len() > super::select::MAX_SOURCES {
        return Err(SockoptError::OutOfRange);
    }
    let len = header_len + sources.len() * B::LEN;
    let out = out.get_mut(..len).ok_or(SockoptError::TooShort)?;
    // At most MAX_SOURCES: fits.
    out[..4].copy_from_slice(&(sources.len() as u32).to_ne_bytes());
    out[4..8].copy_from_slice(&service.to_ne_bytes());
    for (octets, src) in out[header_len..].chunks_exact_mut(B::LEN).zip(sources) {
        src.write(octets);
    }
    Ok(len)
}

/// The routes of `setsockopt(SITEMH_SO_LFROUTES)`: 1..=[`MAX_LFROUTES`] `struct
/// sitemh_addr_pair{,6}` (local, peer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LfRoutes<B> {
    pairs: [(B, B); MAX_LFROUTES],
    n: usize,
}

impl<B: WireAddr> LfRoutes<B> {
    /// Octets of one pair.
    pub(crate) const PAIR_LEN: usize = 2 * B::LEN;

    /// 1..=[`MAX_LFROUTES`] pairs.
    pub(crate) fn new(pairs: &[(B, B)]) -> Option<Self> {
        if pairs.is_empty() || pairs.len() > MAX_LFROUTES {
            return None;
        }
        let mut all = [(B::ZERO, B::ZERO); MAX_LFROUTES];
        all[..pairs.len()].copy_from_slice(pairs);
        Some(Self {
            pairs: all,
            n: pairs.len(),
        })
    }

    /// The pairs.
    pub(crate) fn as_slice(&self) -> &[(B, B)] {
        &self.pairs[..self.n]
    }

    /// The number of routes in an option value of `len` octets: a whole number of pairs,
    /// at least one, at most [`MAX_LFROUTES`].
    pub(crate) fn count(len: usize) -> Result<usize, SockoptError> {
        if len == 0 || len % Self::PAIR_LEN != 0 || len / Self::PAIR_LEN > MAX_LFROUTES {
            return Err(SockoptError::WrongLength);
        }
        Ok(len / Self::PAIR_LEN)
    }

    /// Reads an option value (the reference layout, for the host's tests and fuzzing; the
    /// module reads the structs typed): see [`Self::count`].
    #[cfg(not(CONFIG_RUST))]
    pub(crate) fn parse(value: &[u8]) -> Result<Self, SockoptError> {
        Self::count(value.len())?;
        let mut pairs = [(B::ZERO, B::ZERO); MAX_LFROUTES];
        for (pair, octets) in pairs.iter_mut().zip(value.chunks_exact(Self::PAIR_LEN)) {
            let local = B::read(&octets[..B::LEN]).ok_or(SockoptError::TooShort)?;
            let peer = B::read(&octets[B::LEN..]).ok_or(SockoptError::TooShort)?;
            *pair = (local, peer);
        }
        Ok(Self {
            pairs,
            n: value.len() / Self::PAIR_LEN,
        })
    }

    #[cfg(not(CONFIG_RUST))]
    /// Writes the option value into `out`; returns its length.
    pub(crate) fn write(&self, out: &mut [u8]) -> Result<usize, SockoptError> {
        let len = self.n * Self::PAIR_LEN;
        let out = out.get_mut(..len).ok_or(SockoptError::TooShort)?;
        for (octets, (local, peer)) in out.chunks_exact_mut(Self::PAIR_LEN).zip(self.as_slice()) {
            local.write(&mut octets[..B::LEN]);
            peer.write(&mut octets[B::LEN..]);
        }
        Ok(len)
    }
}

/// Reads `setsockopt(SITEMH_SO_LFSTAT)`: an `int`, `SITEMH_STAT_DO_NOT_ALTER` or
/// `SITEMH_STAT_ALTER`.
pub(crate) fn parse_lfstat(value: &[u8]) -> Result<u8, SockoptError> {
    let stat = match value {
        [a, b, c, d] => u32::from_ne_bytes([*a, *b, *c, *d]),
        _ => return Err(SockoptError::WrongLength),
    };
    match stat {
        0 => Ok(STAT_DO_NOT_ALTER),
        1 => Ok(STAT_ALTER),
        _ => Err(SockoptError::OutOfRange),
    }
}

/// `sizeof(struct sitemh_seqparam)`.
pub(crate) const SEQPARAM_LEN: usize = 4 + MASTER_SECRET_LEN + 2 * RANDOM_LEN + KEY_BLOCK_LEN;
/// `SITEMH_SEQPARAM_TLS12`.
pub(crate) const SEQPARAM_TLS12: u8 = 1;
/// `SITEMH_SEQPARAM_EXPORTER`.
pub(crate) const SEQPARAM_EXPORTER: u8 = 2;

/// Where each field of `struct sitemh_seqparam` starts (the module reads the typed struct;
/// `crate::ffi::uapi` checks these against it).
pub(crate) const MASTER_AT: usize = 4;
pub(crate) const CLIENT_RANDOM_AT: usize = MASTER_AT + MASTER_SECRET_LEN;
pub(crate) const SERVER_RANDOM_AT: usize = CLIENT_RANDOM_AT + RANDOM_LEN;
pub(crate) const EXPORTED_AT: usize = SERVER_RANDOM_AT + RANDOM_LEN;

/// The key material of `setsockopt(SITEMH_SO_SEQPARAM)`, borrowed from the option buffer
/// (which the caller wipes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqParam<'a> {
    /// `SITEMH_SEQPARAM_TLS12`.
    Tls12 {
        master: &'a [u8; MASTER_SECRET_LEN],
        client_random: &'a [u8; RANDOM_LEN],
        server_random: &'a [u8; RANDOM_LEN],
        is_client: bool,
    },
    /// `SITEMH_SEQPARAM_EXPORTER`.
    Exporter {
        block: &'a [u8; KEY_BLOCK_LEN],
        is_client: bool,
    },
}

/// Key material, never printed.
impl core::fmt::Debug for SeqParam<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Tls12 { is_client, .. } => write!(f, "Tls12 {{ is_client: {is_client} }}"),
            Self::Exporter { is_client, .. } => {
                write!(f, "Exporter {{ is_client: {is_client} }}")
            }
        }
    }
}

/// The `N` octets of `value` at `at`.
#[cfg(not(CONFIG_RUST))]
fn octets_at<const N: usize>(value: &[u8], at: usize) -> Result<&[u8; N], SockoptError> {
    value
        .get(at..at + N)
        .and_then(|octets| octets.try_into().ok())
        .ok_or(SockoptError::TooShort)
}

/// The fields of `struct sitemh_seqparam`, as the module reads them from the typed struct
/// (`crate::ffi::uapi`) and the host tests from bytes; [`SeqParam::from_fields`] checks them.
pub(crate) struct SeqParamFields<'a> {
    /// `form`.
    pub(crate) form: u8,
    /// `entity`.
    pub(crate) entity: u8,
    /// `reserved`.
    pub(crate) reserved: [u8; 2],
    /// `master_secret`.
    pub(crate) master: &'a [u8; MASTER_SECRET_LEN],
    /// `client_random`.
    pub(crate) client_random: &'a [u8; RANDOM_LEN],
    /// `server_random`.
    pub(crate) server_random: &'a [u8; RANDOM_LEN],
    /// `exported`.
    pub(crate) exported: &'a [u8; KEY_BLOCK_LEN],
}

impl<'a> SeqParam<'a> {
    /// Reads `struct sitemh_seqparam` from its octets: exactly its size, then as
    /// [`SeqParam::from_fields`].
    #[cfg(not(CONFIG_RUST))]
    pub(crate) fn parse(value: &'a [u8]) -> Result<Self, SockoptError> {
        let value: &'a [u8; SEQPARAM_LEN] =
            value.try_into().map_err(|_| SockoptError::WrongLength)?;
        let [form, entity, r0, r1, ..] = *value;
        Self::from_fields(SeqParamFields {
            form,
            entity,
            reserved: [r0, r1],
            master: octets_at(value, MASTER_AT)?,
            client_random: octets_at(value, CLIENT_RANDOM_AT)?,
            server_random: octets_at(value, SERVER_RANDOM_AT)?,
            exported: octets_at(value, EXPORTED_AT)?,
        })
    }

    /// The key material of `struct sitemh_seqparam`'s fields: a known form, entity 0 or 1,
    /// reserved octets zero.
    pub(crate) fn from_fields(fields: SeqParamFields<'a>) -> Result<Self, SockoptError> {
        if fields.entity > 1 || fields.reserved != [0, 0] {
            return Err(SockoptError::OutOfRange);
        }
        let is_client = fields.entity == 1;
        match fields.form {
            SEQPARAM_TLS12 => Ok(Self::Tls12 {
                master: fields.master,
                client_random: fields.client_random,
                server_random: fields.server_random,
                is_client,
            }),
            SEQPARAM_EXPORTER => Ok(Self::Exporter {
                block: fields.exported,
                is_client,
            }),
            _ => Err(SockoptError::OutOfRange),
        }
    }

    /// Writes the struct into `out` (the fields of the other form zero).
    #[cfg(not(CONFIG_RUST))]
    pub(crate) fn write(&self, out: &mut [u8; SEQPARAM_LEN]) {
        out.fill(0);
        match *self {
            Self::Tls12 {
                master,
                client_random,
                server_random,
                is_client,
            } => {
                out[0] = SEQPARAM_TLS12;
                out[1] = u8::from(is_client);
                out[MASTER_AT..CLIENT_RANDOM_AT].copy_from_slice(master);
                out[CLIENT_RANDOM_AT..SERVER_RANDOM_AT].copy_from_slice(client_random);
                out[SERVER_RANDOM_AT..EXPORTED_AT].copy_from_slice(server_random);
            }
            Self::Exporter { block, is_client } => {
                out[0] = SEQPARAM_EXPORTER;
                out[1] = u8::from(is_client);
                out[EXPORTED_AT..].copy_from_slice(block);
            }
        }
    }
}

/// Reads `struct sitemh_careof{,6}` (home, care-of) for `setsockopt(SITEMH_SO_CAREOF)`:
/// the home address must be usable as one; the care-of too, or unspecified (forget the
/// binding). Octets beyond the struct are ignored, as the handler ignores them.
#[cfg(not(CONFIG_RUST))]
pub(crate) fn parse_careof<A: HomeAddr>(value: &[u8]) -> Result<(A, A), SockoptError> {
    if value.len() < 2 * A::LEN {
        return Err(SockoptError::TooShort);
    }
    let (home, careof) = (A::read(value), A::read(&value[A::LEN..]));
    check_careof(home, careof)?;
    Ok((home, careof))
}

/// Whether `home` and `careof` may be bound by `setsockopt(SITEMH_SO_CAREOF)`: the home
/// address must be usable as one; the care-of too, or unspecified (forget the binding).
pub(crate) fn check_careof<A: HomeAddr>(home: A, careof: A) -> Result<(), SockoptError> {
    let forget = careof == A::default();
    if !home.usable_as_home() || !(forget || careof.usable_as_home()) {
        return Err(SockoptError::BadAddress);
    }
    Ok(())
}

/// Writes `struct sitemh_careof{,6}` into `out`; returns its length.
#[cfg(not(CONFIG_RUST))]
pub(crate) fn write_careof<A: HomeAddr>(
    home: A,
    careof: A,
    out: &mut [u8],
) -> Result<usize, SockoptError> {
    let out = out.get_mut(..2 * A::LEN).ok_or(SockoptError::TooShort)?;
    home.write(out);
    careof.write(&mut out[A::LEN..]);
    Ok(2 * A::LEN)
}

/// A `u32` in host byte order at `at`.
#[cfg(not(CONFIG_RUST))]
fn read_u32(octets: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(octets.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::xorshift;

    #[test]
    fn answers_are_written_where_the_header_has_them() {
        let mut out = [0xaau8; PairsRequest::<u32>::HEADER_LEN + PairsRequest::<u32>::PAIR_LEN];
        PairsRequest::<u32>::write_counts(&mut out, 1, 3, 1).unwrap();
        assert_eq!(out[..4], [0xaa; 4], "ndst is the caller's");
        assert_eq!(read_u32(&out, 4), Some(1));
        assert_eq!(read_u32(&out, 8), Some(3));
        assert_eq!(read_u32(&out, 12), Some(1));
        let info = RankInfo {
            bandwidth: 0x0102_0304_0506_0708,
            hops: 9,
            latency_us: 10,
            flags: RANK_MEASURED | RANK_DOWN,
        };
        let at = PairsRequest::<u32>::HEADER_LEN;
        PairsRequest::<u32>::write_ranked(&mut out[at..], 0x0a00_0001, 0x0a00_0002, &info).unwrap();
        assert_eq!(out[at..at + 8], [10, 0, 0, 1, 10, 0, 0, 2]);
        assert_eq!(out[at + 8..at + 16], 0x0102_0304_0506_0708u64.to_ne_bytes());
        assert_eq!(read_u32(&out, at + 16), Some(9));
        assert_eq!(read_u32(&out, at + 20), Some(10));
        assert_eq!(read_u32(&out, at + 24), Some(3));
        assert_eq!(read_u32(&out, at + 28), Some(0), "reserved");
        assert_eq!(
            PairsRequest::<u32>::write_ranked(&mut out[at + 1..], 1, 2, &info),
            Err(SockoptError::TooShort)
        );

        let mut out = [0u8; 8 + 16 + MAX_SOURCES_FOR_TEST * 16];
        out[8..24].copy_from_slice(&7u128.to_be_bytes());
        let len = write_srcaddrs::<u128>(&mut out, 1, &[5, 6]).unwrap();
        assert_eq!(len, 8 + 16 + 2 * 16);
        assert_eq!(read_u32(&out, 0), Some(2));
        assert_eq!(read_u32(&out, 4), Some(1));
        assert_eq!(parse_srcaddrs::<u128>(&out), Ok(7), "dst is the caller's");
        assert_eq!(out[24..40], 5u128.to_be_bytes());
        assert_eq!(out[40..56], 6u128.to_be_bytes());
        assert_eq!(
            write_srcaddrs::<u128>(&mut out, 0, &[1; MAX_SOURCES_FOR_TEST + 1]),
            Err(SockoptError::OutOfRange)
        );
    }

    const MAX_SOURCES_FOR_TEST: usize = crate::logic::select::MAX_SOURCES;

    #[test]
    fn pairs_requests_round_trip_and_refuse_bad_counts() {
        let mut next = xorshift(0x5348_0001);
        for n in 1..=MAX_DESTS {
            let dsts: [u128; MAX_DESTS] =
                core::array::from_fn(|_| u128::from(next()) << 64 | u128::from(next()));
            let request = PairsRequest::new(&dsts[..n]).unwrap();
            let mut buf =
                [0u8; PairsRequest::<u128>::HEADER_LEN + 3 * PairsRequest::<u128>::PAIR_LEN + 5];
            request.write(&mut buf).unwrap();
            assert_eq!(PairsRequest::<u128>::parse(&buf), Ok((request, 3)));
            assert_eq!(
                PairsRequest::<u128>::parse(&buf[..PairsRequest::<u128>::HEADER_LEN - 1]),
                Err(SockoptError::TooShort)
            );
        }
        let mut buf = [0u8; PairsRequest::<u32>::HEADER_LEN];
        for ndst in [0u32, 17, u32::MAX] {
            buf[..4].copy_from_slice(&ndst.to_ne_bytes());
            assert_eq!(
                PairsRequest::<u32>::parse(&buf),
                Err(SockoptError::OutOfRange)
            );
        }
        assert!(PairsRequest::<u32>::new(&[]).is_none());
        assert!(PairsRequest::<u32>::new(&[1; MAX_DESTS + 1]).is_none());
    }

    #[test]
    fn srcaddrs_need_room_for_the_answer() {
        let mut buf = [0u8; 8 + 4 + 16 * 4];
        buf[8..12].copy_from_slice(&[192, 0, 2, 1]);
        assert_eq!(parse_srcaddrs::<u32>(&buf), Ok(0xc000_0201));
        assert_eq!(
            parse_srcaddrs::<u32>(&buf[..buf.len() - 1]),
            Err(SockoptError::TooShort)
        );
        assert_eq!(parse_srcaddrs::<u128>(&buf), Err(SockoptError::TooShort));
    }

    #[test]
    fn lfroutes_round_trip_and_refuse_every_other_length() {
        let mut next = xorshift(0x5348_0002);
        for n in 1..=MAX_LFROUTES {
            let pairs: [(u32, u32); MAX_LFROUTES] =
                core::array::from_fn(|_| (next() as u32, next() as u32));
            let routes = LfRoutes::new(&pairs[..n]).unwrap();
            let mut buf = [0u8; MAX_LFROUTES * 8];
            let len = routes.write(&mut buf).unwrap();
            assert_eq!(len, n * 8);
            assert_eq!(LfRoutes::<u32>::parse(&buf[..len]), Ok(routes));
        }
        let buf = [0u8; MAX_LFROUTES * 32 + 32];
        for len in 0..buf.len() {
            let ok = len != 0 && len % 32 == 0 && len / 32 <= MAX_LFROUTES;
            assert_eq!(
                LfRoutes::<u128>::parse(&buf[..len]).is_ok(),
                ok,
                "length {len}"
            );
        }
    }

    #[test]
    fn lfstat_takes_an_int_0_or_1() {
        assert_eq!(parse_lfstat(&0u32.to_ne_bytes()), Ok(STAT_DO_NOT_ALTER));
        assert_eq!(parse_lfstat(&1u32.to_ne_bytes()), Ok(STAT_ALTER));
        assert_eq!(
            parse_lfstat(&2u32.to_ne_bytes()),
            Err(SockoptError::OutOfRange)
        );
        assert_eq!(
            parse_lfstat(&u32::MAX.to_ne_bytes()),
            Err(SockoptError::OutOfRange)
        );
        assert_eq!(parse_lfstat(&[1, 0, 0]), Err(SockoptError::WrongLength));
        assert_eq!(
            parse_lfstat(&[1, 0, 0, 0, 0]),
            Err(SockoptError::WrongLength)
        );
    }

    #[test]
    fn seqparams_round_trip_and_refuse_bad_fields() {
        let master = [0x11u8; MASTER_SECRET_LEN];
        let (client_random, server_random) = ([0x22u8; RANDOM_LEN], [0x33u8; RANDOM_LEN]);
        let block = [0x44u8; KEY_BLOCK_LEN];
        let params = [
            SeqParam::Tls12 {
                master: &master,
                client_random: &client_random,
                server_random: &server_random,
                is_client: true,
            },
            SeqParam::Exporter {
                block: &block,
                is_client: false,
            },
        ];
        for param in params {
            let mut buf = [0u8; SEQPARAM_LEN];
            param.write(&mut buf);
            assert_eq!(SeqParam::parse(&buf), Ok(param));
            assert_eq!(
                SeqParam::parse(&buf[..SEQPARAM_LEN - 1]),
                Err(SockoptError::WrongLength)
            );
            for (at, bad) in [(0, 0u8), (0, 3), (1, 2), (2, 1), (3, 0xff)] {
                let mut bad_buf = buf;
                bad_buf[at] = bad;
                assert_eq!(SeqParam::parse(&bad_buf), Err(SockoptError::OutOfRange));
            }
        }
        let mut long = [0u8; SEQPARAM_LEN + 1];
        long[0] = SEQPARAM_EXPORTER;
        assert_eq!(SeqParam::parse(&long), Err(SockoptError::WrongLength));
    }

    #[test]
    fn careof_refuses_addresses_no_home_can_have() {
        let mut buf = [0u8; 32];
        write_careof(0xc633_640au32, 0xcb00_710a, &mut buf).unwrap();
        assert_eq!(
            parse_careof::<u32>(&buf[..8]),
            Ok((0xc633_640a, 0xcb00_710a))
        );
        write_careof(0xc633_640au32, 0, &mut buf).unwrap();
        assert_eq!(parse_careof::<u32>(&buf[..8]), Ok((0xc633_640a, 0)));
        assert_eq!(parse_careof::<u32>(&buf[..7]), Err(SockoptError::TooShort));
        for home in [0u32, 0x7f00_0001, 0xe000_0001, u32::MAX] {
            write_careof(home, 0xcb00_710a, &mut buf).unwrap();
            assert_eq!(
                parse_careof::<u32>(&buf[..8]),
                Err(SockoptError::BadAddress)
            );
        }
        write_careof(1u128 << 127, 1, &mut buf).unwrap();
        assert_eq!(parse_careof::<u128>(&buf), Err(SockoptError::BadAddress));
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The UAPI header, `include/uapi/linux/sitemh.h`, as the compiler sees it: bindgen reads
//! the header applications compile against, so the option numbers, limits and codes below
//! are the header's, and the assertions at the end stop the build if an encoding in
//! `crate::logic` (which stays free of kernel types, for the host tests) disagrees with a
//! struct's size or a field's offset.

use core::mem::{
    offset_of,
    size_of, //
};

use kernel::{
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use super::bindings as b;
use crate::logic::{
    domain::MAX_DOMAINS,
    kdf::{
        EXPORTER_LABEL,
        KEY_BLOCK_LEN, //
    },
    linkfail as lf,
    select::{
        MAX_DESTS,
        MAX_SOURCES, //
    },
    sockopt::{
        self as so,
        LfRoutes,
        PairsRequest,
        SeqParam,
        SeqParamFields, //
    },
    switchover::{
        MAX_LFROUTES,
        ROUTE_OWN,
        STAT_ALTER,
        STAT_DO_NOT_ALTER, //
    },
};

/// `SITEMH_SO_BASE`: the first option number sitemh reserves ('S' 'H').
pub(crate) const SO_BASE: i32 = b::SITEMH_SO_BASE as i32;
/// `SITEMH_SO_PAIRS`: rank the (source, destination) pairs for some destinations.
pub(crate) const SO_PAIRS: i32 = b::SITEMH_SO_PAIRS as i32;
/// `SITEMH_SO_LFROUTES`: the draft's `inp_lf_routes`.
pub(crate) const SO_LFROUTES: i32 = b::SITEMH_SO_LFROUTES as i32;
/// `SITEMH_SO_SEQPARAM`: the keys of the link-failure exchange.
pub(crate) const SO_SEQPARAM: i32 = b::SITEMH_SO_SEQPARAM as i32;
/// `SITEMH_SO_LFSTAT`: the draft's `inp_lf_stat`.
pub(crate) const SO_LFSTAT: i32 = b::SITEMH_SO_LFSTAT as i32;
/// `SITEMH_SO_SRCADDRS`: the ranked sources for one destination (`getsrcaddr`).
pub(crate) const SO_SRCADDRS: i32 = b::SITEMH_SO_SRCADDRS as i32;
/// `SITEMH_SO_CAREOF`: the care-of address of a home address.
pub(crate) const SO_CAREOF: i32 = b::SITEMH_SO_CAREOF as i32;

/// `sizeof(struct sitemh_lfroutes6)`: the longer answer of `SITEMH_SO_LFROUTES`.
pub(crate) const LFROUTES_MAX: usize = size_of::<b::sitemh_lfroutes6>();

// Limits and codes.
const _: () = assert!(b::SITEMH_MAX_DOMAINS as usize == MAX_DOMAINS);
const _: () = assert!(b::SITEMH_MAX_SOURCES as usize == MAX_SOURCES);
const _: () = assert!(b::SITEMH_MAX_DESTS as usize == MAX_DESTS);
const _: () = assert!(b::SITEMH_MAX_LFROUTES as usize == MAX_LFROUTES);
const _: () = assert!(b::SITEMH_STAT_DO_NOT_ALTER as u8 == STAT_DO_NOT_ALTER);
const _: () = assert!(b::SITEMH_STAT_ALTER as u8 == STAT_ALTER);
const _: () = assert!(b::SITEMH_LFROUTE_OWN as u8 == ROUTE_OWN);
const _: () = assert!(b::SITEMH_SEQPARAM_TLS12 as u8 == so::SEQPARAM_TLS12);
const _: () = assert!(b::SITEMH_SEQPARAM_EXPORTER as u8 == so::SEQPARAM_EXPORTER);
const _: () = assert!(b::SITEMH_ICMP_LINK_FAILURE as u8 == lf::ICMP_LINKFAILURE);
const _: () = assert!(b::SITEMH_ICMP_LINKFAILURE_CE_PE_LINK as u8 == lf::CODE_CE_PE_LINK);
const _: () = assert!(b::SITEMH_ICMP_LINKFAILURE_CE_FAILURE as u8 == lf::CODE_CE_FAILURE);
const _: () = assert!(b::SITEMH_ICMP_LINKFAILURE_SET_ALT_ROUTE as u8 == lf::CODE_SET_ALT_ROUTE);
const _: () = assert!(
    b::SITEMH_ICMP_LINKFAILURE_ALT_ROUTE_ESTABLISHED as u8 == lf::CODE_ALT_ROUTE_ESTABLISHED
);
const _: () = assert!(b::SITEMH_ICMP_LINKFAILURE_LINK_RESTORED as u8 == lf::CODE_LINK_RESTORED);
const _: () = assert!(b::SITEMH_ICMP_LINKFAILURE_KEEPALIVE as u8 == lf::CODE_KEEPALIVE);
const _: () = assert!(b::SITEMH_EXPORTER_LEN as usize == KEY_BLOCK_LEN);
// The label, as the header spells it (bindgen keeps the terminating NUL).
const _: () = assert!(b::SITEMH_EXPORTER_LABEL.len() == EXPORTER_LABEL.len() + 1);

// struct sitemh_pairs{,6}: the counts, then the destinations, then the ranked pairs.
const _: () = assert!(offset_of!(b::sitemh_pairs, dst) == so::COUNTS_LEN);
const _: () = assert!(offset_of!(b::sitemh_pairs6, dst) == so::COUNTS_LEN);
const _: () = assert!(size_of::<b::sitemh_pairs>() == PairsRequest::<u32>::HEADER_LEN);
const _: () = assert!(size_of::<b::sitemh_pairs6>() == PairsRequest::<u128>::HEADER_LEN);
const _: () = assert!(size_of::<b::sitemh_rank_info>() == so::RANK_INFO_LEN);
const _: () = assert!(size_of::<b::sitemh_ranked_pair>() == PairsRequest::<u32>::PAIR_LEN);
const _: () = assert!(size_of::<b::sitemh_ranked_pair6>() == PairsRequest::<u128>::PAIR_LEN);

// struct sitemh_srcaddrs{,6}: nsrc, service, dst, src[].
const _: () = assert!(offset_of!(b::sitemh_srcaddrs, dst) == 8);
const _: () = assert!(offset_of!(b::sitemh_srcaddrs6, dst) == 8);
const _: () =
    assert!(size_of::<b::sitemh_srcaddrs>() == so::srcaddrs_header_len::<u32>() + MAX_SOURCES * 4);
const _: () = assert!(
    size_of::<b::sitemh_srcaddrs6>() == so::srcaddrs_header_len::<u128>() + MAX_SOURCES * 16
);

// struct sitemh_addr_pair{,6} (SITEMH_SO_LFROUTES) and struct sitemh_lfroutes{,6}.
const _: () = assert!(size_of::<b::sitemh_addr_pair>() == LfRoutes::<u32>::PAIR_LEN);
const _: () = assert!(size_of::<b::sitemh_addr_pair6>() == LfRoutes::<u128>::PAIR_LEN);
const _: () = assert!(offset_of!(b::sitemh_lfroutes, routes) == 4);
const _: () = assert!(offset_of!(b::sitemh_lfroutes6, routes) == 4);
const _: () = assert!(LFROUTES_MAX == 4 + MAX_LFROUTES * LfRoutes::<u128>::PAIR_LEN);

// struct sitemh_careof{,6}: home, then care-of.
const _: () = assert!(size_of::<b::sitemh_careof>() == 2 * 4);
const _: () = assert!(size_of::<b::sitemh_careof6>() == 2 * 16);

// struct sitemh_seqparam.
const _: () = assert!(size_of::<b::sitemh_seqparam>() == so::SEQPARAM_LEN);
const _: () = assert!(offset_of!(b::sitemh_seqparam, master_secret) == so::MASTER_AT);
const _: () = assert!(offset_of!(b::sitemh_seqparam, client_random) == so::CLIENT_RANDOM_AT);
const _: () = assert!(offset_of!(b::sitemh_seqparam, server_random) == so::SERVER_RANDOM_AT);
const _: () = assert!(offset_of!(b::sitemh_seqparam, exported) == so::EXPORTED_AT);

// Typed values: the structs applications pass are read (and written) as the header's
// types, so a field the module reads is one the header declares.

// SAFETY: `struct sitemh_seqparam` holds only octets and arrays of octets: every bit
// pattern is a valid value, there is no padding (its size is asserted above), and its
// alignment is 1.
unsafe impl FromBytes for b::sitemh_seqparam {}

/// `struct sitemh_seqparam` in `value`, which must be exactly its size, read as the typed
/// struct and checked.
pub(crate) fn read_seqparam(value: &[u8]) -> Result<SeqParam<'_>> {
    if value.len() != size_of::<b::sitemh_seqparam>() {
        return Err(EINVAL);
    }
    let p = b::sitemh_seqparam::from_bytes(value).ok_or(EINVAL)?;
    SeqParam::from_fields(SeqParamFields {
        form: p.form,
        entity: p.entity,
        reserved: p.reserved,
        master: &p.master_secret,
        client_random: &p.client_random,
        server_random: &p.server_random,
        exported: &p.exported,
    })
    .map_err(|_| EINVAL)
}

// SAFETY: two `struct in_addr` (one `__be32` each): every bit pattern is valid and there is
// no padding (size asserted above).
unsafe impl FromBytes for b::sitemh_careof {}
// SAFETY: as above; no padding, so every byte is initialised.
unsafe impl AsBytes for b::sitemh_careof {}
// SAFETY: two `struct in6_addr`, unions of octet, `__be16` and `__be32` arrays of the same
// 16 octets: every bit pattern is valid for every member, and there is no padding.
unsafe impl FromBytes for b::sitemh_careof6 {}
// SAFETY: as above.
unsafe impl AsBytes for b::sitemh_careof6 {}

/// A family's `struct sitemh_careof{,6}` (`SITEMH_SO_CAREOF`): a home address, then its
/// care-of address, as the header declares them.
pub(crate) trait UapiCareof: Sized + Copy {
    /// `struct sitemh_careof` or `struct sitemh_careof6`.
    type Careof: FromBytes + AsBytes;
    /// The struct holding `home` and `careof`.
    fn careof(home: Self, careof: Self) -> Self::Careof;
    /// The struct's home and care-of addresses.
    fn fields(value: &Self::Careof) -> (Self, Self);
}

impl UapiCareof for u32 {
    type Careof = b::sitemh_careof;

    fn careof(home: u32, careof: u32) -> b::sitemh_careof {
        b::sitemh_careof {
            home: kernel::bindings::in_addr {
                s_addr: home.to_be(),
            },
            careof: kernel::bindings::in_addr {
                s_addr: careof.to_be(),
            },
        }
    }

    fn fields(value: &b::sitemh_careof) -> (u32, u32) {
        (
            u32::from_be(value.home.s_addr),
            u32::from_be(value.careof.s_addr),
        )
    }
}

/// `struct in6_addr` holding `addr`.
fn in6_addr(addr: u128) -> kernel::bindings::in6_addr {
    kernel::bindings::in6_addr {
        in6_u: kernel::bindings::in6_addr__bindgen_ty_1 {
            u6_addr8: addr.to_be_bytes(),
        },
    }
}

/// The address in a `struct in6_addr`.
fn in6_addr_bits(addr: &kernel::bindings::in6_addr) -> u128 {
    // SAFETY: every member of the union is plain data over the same 16 octets, so reading
    // them as octets is valid whichever member was written.
    u128::from_be_bytes(unsafe { addr.in6_u.u6_addr8 })
}

impl UapiCareof for u128 {
    type Careof = b::sitemh_careof6;

    fn careof(home: u128, careof: u128) -> b::sitemh_careof6 {
        b::sitemh_careof6 {
            home: in6_addr(home),
            careof: in6_addr(careof),
        }
    }

    fn fields(value: &b::sitemh_careof6) -> (u128, u128) {
        (in6_addr_bits(&value.home), in6_addr_bits(&value.careof))
    }
}

/// `struct sitemh_careof{,6}` at the start of `value` (octets beyond it are ignored, as
/// the option always did): (home, care-of).
pub(crate) fn read_careof<A: UapiCareof>(value: &[u8]) -> Result<(A, A)> {
    let (careof, _) = A::Careof::from_bytes_copy_prefix(value).ok_or(EINVAL)?;
    Ok(A::fields(&careof))
}

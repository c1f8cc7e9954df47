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
    prefix::WireAddr,
    select::{
        MAX_DESTS,
        MAX_SOURCES, //
    },
    sockopt::{
        self as so,
        LfRoutes,
        PairsRequest,
        RankInfo,
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
const _: () = assert!(b::SITEMH_ICMP_LINKFAILURE_ROUTE_LIST as u8 == lf::CODE_ROUTE_LIST);
const _: () = assert!(b::SITEMH_ICMP_LINKFAILURE_ROUTE_LIST_ACK as u8 == lf::CODE_ROUTE_LIST_ACK);
const _: () = assert!(b::SITEMH_MAX_ROUTE_LIST as usize == lf::LIST_MAX);
const _: () =
    assert!(b::SITEMH_ICMP_LINKFAILURE_KEY_OFFER as u8 == crate::logic::agree::CODE_KEY_OFFER);
const _: () =
    assert!(b::SITEMH_ICMP_LINKFAILURE_KEY_ANSWER as u8 == crate::logic::agree::CODE_KEY_ANSWER);
const _: () =
    assert!(b::SITEMH_ROUTE_LIST_FIRST_MS as u64 == crate::logic::switchover::LIST_FIRST_MS);
const _: () =
    assert!(b::SITEMH_ROUTE_LIST_RETRY_MS as u64 == crate::logic::switchover::LIST_RETRY_MS);
const _: () = assert!(b::SITEMH_ROUTE_LIST_TRIES as u8 == crate::logic::switchover::LIST_TRIES);
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
const _: () =
    assert!(size_of::<b::sitemh_lfroutes6>() == 4 + MAX_LFROUTES * LfRoutes::<u128>::PAIR_LEN);

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

// SAFETY: (for every `unsafe impl` of `FromBytes` and `AsBytes` below) the structs hold
// only `__u8`/`__u32`/`__u64` fields, `struct in_addr` (one `__be32`), `struct in6_addr`
// (a union of octet, `__be16` and `__be32` arrays over the same 16 octets, each member
// valid for every bit pattern and always written whole here), arrays of those, and a
// zero-sized flexible array member; every bit pattern is a valid value, and there is no
// padding, so every byte is initialised: the sizes asserted above are the sums of the
// fields'.
unsafe impl FromBytes for b::sitemh_careof {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_careof {}
// SAFETY: see above.
unsafe impl FromBytes for b::sitemh_careof6 {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_careof6 {}
// SAFETY: see above.
unsafe impl FromBytes for b::sitemh_pairs {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_pairs {}
// SAFETY: see above.
unsafe impl FromBytes for b::sitemh_pairs6 {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_pairs6 {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_ranked_pair {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_ranked_pair6 {}
// SAFETY: see above.
unsafe impl FromBytes for b::sitemh_srcaddrs {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_srcaddrs {}
// SAFETY: see above.
unsafe impl FromBytes for b::sitemh_srcaddrs6 {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_srcaddrs6 {}
// SAFETY: see above.
unsafe impl FromBytes for b::sitemh_addr_pair {}
// SAFETY: see above.
unsafe impl FromBytes for b::sitemh_addr_pair6 {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_lfroutes {}
// SAFETY: see above.
unsafe impl AsBytes for b::sitemh_lfroutes6 {}

// No padding in the structs only the module writes (the others' sizes are asserted above).
const _: () = assert!(size_of::<b::sitemh_lfroutes>() == 4 + MAX_LFROUTES * 8);
const _: () = assert!(size_of::<b::sitemh_addr_pair>() == 2 * size_of::<u32>());

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

/// `struct in_addr` holding `addr`.
fn in_addr(addr: u32) -> kernel::bindings::in_addr {
    kernel::bindings::in_addr {
        s_addr: addr.to_be(),
    }
}

/// The address in a `struct in_addr`.
fn in_addr_bits(addr: &kernel::bindings::in_addr) -> u32 {
    u32::from_be(addr.s_addr)
}

/// A family's address as the UAPI header declares it (`struct in_addr`, `struct in6_addr`)
/// and the family's structs of the socket options: the module reads and writes them as
/// these typed values, so the compiler holds the module to the header's fields.
pub(crate) trait UapiAddr: WireAddr + Sized + Copy {
    /// `struct sitemh_careof{,6}` (`SITEMH_SO_CAREOF`).
    type Careof: FromBytes + AsBytes;
    /// `struct sitemh_pairs{,6}` without its flexible array (`SITEMH_SO_PAIRS`).
    type Pairs: FromBytes + AsBytes;
    /// `struct sitemh_ranked_pair{,6}`: one pair of a `SITEMH_SO_PAIRS` answer.
    type RankedPair: AsBytes;
    /// `struct sitemh_srcaddrs{,6}` (`SITEMH_SO_SRCADDRS`).
    type Srcaddrs: FromBytes + AsBytes;
    /// `struct sitemh_addr_pair{,6}`: one route of `setsockopt(SITEMH_SO_LFROUTES)`.
    type AddrPair: FromBytes;
    /// `struct sitemh_lfroutes{,6}`: the answer of `getsockopt(SITEMH_SO_LFROUTES)`.
    type LfRoutes: AsBytes;

    /// The struct holding `home` and `careof`.
    fn careof(home: Self, careof: Self) -> Self::Careof;
    /// The struct's home and care-of addresses.
    fn careof_fields(value: &Self::Careof) -> (Self, Self);
    /// A `SITEMH_SO_PAIRS` request's `ndst` and destinations.
    fn pairs_request(request: &Self::Pairs) -> (u32, [Self; MAX_DESTS]);
    /// Fills in the counts of a `SITEMH_SO_PAIRS` answer (the request's fields stay).
    fn set_pairs_counts(answer: &mut Self::Pairs, npairs: u32, available: u32, service: u32);
    /// One ranked pair of a `SITEMH_SO_PAIRS` answer.
    fn ranked_pair(src: Self, dst: Self, info: &RankInfo) -> Self::RankedPair;
    /// A `SITEMH_SO_SRCADDRS` request's destination.
    fn srcaddrs_dst(request: &Self::Srcaddrs) -> Self;
    /// Fills in a `SITEMH_SO_SRCADDRS` answer: `nsrc`, `service` and the sources (at most
    /// `SITEMH_MAX_SOURCES`, best first).
    fn set_srcaddrs(answer: &mut Self::Srcaddrs, service: u32, sources: &[Self]);
    /// A route's (local, peer) addresses.
    fn addr_pair(route: &Self::AddrPair) -> (Self, Self);
    /// The `getsockopt(SITEMH_SO_LFROUTES)` answer: `stat`, `n_routes`, `in_use`,
    /// `switches`, then the routes.
    fn lfroutes(head: [u8; 4], routes: &[(Self, Self)]) -> Self::LfRoutes;
}

/// The same for both families: only the address conversion and the structs' names differ.
macro_rules! uapi_addr {
    ($addr:ty, $to:ident, $from:ident, $careof:ident, $pairs:ident, $ranked:ident,
     $srcaddrs:ident, $pair:ident, $lfroutes:ident) => {
        impl UapiAddr for $addr {
            type Careof = b::$careof;
            type Pairs = b::$pairs;
            type RankedPair = b::$ranked;
            type Srcaddrs = b::$srcaddrs;
            type AddrPair = b::$pair;
            type LfRoutes = b::$lfroutes;

            fn careof(home: Self, careof: Self) -> b::$careof {
                b::$careof {
                    home: $to(home),
                    careof: $to(careof),
                }
            }

            fn careof_fields(value: &b::$careof) -> (Self, Self) {
                ($from(&value.home), $from(&value.careof))
            }

            fn pairs_request(request: &b::$pairs) -> (u32, [Self; MAX_DESTS]) {
                (request.ndst, request.dst.each_ref().map($from))
            }

            fn set_pairs_counts(answer: &mut b::$pairs, npairs: u32, available: u32, service: u32) {
                answer.npairs = npairs;
                answer.available = available;
                answer.service = service;
            }

            fn ranked_pair(src: Self, dst: Self, info: &RankInfo) -> b::$ranked {
                b::$ranked {
                    pair: b::$pair {
                        src: $to(src),
                        dst: $to(dst),
                    },
                    info: b::sitemh_rank_info {
                        bandwidth: info.bandwidth,
                        hops: info.hops,
                        latency_us: info.latency_us,
                        flags: info.flags,
                        reserved: 0,
                    },
                }
            }

            fn srcaddrs_dst(request: &b::$srcaddrs) -> Self {
                $from(&request.dst)
            }

            fn set_srcaddrs(answer: &mut b::$srcaddrs, service: u32, sources: &[Self]) {
                let mut n = 0u32;
                for (slot, &src) in answer.src.iter_mut().zip(sources) {
                    *slot = $to(src);
                    n += 1;
                }
                answer.nsrc = n;
                answer.service = service;
            }

            fn addr_pair(route: &b::$pair) -> (Self, Self) {
                ($from(&route.src), $from(&route.dst))
            }

            fn lfroutes(head: [u8; 4], routes: &[(Self, Self)]) -> b::$lfroutes {
                let [stat, n_routes, in_use, switches] = head;
                b::$lfroutes {
                    stat,
                    n_routes,
                    in_use,
                    switches,
                    routes: core::array::from_fn(|i| {
                        let (src, dst) = routes.get(i).copied().unwrap_or((0, 0));
                        b::$pair {
                            src: $to(src),
                            dst: $to(dst),
                        }
                    }),
                }
            }
        }
    };
}

uapi_addr!(
    u32,
    in_addr,
    in_addr_bits,
    sitemh_careof,
    sitemh_pairs,
    sitemh_ranked_pair,
    sitemh_srcaddrs,
    sitemh_addr_pair,
    sitemh_lfroutes
);
uapi_addr!(
    u128,
    in6_addr,
    in6_addr_bits,
    sitemh_careof6,
    sitemh_pairs6,
    sitemh_ranked_pair6,
    sitemh_srcaddrs6,
    sitemh_addr_pair6,
    sitemh_lfroutes6
);

/// The `SITEMH_SO_PAIRS` request in `request`, checked: 1..=`SITEMH_MAX_DESTS`
/// destinations.
pub(crate) fn pairs_request<A: UapiAddr>(request: &A::Pairs) -> Result<PairsRequest<A>> {
    let (ndst, dsts) = A::pairs_request(request);
    PairsRequest::from_fields(ndst, &dsts).map_err(|_| EINVAL)
}

/// The routes of `setsockopt(SITEMH_SO_LFROUTES)` in `value`: a whole number of `struct
/// sitemh_addr_pair{,6}`, 1..=`SITEMH_MAX_LFROUTES` of them.
pub(crate) fn read_lfroutes<A: UapiAddr>(value: &[u8]) -> Result<LfRoutes<A>> {
    let n = LfRoutes::<A>::count(value.len()).map_err(|_| EINVAL)?;
    let mut pairs = [(A::ZERO, A::ZERO); MAX_LFROUTES];
    for (pair, octets) in pairs
        .iter_mut()
        .zip(value.chunks_exact(size_of::<A::AddrPair>()))
    {
        *pair = A::addr_pair(&A::AddrPair::from_bytes_copy(octets).ok_or(EINVAL)?);
    }
    LfRoutes::new(pairs.get(..n).ok_or(EINVAL)?).ok_or(EINVAL)
}

/// `struct sitemh_careof{,6}` at the start of `value` (octets beyond it are ignored, as
/// the option always did): (home, care-of).
pub(crate) fn read_careof<A: UapiAddr>(value: &[u8]) -> Result<(A, A)> {
    let (careof, _) = A::Careof::from_bytes_copy_prefix(value).ok_or(EINVAL)?;
    Ok(A::careof_fields(&careof))
}

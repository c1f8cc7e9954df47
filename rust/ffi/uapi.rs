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

use super::bindings as b;
use crate::logic::{
    domain::MAX_DOMAINS,
    kdf::{
        EXPORTER_LABEL,
        KEY_BLOCK_LEN,
        MASTER_SECRET_LEN,
        RANDOM_LEN, //
    },
    linkfail as lf,
    select::{
        MAX_DESTS,
        MAX_SOURCES, //
    },
    sockopt::{
        self as so,
        LfRoutes,
        PairsRequest, //
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
const _: () = assert!(offset_of!(b::sitemh_seqparam, master_secret) == 4);
const _: () = assert!(offset_of!(b::sitemh_seqparam, client_random) == 4 + MASTER_SECRET_LEN);
const _: () =
    assert!(offset_of!(b::sitemh_seqparam, server_random) == 4 + MASTER_SECRET_LEN + RANDOM_LEN);
const _: () =
    assert!(offset_of!(b::sitemh_seqparam, exported) == 4 + MASTER_SECRET_LEN + 2 * RANDOM_LEN);

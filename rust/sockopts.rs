// SPDX-License-Identifier: GPL-2.0

//! The one dispatcher of sitemh's socket options: each option number of the UAPI header
//! goes to the feature that serves it, with the state of the caller's namespace. The
//! features answer; only this module knows which feature answers what.

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    uaccess::UserSlice, //
};

use crate::{
    family::{
        V4,
        V6, //
    },
    ffi::{
        sockopt::{
            GetSockopt,
            Socket, //
        },
        uapi,
    },
    netns::SitemhNet,
    select::{
        answer_pairs,
        answer_sources, //
    },
};

/// The first option number sitemh reserves (`SITEMH_SO_BASE`).
pub(crate) const SO_BASE: i32 = uapi::SO_BASE;
/// One past the last option number sitemh reserves.
pub(crate) const SO_END: i32 = uapi::SO_BASE + 16;

/// The options at level `IPPROTO_IP`.
pub(crate) struct SocketOptionsV4;
/// The options at level `IPPROTO_IPV6`.
pub(crate) struct SocketOptionsV6;

impl GetSockopt for SocketOptionsV4 {
    type State = SitemhNet;

    fn get(state: &SitemhNet, socket: &Socket<'_>, optname: i32, buf: UserSlice) -> Result<usize> {
        let linkfail = state.linkfail();
        match optname {
            uapi::SO_PAIRS => answer_pairs::<V4>(
                state.v4(),
                linkfail.down_mask(),
                linkfail.probes(),
                socket,
                buf,
            ),
            uapi::SO_SRCADDRS => answer_sources::<V4>(
                state.v4(),
                linkfail.down_mask(),
                linkfail.probes(),
                socket,
                buf,
            ),
            uapi::SO_LFROUTES => state.switchover().get(socket, buf),
            uapi::SO_CAREOF => state.home4().get_careof(buf),
            _ => Err(ENOPROTOOPT),
        }
    }

    fn set(state: &SitemhNet, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        match optname {
            uapi::SO_CAREOF => state.home4().set_careof(value),
            uapi::SO_LFROUTES | uapi::SO_SEQPARAM | uapi::SO_LFSTAT => {
                state.switchover().set(socket, optname, value)
            }
            _ => Err(ENOPROTOOPT),
        }
    }
}

impl GetSockopt for SocketOptionsV6 {
    type State = SitemhNet;

    fn get(state: &SitemhNet, socket: &Socket<'_>, optname: i32, buf: UserSlice) -> Result<usize> {
        let linkfail = state.linkfail();
        match optname {
            uapi::SO_PAIRS => answer_pairs::<V6>(
                state.v6(),
                linkfail.down6_mask(),
                linkfail.probes(),
                socket,
                buf,
            ),
            uapi::SO_SRCADDRS => answer_sources::<V6>(
                state.v6(),
                linkfail.down6_mask(),
                linkfail.probes(),
                socket,
                buf,
            ),
            uapi::SO_LFROUTES => state.switchover6().get(socket, buf),
            uapi::SO_CAREOF => state.home6().get_careof(buf),
            _ => Err(ENOPROTOOPT),
        }
    }

    fn set(state: &SitemhNet, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        match optname {
            uapi::SO_CAREOF => state.home6().set_careof(value),
            uapi::SO_LFROUTES | uapi::SO_SEQPARAM | uapi::SO_LFSTAT => {
                state.switchover6().set(socket, optname, value)
            }
            _ => Err(ENOPROTOOPT),
        }
    }
}

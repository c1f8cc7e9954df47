// SPDX-License-Identifier: GPL-2.0

//! The one dispatcher of sitemh's socket options: each option number of the UAPI header
//! goes to the feature that serves it, with the state of the caller's namespace. The
//! features answer; only this module knows which feature answers what.

#![forbid(unsafe_code)]

use core::marker::PhantomData;

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
    netns::{
        NetFamily,
        SitemhNet, //
    },
    select::{
        answer_pairs,
        answer_sources, //
    },
};

/// The first option number sitemh reserves (`SITEMH_SO_BASE`).
pub(crate) const SO_BASE: i32 = uapi::SO_BASE;
/// One past the last option number sitemh reserves.
pub(crate) const SO_END: i32 = uapi::SO_BASE + 16;

/// The options of family `F`: level `IPPROTO_IP` for [`V4`], `IPPROTO_IPV6` for [`V6`].
pub(crate) struct SocketOptions<F>(PhantomData<F>);

impl<F: NetFamily + 'static> GetSockopt for SocketOptions<F> {
    type State = SitemhNet;

    fn get(state: &SitemhNet, socket: &Socket<'_>, optname: i32, buf: UserSlice) -> Result<usize> {
        let (domains, switchover, home) = F::parts(state);
        let linkfail = state.linkfail();
        let down = F::down_mask(linkfail);
        match optname {
            uapi::SO_PAIRS => answer_pairs::<F>(domains, down, linkfail.probes(), socket, buf),
            uapi::SO_SRCADDRS => answer_sources::<F>(domains, down, linkfail.probes(), socket, buf),
            uapi::SO_LFROUTES => switchover.get(socket, buf),
            uapi::SO_CAREOF => home.get_careof(buf),
            _ => Err(ENOPROTOOPT),
        }
    }

    fn set(state: &SitemhNet, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        let (_, switchover, home) = F::parts(state);
        match optname {
            uapi::SO_CAREOF => home.set_careof(value),
            uapi::SO_LFROUTES | uapi::SO_SEQPARAM | uapi::SO_LFSTAT => {
                switchover.set(socket, optname, value)
            }
            _ => Err(ENOPROTOOPT),
        }
    }
}

/// The options at level `IPPROTO_IP`.
pub(crate) type SocketOptionsV4 = SocketOptions<V4>;
/// The options at level `IPPROTO_IPV6`.
pub(crate) type SocketOptionsV6 = SocketOptions<V6>;

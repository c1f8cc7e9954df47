// SPDX-License-Identifier: GPL-2.0

//! The users of a namespace's packet hooks, one bit each: the hooks a user needs are
//! registered while its bit is set (the namespace's `NetHooks::needed` maps bits to
//! hooks). One table, so that no two users share a bit and unregister each other's hooks.
//! A leaf: features name their bits here and hold an [`Hooks`] handle, not the namespace.

#![forbid(unsafe_code)]

use kernel::sync::Arc;

use crate::ffi::netfilter::HookUsers;

/// A feature's handle on its namespace's hooks.
pub(crate) type Hooks = Arc<dyn HookUsers>;

/// IPv4 domains configured: source-domain routing.
pub(crate) const DOMAINS_V4: u32 = 0;
/// IPv6 domains configured.
pub(crate) const DOMAINS_V6: u32 = 1;
/// Tracked IPv4 connections: notices and the switchover's translation.
pub(crate) const SWITCHOVER_V4: u32 = 2;
/// A CE role watching peer CE routers (keepalives) or serving a LAN (hosts'
/// solicitations): both arrive at LOCAL_IN.
pub(crate) const CE_ROLE: u32 = 3;
/// IPv4 stacking: a care-of address, the correspondent role or bindings.
pub(crate) const HOME_V4: u32 = 4;
/// IPv6 stacking.
pub(crate) const HOME_V6: u32 = 5;
/// An IPv4 home address configured: packets reaching it through a home agent's
/// tunnel are watched for (draft 2.3.4).
pub(crate) const HOME_ADDR_V4: u32 = 6;
/// An IPv6 home address configured.
pub(crate) const HOME_ADDR_V6: u32 = 7;
/// Tracked IPv6 connections.
pub(crate) const SWITCHOVER_V6: u32 = 8;
/// IPv6 domains learned from router advertisements (`net.ipv6.sitemh_auto`): RAs are
/// read at LOCAL_IN.
pub(crate) const RA_V6: u32 = 9;

// SPDX-License-Identifier: GPL-2.0

//! What sitemh keeps in every network namespace.
//!
//! Each namespace has its own configuration, set through sysctl nodes named after the
//! draft's `IPCTL_*` identifiers, so a router and a host simulated in two namespaces of one
//! machine are configured independently.

#![forbid(unsafe_code)]

use kernel::prelude::*;

use crate::ffi::{
    net::{
        Net,
        NetId,
        NetState, //
    },
    sysctl::{
        IntKnob,
        NetSysctlInts, //
    },
};

/// The draft's limit on the number of IP domains of a site.
pub(crate) const MAX_DOMAINS: i32 = 16;

/// The kernel's slot number for [`SitemhNet`].
static SITEMH_NET_ID: NetId = NetId::new();

/// The knobs of one address family, in the order of their indices below.
const FAMILY_KNOBS: &[IntKnob] = &[IntKnob {
    // IPCTL_NUM_DOMAINS
    name: c"ip_num_domains",
    min: 0,
    max: MAX_DOMAINS,
}];

/// Index of `ip_num_domains` in [`FAMILY_KNOBS`].
const NUM_DOMAINS: usize = 0;

/// The per-namespace state of sitemh.
pub(crate) struct SitemhNet {
    ipv4: NetSysctlInts,
    ipv6: NetSysctlInts,
}

#[expect(
    dead_code,
    reason = "the routing hooks of the domains issue read these"
)]
impl SitemhNet {
    /// The number of IPv4 domains configured in this namespace.
    pub(crate) fn num_domains_v4(&self) -> i32 {
        self.ipv4.get(NUM_DOMAINS).unwrap_or(0)
    }

    /// The number of IPv6 domains configured in this namespace.
    pub(crate) fn num_domains_v6(&self) -> i32 {
        self.ipv6.get(NUM_DOMAINS).unwrap_or(0)
    }
}

impl NetState for SitemhNet {
    const ID: &'static NetId = &SITEMH_NET_ID;

    fn init(net: &Net) -> Result<Self> {
        let ipv4 = NetSysctlInts::register(net, c"net/ipv4", FAMILY_KNOBS)?;
        let ipv6 = NetSysctlInts::register(net, c"net/ipv6", FAMILY_KNOBS)?;
        Ok(Self { ipv4, ipv6 })
    }
}

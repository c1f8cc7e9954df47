// SPDX-License-Identifier: GPL-2.0

//! sitemh: site multihoming for stub networks, after the IETF draft
//! "Solution for Site Multihoming in a Real IP Environment" (draft-shyam-site-multi-38).
//!
//! The module is layered: [`ffi`] is the only code that calls C; [`logic`] is pure and also
//! compiled on the host; the rest wires the two together without `unsafe`.

use kernel::prelude::*;

mod domains;
mod ffi;
mod kunit;
mod linkfail;
mod logic;
mod netns;
mod select;
mod switchover;

use ffi::{
    net::NetStateRegistration,
    sockopt::SockoptRegistration, //
};
use netns::SitemhNet;
use select::{
    SelectV4,
    SelectV6, //
};

/// netfilter's protocol numbers for socket options of level `IPPROTO_IP` / `IPPROTO_IPV6`.
const NFPROTO_IPV4: u8 = kernel::bindings::NFPROTO_IPV4 as u8;
const NFPROTO_IPV6: u8 = kernel::bindings::NFPROTO_IPV6 as u8;

module! {
    type: Sitemh,
    name: "sitemh",
    authors: ["The sitemh developers"],
    description: "Site multihoming for stub networks (draft-shyam-site-multi-38)",
    license: "GPL",
}

/// The loaded module: while it exists, every network namespace carries a [`SitemhNet`],
/// and the draft's calls are served as socket options.
///
/// Fields drop in declaration order: the socket options go before the namespace state
/// they read (they are initialised after it).
#[pin_data]
struct Sitemh {
    #[pin]
    sockopt_v4: SockoptRegistration<SelectV4, NFPROTO_IPV4>,
    #[pin]
    sockopt_v6: SockoptRegistration<SelectV6, NFPROTO_IPV6>,
    #[pin]
    netns: NetStateRegistration<SitemhNet>,
}

impl kernel::InPlaceModule for Sitemh {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pr_info!(
            "loading: up to {} IP domains per namespace and family\n",
            logic::domain::MAX_DOMAINS
        );
        try_pin_init!(Self {
            netns <- NetStateRegistration::register(),
            // SAFETY: `netns`, initialised first, is dropped after the socket options.
            sockopt_v4 <- unsafe { SockoptRegistration::register(select::SO_BASE, select::SO_END, module) },
            // SAFETY: as above.
            sockopt_v6 <- unsafe { SockoptRegistration::register(select::SO_BASE, select::SO_END, module) },
        })
    }
}

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
mod logic;
mod netns;

use ffi::net::NetStateRegistration;
use netns::SitemhNet;

module! {
    type: Sitemh,
    name: "sitemh",
    authors: ["The sitemh developers"],
    description: "Site multihoming for stub networks (draft-shyam-site-multi-38)",
    license: "GPL",
}

/// The loaded module: while it exists, every network namespace carries a [`SitemhNet`].
#[pin_data]
struct Sitemh {
    #[pin]
    netns: NetStateRegistration<SitemhNet>,
}

impl kernel::InPlaceModule for Sitemh {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pr_info!(
            "loading: up to {} IP domains per namespace and family\n",
            logic::domain::MAX_DOMAINS
        );
        try_pin_init!(Self {
            netns <- NetStateRegistration::register(),
        })
    }
}

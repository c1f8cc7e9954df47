// SPDX-License-Identifier: GPL-2.0

//! sitemh: site multihoming for stub networks, after the IETF draft
//! "Solution for Site Multihoming in a Real IP Environment" (draft-shyam-site-multi-38).
//!
//! The module is layered: [`ffi`] is the only code that calls C; [`logic`] is pure and also
//! compiled on the host; the rest wires the two together without `unsafe`.

use kernel::prelude::*;

// Leaves every feature may use: the pure logic, the FFI layer, and what differs between
// the families, the hooks' users and the module parameters.
mod family;
mod ffi;
mod hook_user;
mod logic;
mod params;

// The features, each depending only on those above it in this list (scripts/deps.py checks
// that no feature names one below it, and that none names the composition).
mod domains;
mod home;
mod linkfail;
mod select;
mod switchover;

// The composition: the per-namespace state that owns the features and dispatches the
// hooks, and the socket options.
mod netns;
mod sockopts;

// The KUnit suites, in a kernel built with KUnit (the UML benchmark kernel has none).
#[cfg(CONFIG_KUNIT)]
mod kunit;

use ffi::sockopt::ServedNetState;
use sockopts::{
    SocketOptionsV4,
    SocketOptionsV6, //
};

module! {
    type: Sitemh,
    name: "sitemh",
    authors: ["The sitemh developers"],
    description: "Site multihoming for stub networks (draft-shyam-site-multi-38)",
    license: "GPL",
    params: {
        icmp_type: u8 {
            default: 41,
            description: "ICMP type of link-failure messages (the draft's 41; IANA lists 41 for experimental mobility, RFC 4065). The kernel's own types are refused: 0..=18 (NR_ICMP_TYPES) and 42, 43 (RFC 8335 extended echo)",
        },
        icmp6_type: u8 {
            default: 200,
            description: "ICMPv6 type of the IPv6 link-failure messages: an informational type (RFC 4443: 200, the default, is for private experimentation). Must be above 161, the kernel's own highest informational type",
        },
        events_own: bool {
            default: true,
            description: "Default of each namespace's net.ipv4.sitemh_lf.events_own: whether the generic netlink group \"own\" tells unprivileged listeners of events about their own sockets (connections moved and failed back); 0: nothing goes to it, only CAP_NET_ADMIN listeners of the group \"events\" hear anything",
        },
        stacking_layout: u8 {
            default: 0,
            description: "Layout of the IPv4 address-stacking option 144: 0, a length octet after the code and the stacking type in the first reserved octet (RFC 791: routers step over it); 1, the draft's figures (code, stacking type, two reserved octets: RFC 791 routers drop types 0 and 1)",
        },
    },
}

/// The loaded module: while it exists, every network namespace carries a [`netns::SitemhNet`],
/// and the draft's calls are served as socket options.
///
/// Fields drop in declaration order: the workqueue for long work goes last, after the
/// namespace states whose work it runs (it is initialised first). [`ServedNetState`]
/// drops the socket options before the namespace state they read.
#[pin_data]
struct Sitemh {
    #[pin]
    served: ServedNetState<SocketOptionsV4, SocketOptionsV6>,
    long_wq: ffi::work::LongWorkqueue,
    /// The generic netlink family of events: registered first and gone last, so that no
    /// namespace announces while it is not there.
    events: ffi::events::Family,
}

impl kernel::InPlaceModule for Sitemh {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            pr_info!(
                "loading: up to {} IP domains per namespace and family, link-failure messages as ICMP type {}\n",
                logic::domain::MAX_DOMAINS,
                params::icmp_type()
            );
            params::check()?;
            Ok(try_pin_init!(Self {
                events: ffi::events::Family::register()?,
                long_wq: ffi::work::LongWorkqueue::create()?,
                served <- ServedNetState::register(sockopts::SO_BASE, sockopts::SO_END, module),
            }))
        })
    }
}

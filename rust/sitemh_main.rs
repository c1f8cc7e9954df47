// SPDX-License-Identifier: GPL-2.0

//! sitemh: site multihoming for stub networks, after the IETF draft
//! "Solution for Site Multihoming in a Real IP Environment" (draft-shyam-site-multi-38).
//!
//! The module is layered: [`ffi`] is the only code that calls C; [`logic`] is pure and also
//! compiled on the host; the rest wires the two together without `unsafe`.

use kernel::prelude::*;

mod domains;
mod ffi;
mod home;
mod kunit;
mod linkfail;
mod logic;
mod netns;
mod select;
mod switchover;

use ffi::sockopt::ServedNetState;
use select::{
    SelectV4,
    SelectV6, //
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
        stacking_layout: u8 {
            default: 0,
            description: "Layout of the IPv4 address-stacking option 144: 0, a length octet after the code and the stacking type in the first reserved octet (RFC 791: routers step over it); 1, the draft's figures (code, stacking type, two reserved octets: RFC 791 routers drop types 0 and 1)",
        },
    },
}

/// The ICMP type of link-failure messages (module parameter `icmp_type`).
pub(crate) fn icmp_type() -> u8 {
    module_parameters::icmp_type.value()
}

/// The ICMPv6 type of IPv6 link-failure messages (module parameter `icmp6_type`).
pub(crate) fn icmp6_type() -> u8 {
    module_parameters::icmp6_type.value()
}

/// The highest ICMPv6 type the kernel handles itself (`ICMPV6_EXT_ECHO_REPLY`).
const HIGHEST_KERNEL_ICMPV6_TYPE: u8 = 161;

/// The IPv4 stacking option's layout (module parameter `stacking_layout`).
pub(crate) fn stacking_layout() -> u8 {
    module_parameters::stacking_layout.value()
}

/// The highest ICMP type the kernel handles itself (`NR_ICMP_TYPES`).
const NR_ICMP_TYPES: u8 = 18;

/// RFC 8335's extended echo request and reply (`ICMP_EXT_ECHO`, `ICMP_EXT_ECHOREPLY`):
/// above `NR_ICMP_TYPES`, yet `icmp_rcv` answers the one and hands the other to ping
/// sockets, so messages of ours under either type would be misread.
const ICMP_EXT_ECHO_TYPES: [u8; 2] = [42, 43];

/// Whether `icmp_type` may carry link-failure messages: none of the kernel's own types.
fn icmp_type_is_free(icmp_type: u8) -> bool {
    icmp_type > NR_ICMP_TYPES && !ICMP_EXT_ECHO_TYPES.contains(&icmp_type)
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
    served: ServedNetState<SelectV4, SelectV6>,
    long_wq: ffi::work::LongWorkqueue,
}

impl kernel::InPlaceModule for Sitemh {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            pr_info!(
                "loading: up to {} IP domains per namespace and family, link-failure messages as ICMP type {}\n",
                logic::domain::MAX_DOMAINS,
                icmp_type()
            );
            if !icmp_type_is_free(icmp_type()) {
                pr_err!(
                    "icmp_type {} is one of the kernel's own ICMP types (0..={}, 42, 43): refusing to load\n",
                    icmp_type(),
                    NR_ICMP_TYPES
                );
                return Err(EINVAL);
            }
            if icmp6_type() <= HIGHEST_KERNEL_ICMPV6_TYPE {
                pr_err!(
                    "icmp6_type {} is an ICMPv6 error or one of the kernel's own types (..={}): refusing to load\n",
                    icmp6_type(),
                    HIGHEST_KERNEL_ICMPV6_TYPE
                );
                return Err(EINVAL);
            }
            if stacking_layout() > 1 {
                pr_err!(
                    "stacking_layout {} is neither 0 nor 1: refusing to load\n",
                    stacking_layout()
                );
                return Err(EINVAL);
            }
            Ok(try_pin_init!(Self {
                long_wq: ffi::work::LongWorkqueue::create()?,
                served <- ServedNetState::register(select::SO_BASE, select::SO_END, module),
            }))
        })
    }
}

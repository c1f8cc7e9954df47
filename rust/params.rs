// SPDX-License-Identifier: GPL-2.0

//! The module parameters (declared in `module!` at the crate root), read by the features,
//! and the check that refuses to load with values that would collide with the kernel's own
//! ICMP types. A leaf.

#![forbid(unsafe_code)]

use kernel::prelude::*;

/// Whether the events' "own" group hears anything in a new namespace (module parameter
/// `events_own`, the default of `net.ipv4.sitemh_lf.events_own`).
pub(crate) fn events_own() -> bool {
    crate::module_parameters::events_own.value()
}

/// The ICMP type of link-failure messages (module parameter `icmp_type`).
pub(crate) fn icmp_type() -> u8 {
    crate::module_parameters::icmp_type.value()
}

/// The ICMPv6 type of IPv6 link-failure messages (module parameter `icmp6_type`).
pub(crate) fn icmp6_type() -> u8 {
    crate::module_parameters::icmp6_type.value()
}

/// The highest ICMPv6 type the kernel handles itself (`ICMPV6_EXT_ECHO_REPLY`).
const HIGHEST_KERNEL_ICMPV6_TYPE: u8 = 161;

/// The IPv4 stacking option's layout (module parameter `stacking_layout`).
pub(crate) fn stacking_layout() -> u8 {
    crate::module_parameters::stacking_layout.value()
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

/// Refuses parameters that collide with the kernel's own ICMP types or are out of range.
pub(crate) fn check() -> Result {
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
    Ok(())
}

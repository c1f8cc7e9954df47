// SPDX-License-Identifier: GPL-2.0

//! KUnit suites: they run when the module is inserted into a `CONFIG_KUNIT` kernel and
//! report in KTAP on the kernel log, where the VM runner reads them. They share their test
//! vectors with the host tests (`rust/logic`), so the kernel build of the logic is checked
//! against the same cases.

#![forbid(unsafe_code)]

use kernel::prelude::*;

/// A KUnit suite of the named checks of `rust/logic` modules, one case per name, written by
/// the modules' `checks!` lists through `gather_checks!` (the host tests are made from the
/// same lists). `suite!(sitemh_kdf, kdf; kdf { names.. })` gives the suite `sitemh_kdf` in
/// module `kdf`. A failed check fails its case and logs its reason.
macro_rules! suite {
    ($suite:ident, $mod:ident; $($module:ident { $($name:ident),* $(,)? })*) => {
        #[kunit_tests($suite)]
        mod $mod {
            $($(
                #[test]
                fn $name() -> Result<(), &'static str> {
                    crate::logic::$module::vectors::$name().inspect_err(|why| {
                        ::kernel::pr_err!("{}: {}\n", stringify!($name), why);
                    })
                }
            )*)*
        }
    };
}

crate::logic::gather_checks!([ipv4, ipv6] suite!(sitemh_addr, addr;));

crate::logic::gather_checks!([domain, router_adv] suite!(sitemh_domain, domain;));

crate::logic::gather_checks!([select] suite!(sitemh_select, select;));

crate::logic::gather_checks!([linkfail, announce] suite!(sitemh_linkfail, linkfail;));

crate::logic::gather_checks!([kdf, x25519, agree] suite!(sitemh_kdf, kdf;));

crate::logic::gather_checks!([switchover] suite!(sitemh_switchover, switchover;));

// The draft's IPv4 option and IPv6 routing header; home addresses, what each end stacks and
// restores; binding updates, which verify only under their key, for their correspondent,
// fresh and unchanged.
crate::logic::gather_checks!([stacking, home, binding_update] suite!(sitemh_stacking, stacking;));

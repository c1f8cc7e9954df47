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

#[kunit_tests(sitemh_addr)]
mod addr {
    use crate::logic::{
        ipv4,
        ipv6, //
    };
    use core::fmt::Write;

    #[test]
    fn ipv4_addresses_parse_as_the_vectors_say() {
        for (text, expected) in ipv4::vectors::ADDRS {
            assert_eq!(ipv4::parse_addr(text), *expected);
        }
    }

    #[test]
    fn ipv4_masks_parse_as_the_vectors_say() {
        for (text, expected) in ipv4::vectors::MASKS {
            assert_eq!(ipv4::parse_mask(text), *expected);
        }
    }

    #[test]
    fn ipv6_addresses_parse_and_print_as_the_vectors_say() {
        for (text, expected, canonical) in ipv6::vectors::ADDRS {
            let got = ipv6::parse_addr(text);
            assert_eq!(got, *expected);
            if let Ok(addr) = got {
                let mut storage = [0u8; 64];
                let mut out = crate::logic::text::FixedBuf::new(&mut storage);
                assert!(write!(out, "{}", ipv6::Canonical(addr)).is_ok());
                assert_eq!(out.as_bytes(), canonical.as_bytes());
            }
        }
    }
}

#[kunit_tests(sitemh_domain)]
mod domain {
    use crate::logic::domain::{
        DomainConfig,
        DomainTable,
        Route,
        Router, //
    };

    fn config(addr: u32, len: u8, router: u32) -> DomainConfig<u32> {
        let c = DomainConfig::with(addr, len, router);
        assert!(c.is_ok());
        c.unwrap_or(DomainConfig::EMPTY)
    }

    #[test]
    fn the_draft_forwarding_rule_holds() {
        let p1 = 0xc633_6400;
        let p2 = 0xcb00_7100;
        let private = 0x0a01_0000;
        let t = DomainTable::new(&[
            config(p1, 24, 0x0a00_0001),
            config(p2, 24, 0x0a00_0002),
            config(private, 16, 0),
        ]);
        let outside = 0x0808_0808;
        assert_eq!(
            t.route(p1 | 1, outside),
            Route::ViaRouter {
                index: 0,
                router: Router {
                    addr: 0x0a00_0001,
                    ifindex: 0
                }
            }
        );
        assert_eq!(
            t.route(p2 | 1, outside),
            Route::ViaRouter {
                index: 1,
                router: Router {
                    addr: 0x0a00_0002,
                    ifindex: 0
                }
            }
        );
        assert_eq!(t.route(p1 | 1, p2 | 2), Route::Usual);
        assert_eq!(t.route(private | 1, outside), Route::Confined { index: 2 });
        assert_eq!(t.route(outside, 0x0101_0101), Route::Usual);
    }

    #[test]
    fn the_longest_prefix_wins() {
        let t = DomainTable::new(&[config(0x0a00_0000, 8, 1), config(0x0a01_0000, 16, 2)]);
        assert_eq!(t.domain_of(0x0a01_0203).map(|d| d.index), Some(1));
        assert_eq!(t.domain_of(0x0a02_0203).map(|d| d.index), Some(0));
    }
}

#[kunit_tests(sitemh_select)]
mod select {
    use crate::logic::select::vectors;

    #[test]
    fn pairs_and_rankings_follow_the_vectors() {
        assert_eq!(vectors::check_all(), Ok(()));
    }
}

#[kunit_tests(sitemh_linkfail)]
mod linkfail {
    use crate::logic::linkfail::vectors;

    #[test]
    fn wire_format_and_replay_window_follow_the_vectors() {
        assert_eq!(vectors::check_all(), Ok(()));
    }
}

crate::logic::gather_checks!([kdf] suite!(sitemh_kdf, kdf;));

#[kunit_tests(sitemh_switchover)]
mod switchover {
    use crate::logic::switchover::vectors;

    /// The exchange between two ends, translation in both directions, and refusals.
    #[test]
    fn exchange_and_translation() {
        assert_eq!(vectors::check_all(), Ok(()));
    }
}

#[kunit_tests(sitemh_stacking)]
mod stacking {
    use crate::logic::stacking::vectors;

    /// The draft's IPv4 option and IPv6 routing header, malformed and truncated ones.
    #[test]
    fn layouts_refusals_and_truncations() {
        assert_eq!(vectors::check_all(), Ok(()));
    }

    /// Home addresses: what each end stacks and restores, refusals, bindings.
    #[test]
    fn home_addresses_both_ways() {
        assert_eq!(crate::logic::home::vectors::check_all(), Ok(()));
    }

    /// Binding updates verify only under their key, for their correspondent, fresh and
    /// unchanged.
    #[test]
    fn binding_updates_authenticate() {
        assert_eq!(crate::logic::binding_update::vectors::check_all(), Ok(()));
    }
}

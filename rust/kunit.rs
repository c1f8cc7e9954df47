// SPDX-License-Identifier: GPL-2.0

//! KUnit suites: they run when the module is inserted into a `CONFIG_KUNIT` kernel and
//! report in KTAP on the kernel log, where the VM runner reads them.

#![forbid(unsafe_code)]

#[kunit_tests(sitemh_ipv4)]
mod ipv4 {
    use crate::logic::ipv4::{
        parse_addr,
        parse_mask,
        vectors,
        Prefix, //
    };

    #[test]
    fn addresses_parse_as_the_vectors_say() {
        for (text, expected) in vectors::ADDRS {
            assert_eq!(parse_addr(text), *expected);
        }
    }

    #[test]
    fn masks_parse_as_the_vectors_say() {
        for (text, expected) in vectors::MASKS {
            assert_eq!(parse_mask(text), *expected);
        }
    }

    #[test]
    fn prefixes_check_as_the_vectors_say() {
        for (addr, len, expected) in vectors::PREFIXES {
            assert_eq!(Prefix::new(*addr, *len).map(|_| ()), *expected);
        }
    }

    #[test]
    fn a_prefix_contains_exactly_its_addresses() {
        let net = Prefix::new(0xc633_6400, 24);
        assert!(net.is_ok());
        if let Ok(net) = net {
            assert_eq!(net.addr(), 0xc633_6400);
            assert_eq!(net.prefix_len(), 24);
            assert!(net.contains(0xc633_64ff));
            assert!(!net.contains(0xc633_6500));
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The pure logic of sitemh: no kernel calls, no allocation, no `unsafe`.
//!
//! This tree is compiled twice: into the module, where the KUnit suites in `kunit.rs` run it,
//! and on the host by the `sitemh-logic` crate in `rust/host`, for `cargo test`.

#![forbid(unsafe_code)]

// Named checks. Each module's `vectors` holds its checks as functions
// `fn() -> Result<(), &'static str>` and lists their names once, in a `checks!` macro; that
// one list makes a host `#[test]` of every name (`host_tests!`, below) and a KUnit case of
// every name (`kunit.rs`). A failure is then reported under the name of what broke, in both
// builds, and a name cannot be in one build's tests and missing from the other's; a host
// test (below) checks that every module's list is in a KUnit suite.

/// Gathers the named checks of the modules in `[..]` (each `crate::logic::<module>::vectors`)
/// and hands them all to a runner: `gather_checks!([kdf, select] runner!(args))` expands to
/// `runner!(args kdf { names.. } select { names.. })`. Each module's `checks!` appends its
/// names and calls back here with the modules left; a runner can so take several modules,
/// which a KUnit suite must do at once (its cases are the `#[test]` functions written in
/// its module, not ones that later macros would add).
#[cfg(any(test, CONFIG_KUNIT))]
macro_rules! gather_checks {
    ([] $($run:ident)::+ !($($args:tt)*) $($groups:tt)*) => {
        $($run)::+!($($args)* $($groups)*);
    };
    ([$next:ident $(, $rest:ident)*] $($then:tt)*) => {
        crate::logic::$next::vectors::checks!([$($rest),*] $($then)*);
    };
}
#[cfg(any(test, CONFIG_KUNIT))]
pub(crate) use gather_checks;

/// The host's runner: one `#[test]` per named check, failing with the check's reason.
#[cfg(test)]
macro_rules! host_tests {
    ($($module:ident { $($name:ident),* $(,)? })*) => {
        $($(
            #[test]
            fn $name() {
                assert_eq!(crate::logic::$module::vectors::$name(), Ok(()));
            }
        )*)*
    };
}
#[cfg(test)]
pub(crate) use host_tests;

pub(crate) mod agree;
pub(crate) mod announce;
pub(crate) mod binding_update;
pub(crate) mod chains;
pub(crate) mod domain;
pub(crate) mod home;
pub(crate) mod icmp_error;
pub(crate) mod ipv4;
pub(crate) mod ipv6;
pub(crate) mod kdf;
pub(crate) mod linkfail;
pub(crate) mod ports;
pub(crate) mod prefix;
pub(crate) mod probe;
pub(crate) mod ratelimit;
pub(crate) mod relay;
pub(crate) mod router_adv;
pub(crate) mod select;
// The socket options' structs: the handlers read and write them through here, the host's
// fuzz target and property tests check it, and `ffi::uapi` checks it against the header.
pub(crate) mod sockopt;
pub(crate) mod stacking;
pub(crate) mod switchover;
pub(crate) mod tcp;
pub(crate) mod text;
pub(crate) mod x25519;

/// A fixed pseudo-random stream (xorshift64) for the host's property tests: the same
/// inputs on every run.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

#[cfg(test)]
mod tests {
    use std::string::String;
    use std::vec::Vec;

    /// Every module with a `checks!` list runs it in a KUnit suite too: `kunit.rs` names it
    /// in one of its `gather_checks!([..] suite!(..))`.
    #[test]
    fn every_list_of_checks_is_in_a_kunit_suite() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let kunit = std::fs::read_to_string(std::format!("{dir}/kunit.rs")).unwrap();
        let in_suites: Vec<&str> = kunit
            .split("gather_checks!([")
            .skip(1)
            .filter_map(|rest| rest.split(']').next())
            .flat_map(|modules| modules.split(',').map(str::trim))
            .collect();
        let mut lists = Vec::<String>::new();
        for entry in std::fs::read_dir(std::format!("{dir}/logic")).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with("mod.rs") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            // The module a list names comes after its callers' tokens, before its names.
            if let Some((_, rest)) = text.split_once("$($then)* ") {
                lists.push(rest.split_whitespace().next().unwrap().into());
            }
        }
        assert!(lists.len() >= 10, "lists of checks found: {lists:?}");
        for module in &lists {
            assert!(
                in_suites.contains(&module.as_str()),
                "the checks of {module} are in no KUnit suite of kunit.rs"
            );
        }
    }
}

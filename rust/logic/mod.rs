// SPDX-License-Identifier: GPL-2.0

//! The pure logic of sitemh: no kernel calls, no allocation, no `unsafe`.
//!
//! This tree is compiled twice: into the module, where the KUnit suites in `kunit.rs` run it,
//! and on the host by the `sitemh-logic` crate in `rust/host`, for `cargo test`.

#![forbid(unsafe_code)]

pub(crate) mod binding_update;
pub(crate) mod domain;
pub(crate) mod home;
pub(crate) mod icmp_error;
pub(crate) mod ipv4;
pub(crate) mod ipv6;
pub(crate) mod kdf;
pub(crate) mod linkfail;
pub(crate) mod prefix;
pub(crate) mod probe;
pub(crate) mod ratelimit;
pub(crate) mod relay;
pub(crate) mod select;
// The socket options' structs as a pure reference for the host's fuzz target and property
// tests; the module's handlers read the same layouts themselves, so the kernel build leaves
// it out (it would be dead code there).
#[cfg(not(CONFIG_RUST))]
pub(crate) mod sockopt;
pub(crate) mod stacking;
pub(crate) mod switchover;
pub(crate) mod tcp;
pub(crate) mod text;

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

// SPDX-License-Identifier: GPL-2.0

//! Host build of sitemh's pure logic. The module compiles the same files; see
//! `rust/logic/mod.rs`.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "../logic/mod.rs"]
pub mod logic;

/// The fuzz harnesses of the `cargo fuzz` crate in `rust/fuzz`, and their seed corpora.
pub mod fuzz;

/// Native timing of the per-packet decision, run by `make bench` (feature `bench`).
#[cfg(all(test, feature = "bench"))]
mod bench;

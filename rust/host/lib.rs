// SPDX-License-Identifier: GPL-2.0

//! Host build of sitemh's pure logic. The module compiles the same files; see
//! `rust/logic/mod.rs`.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "../logic/mod.rs"]
pub mod logic;

/// Native timing of the per-packet decision, run by `make bench` (feature `bench`).
#[cfg(all(test, feature = "bench"))]
mod bench;

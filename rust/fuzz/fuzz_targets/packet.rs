// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `packet`: see `sitemh_logic::fuzz::packet` (rust/host/fuzz.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitemh_logic::fuzz::packet(data));

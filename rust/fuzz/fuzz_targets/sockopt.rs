// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `sockopt`: see `sitemh_logic::fuzz::sockopt` (rust/host/fuzz.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitemh_logic::fuzz::sockopt(data));

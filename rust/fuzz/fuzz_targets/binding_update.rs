// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `binding_update`: see `sitemh_logic::fuzz::binding_update` (rust/host/fuzz.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitemh_logic::fuzz::binding_update(data));

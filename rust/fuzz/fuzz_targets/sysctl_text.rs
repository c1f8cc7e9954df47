// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `sysctl_text`: see `sitemh_logic::fuzz::sysctl_text` (rust/host/fuzz.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitemh_logic::fuzz::sysctl_text(data));

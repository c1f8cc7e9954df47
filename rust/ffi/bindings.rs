// SPDX-License-Identifier: GPL-2.0

//! Raw bindings generated at build time from `bindings_helper.h`.
//!
//! Only what `kernel::bindings` lacks is generated here; the generated file starts with
//! `use kernel::bindings::*;` so that its declarations can name the kernel crate's types.

#![allow(
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]

include!("bindings_generated.rs");

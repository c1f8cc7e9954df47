// SPDX-License-Identifier: GPL-2.0

//! Wiping key material: stores the compiler may not drop because the memory is about to be
//! freed or go out of scope (what `memzero_explicit` is to C).

use core::sync::atomic::{
    compiler_fence,
    Ordering, //
};

/// Overwrites `bytes` with zeros.
pub(crate) fn wipe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        // SAFETY: `byte` is a valid, aligned `u8` that we hold the only reference to.
        unsafe { core::ptr::write_volatile(byte, 0) };
    }
    // Keep the stores before whatever frees or reuses the memory.
    compiler_fence(Ordering::SeqCst);
}

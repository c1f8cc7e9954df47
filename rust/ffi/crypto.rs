// SPDX-License-Identifier: GPL-2.0

//! AES-128-GCM from the kernel's crypto library, for the switchover messages.

use core::ptr::NonNull;

use kernel::{
    error::to_result,
    prelude::*, //
};

use super::bindings as local;

/// Octets of a nonce.
pub(crate) const NONCE_LEN: usize = 12;
/// Octets of a tag.
pub(crate) const TAG_LEN: usize = 16;

/// A prepared AES-128-GCM key with 16-octet tags.
///
/// # Invariants
///
/// `key` was returned by `sitemh_aead_new` and is freed exactly once, on drop.
pub(crate) struct Aead {
    key: NonNull<local::sitemh_aead>,
}

// SAFETY: the prepared key is only read after creation; any thread may use or free it.
unsafe impl Send for Aead {}
// SAFETY: see `Send`.
unsafe impl Sync for Aead {}

impl Aead {
    /// Prepares `key`. Sleeps (allocates).
    pub(crate) fn new(key: &[u8; 16]) -> Result<Self> {
        // SAFETY: `key` has 16 readable octets.
        let key = unsafe { local::sitemh_aead_new(key.as_ptr()) };
        // INVARIANT: non-null means a fresh key from `sitemh_aead_new`.
        Ok(Self {
            key: NonNull::new(key).ok_or(ENOMEM)?,
        })
    }

    /// Encrypts `buf` in place and writes the tag; `ad` is authenticated too.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        tag: &mut [u8; TAG_LEN],
    ) -> Result {
        let ad_len = i32::try_from(ad.len()).map_err(|_| EINVAL)?;
        let len = i32::try_from(buf.len()).map_err(|_| EINVAL)?;
        // SAFETY: the key is valid (type invariant); every buffer has the length passed.
        unsafe {
            local::sitemh_aead_seal(
                self.key.as_ptr(),
                nonce.as_ptr(),
                ad.as_ptr(),
                ad_len,
                buf.as_mut_ptr(),
                len,
                tag.as_mut_ptr(),
            )
        };
        Ok(())
    }

    /// Decrypts `buf` in place if the tag verifies (compared in constant time by the
    /// library); `EBADMSG` otherwise.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result {
        let ad_len = i32::try_from(ad.len()).map_err(|_| EINVAL)?;
        let len = i32::try_from(buf.len()).map_err(|_| EINVAL)?;
        // SAFETY: as in `seal`.
        to_result(unsafe {
            local::sitemh_aead_open(
                self.key.as_ptr(),
                nonce.as_ptr(),
                ad.as_ptr(),
                ad_len,
                buf.as_mut_ptr(),
                len,
                tag.as_ptr(),
            )
        })
    }
}

impl Drop for Aead {
    fn drop(&mut self) {
        // SAFETY: `key` came from `sitemh_aead_new` and is freed only here.
        unsafe { local::sitemh_aead_free(self.key.as_ptr()) };
    }
}

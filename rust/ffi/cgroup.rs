// SPDX-License-Identifier: GPL-2.0

//! A cgroup of the default hierarchy, held by a reference: the one opportunistic
//! protection is limited to (`net.ipv4.sitemh_lf.auto_cgroup`).

use core::ptr::NonNull;

use kernel::{
    bindings,
    error::to_result,
    prelude::*, //
};

use super::bindings as local;

/// A reference on a cgroup.
///
/// # Invariants
///
/// `cgrp` is a cgroup on which this value holds one reference.
pub(crate) struct CgroupRef {
    cgrp: NonNull<bindings::cgroup>,
}

// SAFETY: a cgroup reference may be dropped on any thread (`cgroup_put` is a percpu
// reference count).
unsafe impl Send for CgroupRef {}
// SAFETY: `&self` only reads the pointer.
unsafe impl Sync for CgroupRef {}

impl CgroupRef {
    /// The cgroup at `path` in the calling task's cgroup namespace. `ENOENT` or `ENOTDIR`
    /// if there is none, `EOPNOTSUPP` if sockets do not remember their cgroup on this
    /// kernel. Process context.
    pub(crate) fn lookup(path: &CStr) -> Result<Self> {
        let mut cgrp: *mut bindings::cgroup = core::ptr::null_mut();
        // SAFETY: `path` is NUL-terminated; `cgrp` is valid for a write.
        to_result(unsafe { local::sitemh_cgroup_get(path.as_char_ptr(), &mut cgrp) })?;
        // INVARIANT: on success the glue took a reference on the cgroup it wrote.
        NonNull::new(cgrp).map(|cgrp| Self { cgrp }).ok_or(ENOENT)
    }

    /// The cgroup, for the glue.
    pub(super) fn as_ptr(&self) -> *mut bindings::cgroup {
        self.cgrp.as_ptr()
    }
}

impl Drop for CgroupRef {
    fn drop(&mut self) {
        // SAFETY: the reference is ours (type invariant) and is not used again.
        unsafe { local::sitemh_cgroup_put(self.cgrp.as_ptr()) }
    }
}

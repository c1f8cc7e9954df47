// SPDX-License-Identifier: GPL-2.0

//! Counters kept per CPU: the packet path bumps its own CPU's copy (no shared cache line,
//! no atomic read-modify-write), readers add the copies up.

use core::ptr::NonNull;

use kernel::prelude::*;

use super::bindings as local;

/// `N` counters, one copy per CPU.
///
/// # Invariants
///
/// `ptr` came from `sitemh_counters_new(N)` and is freed exactly once, on drop.
pub(crate) struct PerCpuCounters<const N: usize> {
    ptr: NonNull<u64>,
}

// SAFETY: each CPU writes only its own copy (with `this_cpu_inc`, safe against preemption
// and interrupts); readers only read. The memory may be freed from any thread.
unsafe impl<const N: usize> Sync for PerCpuCounters<N> {}
// SAFETY: see above.
unsafe impl<const N: usize> Send for PerCpuCounters<N> {}

impl<const N: usize> PerCpuCounters<N> {
    /// `N` counters at zero.
    pub(crate) fn new() -> Result<Self> {
        let n = u32::try_from(N).map_err(|_| EINVAL)?;
        // SAFETY: no preconditions; process context.
        let ptr = unsafe { local::sitemh_counters_new(n) };
        // INVARIANT: allocated for `N` counters.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }

    /// Adds one to counter `index` (nothing for an index out of range).
    pub(crate) fn inc(&self, index: usize) {
        if index < N {
            // SAFETY: allocated for `N` counters (type invariant), `index < N`.
            unsafe { local::sitemh_counter_inc(self.ptr.as_ptr(), index as u32) };
        }
    }

    /// Counter `index` summed over the CPUs (0 for an index out of range).
    pub(crate) fn sum(&self, index: usize) -> u64 {
        if index >= N {
            return 0;
        }
        // SAFETY: as in `inc`.
        unsafe { local::sitemh_counter_sum(self.ptr.as_ptr(), index as u32) }
    }

    /// Sets counter `index` to zero on every CPU (a bump racing with it may survive).
    pub(crate) fn reset(&self, index: usize) {
        if index < N {
            // SAFETY: as in `inc`.
            unsafe { local::sitemh_counter_reset(self.ptr.as_ptr(), index as u32) };
        }
    }
}

impl<const N: usize> Drop for PerCpuCounters<N> {
    fn drop(&mut self) {
        // SAFETY: allocated by `sitemh_counters_new` (type invariant), freed once.
        unsafe { local::sitemh_counters_free(self.ptr.as_ptr()) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A work item that calls back into a state object in process context, armed from any
//! context (the packet path included), and stopped for good before the state goes.

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    ffi::c_void,
    prelude::*, //
};

use super::bindings as local;

/// What a [`Ticker`] calls.
pub(crate) trait Tick: Sync {
    /// Runs in process context, never twice at once.
    fn tick(&self);
}

/// # Invariants
///
/// `raw` came from `sitemh_ticker_new` with a context that is a valid `T` until
/// [`Ticker::stop`] (or drop) returns; it is freed exactly once, on drop.
pub(crate) struct Ticker<T: Tick> {
    raw: NonNull<local::sitemh_ticker>,
    _ctx: PhantomData<*const T>,
}

// SAFETY: arming and stopping are safe from any thread; `T: Sync`.
unsafe impl<T: Tick> Send for Ticker<T> {}
// SAFETY: see `Send`.
unsafe impl<T: Tick> Sync for Ticker<T> {}

impl<T: Tick> Ticker<T> {
    /// A ticker calling `ctx.tick()`. Not armed.
    ///
    /// # Safety
    ///
    /// `ctx` stays valid until [`Ticker::stop`] returns or the ticker is dropped.
    pub(crate) unsafe fn new(ctx: *const T) -> Result<Self> {
        // SAFETY: `run::<T>` matches the callback type; `ctx` outlives the runs (caller).
        let raw = unsafe { local::sitemh_ticker_new(Some(run::<T>), ctx.cast()) };
        // INVARIANT: non-null means a fresh ticker with a valid context.
        Ok(Self {
            raw: NonNull::new(raw).ok_or(ENOMEM)?,
            _ctx: PhantomData,
        })
    }

    /// Runs the tick within `ms` milliseconds (sooner if it was due sooner).
    pub(crate) fn arm(&self, ms: u32) {
        // SAFETY: `raw` is a live ticker (type invariant).
        unsafe { local::sitemh_ticker_arm(self.raw.as_ptr(), ms) };
    }

    /// Waits for a tick in progress; arming does nothing from now on.
    pub(crate) fn stop(&self) {
        // SAFETY: `raw` is a live ticker (type invariant).
        unsafe { local::sitemh_ticker_stop(self.raw.as_ptr()) };
    }
}

impl<T: Tick> Drop for Ticker<T> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `sitemh_ticker_new`; freed only here (after stopping).
        unsafe { local::sitemh_ticker_free(self.raw.as_ptr()) };
    }
}

/// # Safety
///
/// Called by the work item with the context given to `sitemh_ticker_new`.
unsafe extern "C" fn run<T: Tick>(ctx: *const c_void) {
    // SAFETY: the context is a valid `T` while the ticker runs (type invariant of
    // `Ticker`: stop waits for this run).
    let state = unsafe { &*ctx.cast::<T>() };
    state.tick();
}

/// Milliseconds of the monotonic clock.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: no preconditions.
    unsafe { local::sitemh_now_ms() }
}

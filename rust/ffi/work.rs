// SPDX-License-Identifier: GPL-2.0

//! A work item that calls back into a state object in process context, armed from any
//! context (the packet path included), and stopped for good before the state goes.

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    ffi::c_void,
    prelude::*,
    sync::{
        Arc,
        SetOnce, //
    },
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

/// A [`Ticker`] kept in a field of the state it calls: created once that state is in its
/// [`Arc`] (the state must not move), so every state that ticks starts, arms and stops the
/// same way.
pub(crate) struct OwnedTicker<T: Tick>(SetOnce<Ticker<T>>);

impl<T: Tick> OwnedTicker<T> {
    /// Not started: arming and stopping do nothing.
    pub(crate) fn new() -> Self {
        Self(SetOnce::new())
    }

    /// Starts the ticker of `owner`, which must hold `self` (else `EINVAL`).
    pub(crate) fn start(&self, owner: &Arc<T>) -> Result {
        let state: *const T = &**owner;
        let start = state as usize;
        let field = core::ptr::from_ref(self) as usize;
        if field < start || field >= start + core::mem::size_of::<T>() {
            return Err(EINVAL);
        }
        // SAFETY: `self` lies within `*owner` (checked above), so the ticker is dropped, and
        // waits for a run in progress, before the state it calls goes; an `Arc`'s contents
        // never move.
        let ticker = unsafe { Ticker::new(state)? };
        if self.0.populate(ticker) {
            Ok(())
        } else {
            Err(EBUSY)
        }
    }

    /// See [`Ticker::arm`].
    pub(crate) fn arm(&self, ms: u32) {
        if let Some(ticker) = self.0.as_ref() {
            ticker.arm(ms);
        }
    }

    /// See [`Ticker::stop`].
    pub(crate) fn stop(&self) {
        if let Some(ticker) = self.0.as_ref() {
            ticker.stop();
        }
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

/// Wall-clock time in nanoseconds (`CLOCK_REALTIME`), as packet timestamps give it.
pub(crate) fn real_ns() -> u64 {
    // SAFETY: no preconditions.
    unsafe { local::sitemh_real_ns() }
}

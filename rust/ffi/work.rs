// SPDX-License-Identifier: GPL-2.0

//! A work item that calls back into a state object in process context, armed from any
//! context (the packet path included), and stopped for good before the state goes.

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    error::to_result,
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

/// What an [`OwnedLongWork`] calls.
pub(crate) trait LongWork: Sync {
    /// Runs in process context on the module's workqueue for long work, never twice at
    /// once; may sleep for long (an echo probe waits for its answer).
    fn long_work(&self);
}

/// The module's workqueue for work that may block for long (`sitemh_long`): such work
/// on `system_wq` would hold one of the shared workers meanwhile. Exists while the
/// module is loaded; every [`OwnedLongWork`] must be stopped before it is dropped.
pub(crate) struct LongWorkqueue(());

impl LongWorkqueue {
    /// Creates the workqueue.
    pub(crate) fn create() -> Result<Self> {
        // SAFETY: no preconditions; called once, at load.
        to_result(unsafe { local::sitemh_long_wq_create() })?;
        Ok(Self(()))
    }
}

impl Drop for LongWorkqueue {
    fn drop(&mut self) {
        // SAFETY: created by `create`; every long work is stopped by now (the namespace
        // states that own them are gone before the module's last field drops).
        unsafe { local::sitemh_long_wq_destroy() };
    }
}

/// A work item on the module's workqueue for long work, kept in a field of the state it
/// calls (as [`OwnedTicker`]); queueing it while queued does nothing.
///
/// # Invariants
///
/// Once set, the pointer came from `sitemh_long_work_new` with a context that is a valid
/// `T` until [`OwnedLongWork::stop`] returns or it is dropped; freed exactly once, on drop.
pub(crate) struct OwnedLongWork<T: LongWork> {
    raw: SetOnce<LongWorkPtr>,
    _ctx: PhantomData<*const T>,
}

/// The glue's long work.
struct LongWorkPtr(NonNull<local::sitemh_long_work>);

// SAFETY: queueing and stopping are safe from any thread; `T: Sync`.
unsafe impl<T: LongWork> Send for OwnedLongWork<T> {}
// SAFETY: see `Send`.
unsafe impl<T: LongWork> Sync for OwnedLongWork<T> {}

impl<T: LongWork> OwnedLongWork<T> {
    /// Not started: queueing and stopping do nothing.
    pub(crate) fn new() -> Self {
        Self {
            raw: SetOnce::new(),
            _ctx: PhantomData,
        }
    }

    /// Starts the work item of `owner`, which must hold `self` (else `EINVAL`).
    pub(crate) fn start(&self, owner: &Arc<T>) -> Result {
        let state: *const T = &**owner;
        let start = state as usize;
        let field = core::ptr::from_ref(self) as usize;
        if field < start || field >= start + core::mem::size_of::<T>() {
            return Err(EINVAL);
        }
        // SAFETY: `run_long::<T>` matches the callback type; `self` lies within `*owner`
        // (checked above), so the work is dropped, and waits for a run in progress, before
        // the state it calls goes; an `Arc`'s contents never move.
        let raw = unsafe { local::sitemh_long_work_new(Some(run_long::<T>), state.cast()) };
        let raw = LongWorkPtr(NonNull::new(raw).ok_or(ENOMEM)?);
        if self.raw.populate(raw) {
            Ok(())
        } else {
            Err(EBUSY)
        }
    }

    /// Queues a run unless one is queued.
    pub(crate) fn queue(&self) {
        if let Some(raw) = self.raw.as_ref() {
            // SAFETY: a live long work (type invariant).
            unsafe { local::sitemh_long_work_queue(raw.0.as_ptr()) };
        }
    }

    /// Waits for a run in progress; queueing does nothing from now on.
    pub(crate) fn stop(&self) {
        if let Some(raw) = self.raw.as_ref() {
            // SAFETY: a live long work (type invariant).
            unsafe { local::sitemh_long_work_stop(raw.0.as_ptr()) };
        }
    }
}

impl<T: LongWork> Drop for OwnedLongWork<T> {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.as_ref() {
            // SAFETY: came from `sitemh_long_work_new`; freed only here (the call stops it
            // first).
            unsafe { local::sitemh_long_work_free(raw.0.as_ptr()) };
        }
    }
}

/// # Safety
///
/// Called by the long work with the context given to `sitemh_long_work_new`.
unsafe extern "C" fn run_long<T: LongWork>(ctx: *const c_void) {
    // SAFETY: the context is a valid `T` while the work runs (type invariant of
    // `OwnedLongWork`: stopping and dropping wait for this run).
    let state = unsafe { &*ctx.cast::<T>() };
    state.long_work();
}

/// Lets other tasks run if this one has had the CPU long enough. Process context only,
/// no spinlock held (the caller releases its locks between batches).
pub(crate) fn cond_resched() {
    // SAFETY: no preconditions beyond sleeping being allowed, which the callers are
    // (work items and socket-option calls, between lock holds).
    unsafe { local::sitemh_cond_resched() }
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

/// A random number from the kernel's generator.
pub(crate) fn random_u32() -> u32 {
    // SAFETY: no preconditions.
    unsafe { kernel::bindings::get_random_u32() }
}

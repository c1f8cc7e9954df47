// SPDX-License-Identifier: GPL-2.0

//! A heap value that readers see through RCU and writers replace whole.

use core::{
    ptr,
    sync::atomic::{
        AtomicPtr,
        Ordering, //
    },
};

use kernel::{
    prelude::*,
    sync::rcu, //
};

/// Proof that the caller runs inside an RCU read-side critical section that lasts `'a`:
/// a packet hook's (netfilter calls every hook under `rcu_read_lock`), handed out by
/// [`crate::ffi::netfilter::Packet::rcu`]. Reads through it take no lock of their own.
#[derive(Clone, Copy)]
pub(crate) struct InHook<'a> {
    _call: core::marker::PhantomData<&'a ()>,
    // Not sent to another thread: the read side belongs to this one.
    _not_send: core::marker::PhantomData<*const ()>,
}

impl InHook<'_> {
    /// # Safety
    ///
    /// The caller is inside an RCU read-side critical section for as long as the value
    /// lives.
    pub(super) unsafe fn new() -> Self {
        Self {
            _call: core::marker::PhantomData,
            _not_send: core::marker::PhantomData,
        }
    }
}

/// A `KBox<T>` published to RCU readers: [`RcuBox::read`] costs one load, and
/// [`RcuBox::replace`] swaps in a new value and frees the old one once no reader can see it.
///
/// # Invariants
///
/// `ptr` always holds a pointer obtained from `KBox::into_raw`, owned by `self`.
pub(crate) struct RcuBox<T: Send + Sync> {
    ptr: AtomicPtr<T>,
}

impl<T: Send + Sync> RcuBox<T> {
    /// Publishes `value`.
    pub(crate) fn new(value: KBox<T>) -> Self {
        // INVARIANT: the pointer comes from `KBox::into_raw`.
        Self {
            ptr: AtomicPtr::new(KBox::into_raw(value)),
        }
    }

    /// The value in force, for as long as the read-side critical section `guard` lasts.
    pub(crate) fn read<'a>(&'a self, _guard: &'a rcu::Guard) -> &'a T {
        // Acquire pairs with the release in `replace`: the reader sees the value whole
        // (what `rcu_dereference` gives C code).
        let current = self.ptr.load(Ordering::Acquire);
        // SAFETY: by the type invariant `current` points to a live `T`; `replace` frees a
        // value only after a grace period, which cannot end while `guard` is held.
        unsafe { &*current }
    }

    /// As [`RcuBox::read`], inside a packet hook's read-side critical section.
    pub(crate) fn read_in_hook<'a>(&'a self, _rcu: InHook<'a>) -> &'a T {
        let current = self.ptr.load(Ordering::Acquire);
        // SAFETY: as in `read`: the hook's critical section outlasts `'a`.
        unsafe { &*current }
    }

    /// Publishes `value` and frees the value it replaces after an RCU grace period.
    /// Sleeps: process context only, and writers serialise among themselves.
    pub(crate) fn replace(&self, value: KBox<T>) {
        let old = self.ptr.swap(KBox::into_raw(value), Ordering::AcqRel);
        rcu::synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` (type invariant) and, after the grace
        // period, no reader holds a reference to it.
        drop(unsafe { KBox::from_raw(old) });
    }
}

impl<T: Send + Sync> Drop for RcuBox<T> {
    fn drop(&mut self) {
        let current = self.ptr.swap(ptr::null_mut(), Ordering::AcqRel);
        // Readers reach the value only through the owner of `self`, which is going away;
        // the owner makes sure no reader is left (hooks unregistered, a grace period).
        // SAFETY: `current` came from `KBox::into_raw` (type invariant).
        drop(unsafe { KBox::from_raw(current) });
    }
}

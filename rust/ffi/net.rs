// SPDX-License-Identifier: GPL-2.0

//! Network namespaces and per-namespace state (`struct pernet_operations`).

use core::{
    cell::{
        Cell,
        UnsafeCell, //
    },
    ffi::c_void,
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    types::Opaque, //
};

use super::bindings as local;

/// A network namespace, borrowed from the kernel for the duration of a callback.
///
/// # Invariants
///
/// The wrapped `struct net` is alive for as long as the reference is.
#[repr(transparent)]
pub(crate) struct Net(Opaque<bindings::net>);

impl Net {
    /// Borrows the namespace behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` points to a live `struct net` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net) -> &'a Self {
        // SAFETY: `Net` is a transparent wrapper of `struct net`, and the caller guarantees
        // that the namespace lives for `'a`.
        // INVARIANT: the namespace is alive for `'a`, the lifetime of the reference.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw `struct net` pointer, for calls into C.
    pub(crate) fn as_raw(&self) -> *mut bindings::net {
        self.0.get()
    }
}

/// A namespace kept by a value that lives inside the namespace's own state, so that it
/// never outlives it (for example a per-namespace sysctl handler that needs the namespace).
///
/// # Invariants
///
/// `ptr` points to a live `struct net` for as long as this value exists.
pub(crate) struct NetRef {
    ptr: *mut bindings::net,
}

// SAFETY: a `struct net` may be used from any thread.
unsafe impl Send for NetRef {}
// SAFETY: see `Send`; `&NetRef` only gives `&Net`.
unsafe impl Sync for NetRef {}

impl NetRef {
    /// Keeps `net`. The caller stores the result in `net`'s own per-namespace state, which
    /// the kernel drops before it frees the namespace.
    pub(crate) fn new(net: &Net) -> Self {
        // INVARIANT: per-namespace state is destroyed before its namespace.
        Self { ptr: net.as_raw() }
    }

    /// The namespace.
    pub(crate) fn get(&self) -> &Net {
        // SAFETY: the namespace is alive while `self` exists (type invariant).
        unsafe { Net::from_raw(self.ptr) }
    }
}

/// Whether the current task has `CAP_NET_ADMIN` over `net` (in the namespace's owning
/// user namespace): the draft's knobs change routing, so only a network administrator of
/// that namespace may write them.
pub(crate) fn current_is_net_admin(net: &Net) -> bool {
    // SAFETY: `net` is alive, so is its user namespace; `ns_capable` has no other
    // precondition.
    unsafe { bindings::ns_capable((*net.as_raw()).user_ns, bindings::CAP_NET_ADMIN as c_int) }
}

/// Whether a networking log line may be printed now (`net_ratelimit`): keeps bad input
/// from flooding the log.
pub(crate) fn net_ratelimit() -> bool {
    // SAFETY: no preconditions.
    unsafe { bindings::net_ratelimit() != 0 }
}

/// The slot number the kernel assigns to one kind of per-namespace state.
///
/// One `static` of this type exists per [`NetState`] type. The kernel writes the id once,
/// inside `register_pernet_subsys`, before it calls any of the callbacks that read it.
pub(crate) struct NetId(UnsafeCell<c_uint>);

// SAFETY: the id is written by the kernel only during registration, which happens before
// any reader exists (see the type's documentation); afterwards it is only read.
unsafe impl Sync for NetId {}

impl NetId {
    /// An id that the kernel fills in when the state type is registered.
    pub(crate) const fn new() -> Self {
        Self(UnsafeCell::new(0))
    }
}

/// State that a module keeps for every network namespace.
///
/// The kernel allocates room for one `Self` in every namespace (`pernet_operations.size`).
/// When a namespace appears (or the module registers, for the namespaces that already
/// exist) the value is built by [`NetState::init`], moved into that room and then
/// [`NetState::start`]ed: from then on its address is fixed, so `start` may hand it to C
/// (hooks, files). What calls back into it from C registers through [`Started`], and is
/// withdrawn by this machinery, not by the state. When the namespace goes away (or the
/// module unregisters) those are withdrawn and the state is [`NetState::stop`]ped (pernet
/// `pre_exit`), then dropped an RCU grace period later (pernet `exit`), when no packet hook
/// can still be running on it.
pub(crate) trait NetState: Sized + Send + Sync + 'static {
    /// Where the kernel keeps this type's slot number.
    const ID: &'static NetId;

    /// Builds the state of the namespace `net`.
    fn init(net: &Net) -> Result<Self>;

    /// Makes the state, `started.state()`, visible (registers what refers to it); it stays
    /// at this address until it is dropped. On error what `started` registered is
    /// withdrawn and the state is dropped without `stop`.
    fn start(started: &Started<'_, Self>) -> Result;

    /// Withdraws what `start` registered itself (what it registered through [`Started`] is
    /// withdrawn already).
    fn stop(&self, net: &Net);
}

/// The state of `T` in `net`.
///
/// # Safety
///
/// `T` is registered and `net`'s state of type `T` is started and not yet stopped.
pub(crate) unsafe fn state_of<T: NetState>(net: &Net) -> &T {
    // SAFETY: the caller guarantees that the slot holds a started `T`, which stays in place
    // while `net` (which the reference borrows from) is alive and the module is loaded.
    unsafe { &(*state_slot::<T>(net.as_raw())).state }
}

/// The most callbacks one state registers through [`Started`].
const MAX_WITHDRAWALS: usize = 4;

/// Something that calls back into a started state, to withdraw before the state stops.
#[derive(Clone, Copy)]
struct Withdrawal {
    data: *const c_void,
    /// Called once with `data`, in process context, while the state is alive.
    run: unsafe fn(*const c_void),
}

/// What the kernel's slot of `T` in a namespace holds: the state, and what to withdraw
/// before it stops. Written by `init_callback`, withdrawn by `pre_exit_callback` (or
/// `init_callback` on a failed start): the kernel runs the three callbacks of one
/// namespace one after the other, never at once.
struct Slot<T> {
    state: T,
    withdrawals: [Cell<Option<Withdrawal>>; MAX_WITHDRAWALS],
}

impl<T> Slot<T> {
    /// Runs the withdrawals, the last registered first.
    fn withdraw(&self) {
        for cell in self.withdrawals.iter().rev() {
            if let Some(w) = cell.take() {
                // SAFETY: registered through `Started::on_withdraw`, whose caller made
                // `run(data)` valid once while the state is alive; taken, so run once.
                unsafe { (w.run)(w.data) };
            }
        }
    }
}

/// A state being started (see [`NetState::start`]): it may register, through this, what
/// calls back into the state (packet hooks, the device notifier). The machinery withdraws
/// those before it stops the state (or when `start` fails), and drops the state only an
/// RCU grace period after that, so `'a` lasts until every registration is withdrawn.
pub(crate) struct Started<'a, T: NetState> {
    slot: &'a Slot<T>,
    net: &'a Net,
}

impl<'a, T: NetState> Started<'a, T> {
    /// The state: at a fixed address until it is dropped.
    pub(crate) fn state(&self) -> &'a T {
        &self.slot.state
    }

    /// Its namespace.
    pub(crate) fn net(&self) -> &'a Net {
        self.net
    }

    /// Has `run(data)` called when the state is withdrawn: before `stop`, or at once if
    /// `start` fails. `ENOSPC` if [`MAX_WITHDRAWALS`] are registered already.
    ///
    /// # Safety
    ///
    /// `run(data)` is sound to call once, in process context, at any time while `'a`
    /// lasts.
    pub(crate) unsafe fn on_withdraw(
        &self,
        data: *const c_void,
        run: unsafe fn(*const c_void),
    ) -> Result {
        let free = self
            .slot
            .withdrawals
            .iter()
            .find(|cell| cell.get().is_none())
            .ok_or(ENOSPC)?;
        free.set(Some(Withdrawal { data, run }));
        Ok(())
    }
}

/// A registration of a [`NetState`] type with the kernel's namespace machinery.
///
/// # Invariants
///
/// `ops` holds a `pernet_operations` registered with `register_pernet_subsys`; it is
/// unregistered exactly once, on drop.
#[pin_data(PinnedDrop)]
pub(crate) struct NetStateRegistration<T: NetState> {
    #[pin]
    ops: Opaque<bindings::pernet_operations>,
    _state: PhantomData<T>,
}

// SAFETY: registration and unregistration may happen on any thread; the registration owns
// no thread-bound data.
unsafe impl<T: NetState> Send for NetStateRegistration<T> {}
// SAFETY: `&self` offers no methods, so sharing it between threads cannot race.
unsafe impl<T: NetState> Sync for NetStateRegistration<T> {}

impl<T: NetState> NetStateRegistration<T> {
    /// Registers `T`: from now on every namespace, present and future, carries one `T`.
    pub(crate) fn register() -> impl PinInit<Self, Error> {
        const {
            // `ops_init` allocates the state with `kzalloc`, aligned to at least 8 bytes.
            assert!(core::mem::align_of::<Slot<T>>() <= 8);
        }
        try_pin_init!(Self {
            ops <- Opaque::try_ffi_init(|slot: *mut bindings::pernet_operations| {
                // SAFETY: `slot` is valid for writes, as the initialiser contract says.
                unsafe {
                    slot.write(bindings::pernet_operations {
                        init: Some(init_callback::<T>),
                        pre_exit: Some(pre_exit_callback::<T>),
                        exit: Some(exit_callback::<T>),
                        id: T::ID.0.get(),
                        size: core::mem::size_of::<Slot<T>>(),
                        ..Default::default()
                    })
                };
                // SAFETY: `slot` holds initialised operations whose callbacks are valid for
                // `T`, and it stays pinned until `PinnedDrop` unregisters it.
                // INVARIANT: on success the operations are registered.
                to_result(unsafe { bindings::register_pernet_subsys(slot) })
            }),
            _state: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: NetState> PinnedDrop for NetStateRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: by the type invariant the operations are registered; this calls
        // `exit_callback` for every namespace before it returns.
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
    }
}

/// The slot of `T` in `net`.
///
/// # Safety
///
/// `net` is alive and `T` is registered (its id is valid).
unsafe fn state_slot<T: NetState>(net: *mut bindings::net) -> *mut Slot<T> {
    // SAFETY: `T::ID` was written by the kernel at registration, before any callback.
    let id = unsafe { *T::ID.0.get() };
    // SAFETY: the caller guarantees that `net` is alive and that `id` is registered, so
    // the kernel allocated a slot of `size_of::<Slot<T>>()` bytes for it.
    unsafe { local::net_generic(net, id).cast::<Slot<T>>() }
}

/// Called by the kernel for every namespace that appears while `T` is registered.
///
/// # Safety
///
/// Called only by the kernel with a namespace under construction, `T` registered.
unsafe extern "C" fn init_callback<T: NetState>(net: *mut bindings::net) -> c_int {
    // SAFETY: the kernel passes a namespace that lives at least until `exit_callback`.
    let borrowed = unsafe { Net::from_raw(net) };
    let state = match T::init(borrowed) {
        Ok(state) => state,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: the slot belongs to `T` in this namespace and is still unused: the kernel
    // calls `init` once per namespace, before `exit`.
    let slot = unsafe { state_slot::<T>(net) };
    // SAFETY: see above; the slot is valid for writes.
    unsafe {
        slot.write(Slot {
            state,
            withdrawals: Default::default(),
        })
    };
    // SAFETY: the slot now holds an initialised `T` that stays in place until `exit`, or
    // until the drop below on a failed start, after the withdrawals.
    let placed = unsafe { &*slot };
    let started = Started {
        slot: placed,
        net: borrowed,
    };
    if let Err(e) = T::start(&started) {
        // `start` withdrew what it had registered itself; the rest goes now. A packet hook
        // may have run on another CPU meanwhile: `nf_unregister_net_hooks` does not wait
        // for packets still inside a hook. Wait until none can still see the state.
        placed.withdraw();
        // SAFETY: no preconditions; process context (namespace set-up may sleep).
        unsafe { local::synchronize_net() };
        // SAFETY: the value was written above and is dropped once; neither `pre_exit` nor
        // `exit` is called for a namespace whose `init` failed.
        unsafe { ptr::drop_in_place(slot) };
        return e.to_errno();
    }
    0
}

/// Called by the kernel for every namespace that goes away while `T` is registered,
/// before [`exit_callback`]: the state is stopped here (hooks, notifiers and files
/// withdrawn), and the core waits an RCU grace period before it calls `exit`, so that
/// no packet still inside one of the state's hooks sees it freed (`nf_unregister_net_hooks`
/// does not wait for them; iptables' tables unregister in `pre_exit` for the same reason).
///
/// # Safety
///
/// Called only by the kernel, once, after a successful `init_callback` for `net`.
unsafe extern "C" fn pre_exit_callback<T: NetState>(net: *mut bindings::net) {
    // SAFETY: the kernel passes a namespace that is alive during the call.
    let borrowed = unsafe { Net::from_raw(net) };
    // SAFETY: `init_callback` wrote and started a `T` in this slot; `exit` has not run.
    let slot = unsafe { &*state_slot::<T>(net) };
    // Hooks and notifier first: the state stops with nothing calling into it but what
    // `stop` withdraws itself.
    slot.withdraw();
    slot.state.stop(borrowed);
}

/// Called by the kernel for every namespace that goes away while `T` is registered, an
/// RCU grace period after [`pre_exit_callback`] stopped the state: frees it.
///
/// # Safety
///
/// Called only by the kernel, once, after `pre_exit_callback` for `net`.
unsafe extern "C" fn exit_callback<T: NetState>(net: *mut bindings::net) {
    // SAFETY: `init_callback` wrote a `T` into this slot, `pre_exit_callback` stopped it,
    // and the kernel calls `exit` once, after a grace period: no hook still runs on it.
    unsafe { ptr::drop_in_place(state_slot::<T>(net)) };
}

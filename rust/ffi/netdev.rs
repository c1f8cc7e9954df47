// SPDX-License-Identifier: GPL-2.0

//! Network interfaces: by name and index (for link-local IPv6 routers, `fe80::1%eth0`),
//! and their state changes.

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    error::to_result,
    prelude::*,
    sync::rcu, //
};

use crate::logic::linkfail;

use super::{
    bindings as local,
    net::{
        Net,
        NetState,
        Started, //
    },
};

/// Longest interface name, without the NUL (`IFNAMSIZ - 1`).
const IFNAME_MAX: usize = 15;

/// The index of interface `name` in `net`.
pub(crate) fn ifindex_by_name(net: &Net, name: &[u8]) -> Result<i32> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(EINVAL);
    }
    let mut cname = [0u8; IFNAME_MAX + 1];
    cname[..name.len()].copy_from_slice(name);
    // SAFETY: `net` is alive and `cname` is NUL-terminated.
    let dev = unsafe { local::dev_get_by_name(net.as_raw(), cname.as_ptr().cast()) };
    if dev.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: `dev_get_by_name` returned a held device.
    let ifindex = unsafe { local::sitemh_netdev_ifindex(dev) };
    // SAFETY: drops the reference `dev_get_by_name` took.
    unsafe { local::dev_put(dev) };
    Ok(ifindex)
}

/// Calls `f` with the name of interface `ifindex` in `net`, or `None` if there is none.
pub(crate) fn with_ifname<R>(net: &Net, ifindex: i32, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    let _guard = rcu::read_lock();
    // SAFETY: `net` is alive and we are in an RCU read-side critical section.
    let dev = unsafe { local::dev_get_by_index_rcu(net.as_raw(), ifindex) };
    if dev.is_null() {
        return f(None);
    }
    // SAFETY: `dev` stays valid until the guard is dropped; its name is NUL-terminated
    // within `IFNAMSIZ` bytes.
    let name = unsafe { CStr::from_char_ptr(local::sitemh_netdev_name(dev)) };
    f(Some(name.to_bytes()))
}

/// What happened to one device since the last batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeviceChange {
    /// The device.
    pub(crate) ifindex: i32,
    /// Whether it can carry traffic now: up, running and with carrier.
    pub(crate) usable: bool,
    /// Whether it could not at some event of the batch: a flap that ended usable still
    /// reports its failure.
    pub(crate) lost: bool,
    /// Whether it is going away.
    pub(crate) unregistering: bool,
}

/// The device events of one namespace since the last batch, coalesced per device.
pub(crate) struct DeviceBatch<'a> {
    /// One entry per device, at most [`DEVICE_BATCH`].
    pub(crate) changes: &'a [DeviceChange],
    /// More devices changed than `changes` lists: any device may have.
    pub(crate) overflowed: bool,
    /// Notifier events folded into this batch.
    pub(crate) events: u32,
}

/// Most devices one batch names (`SITEMH_DEV_BATCH` of `glue_probe.h`).
pub(crate) const DEVICE_BATCH: usize = 16;

impl DeviceBatch<'_> {
    /// What happened to device `ifindex`, if the batch names it.
    pub(crate) fn get(&self, ifindex: i32) -> Option<&DeviceChange> {
        self.changes.iter().find(|c| c.ifindex == ifindex)
    }

    /// Whether some device went down, lost its carrier or is going away (or, the batch
    /// having overflowed, may have).
    pub(crate) fn any_lost(&self) -> bool {
        self.overflowed || self.changes.iter().any(|c| c.lost)
    }
}

/// Receives the device events of one namespace.
pub(crate) trait NetdevEvents: Sync {
    /// Devices of the namespace came up, went down, changed carrier state or are going
    /// away. Called from a work item, in process context, without RTNL (the notifier
    /// only records the events), never twice at once; also called with an empty batch
    /// when it asked to be. Returns in how many milliseconds to be called again
    /// (0: only on the next event).
    fn devices_changed(&self, batch: &DeviceBatch<'_>) -> u32;
}

/// Whether device `ifindex` of `net` can carry traffic now (up, running, carrier).
pub(crate) fn usable(net: &Net, ifindex: i32) -> bool {
    // SAFETY: `net` is alive; the glue looks the device up under RCU.
    unsafe { local::sitemh_netdev_usable(net.as_raw(), ifindex) }
}

/// Whether device `ifindex` of `net` is an IP tunnel or a device without link layer
/// (TUN, WireGuard), whose packets were decapsulated or injected, not sent on a link. A
/// device that does not exist counts as one.
pub(crate) fn is_tunnel(net: &Net, ifindex: i32) -> bool {
    // SAFETY: `net` is alive; the glue looks the device up under RCU.
    let hw_type = unsafe { local::sitemh_netdev_type(net.as_raw(), ifindex) };
    linkfail::delivers_unlinked(u16::try_from(hw_type).ok())
}

/// The device events of one namespace, delivered to a handler off RTNL.
///
/// The netdevice notifier (`register_netdevice_notifier_net`) runs under RTNL, which every
/// namespace of the host shares: it only records the event and queues a work item, which
/// hands the handler the events since its last run, one entry per device. Dropping the
/// registration marks it as going away first, so the events that unregistering the
/// notifier replays (every device "down" and "unregistering") reach nobody: the module or
/// namespace going away is no device failure.
///
/// # Invariants
///
/// `raw` came from `sitemh_netdev_watch_new` with a context that is a valid `T` until
/// the registration is dropped; it is freed exactly once, on drop.
#[pin_data(PinnedDrop)]
pub(crate) struct NetdevNotifier<T: NetdevEvents> {
    raw: NonNull<local::sitemh_netdev_watch>,
    _handler: PhantomData<*const T>,
}

// SAFETY: unregistering from any thread is fine; the pointer is only handed to C.
unsafe impl<T: NetdevEvents> Send for NetdevNotifier<T> {}
// SAFETY: `&self` offers nothing.
unsafe impl<T: NetdevEvents> Sync for NetdevNotifier<T> {}

impl<T: NetdevEvents> NetdevNotifier<T> {
    /// Registers `handler` for the device events of `net`.
    ///
    /// # Safety
    ///
    /// `handler` stays valid until the registration is dropped, and `net` outlives it.
    pub(crate) unsafe fn register(net: &Net, handler: *const T) -> impl PinInit<Self, Error> {
        let raw_net = net.as_raw();
        try_pin_init!(Self {
            raw: {
                let mut raw = core::ptr::null_mut();
                // SAFETY: `net` is alive; `handler` outlives the registration (caller)
                // and `run::<T>` matches the callback type.
                to_result(unsafe {
                    local::sitemh_netdev_watch_new(
                        raw_net,
                        Some(run::<T>),
                        handler.cast(),
                        &mut raw,
                    )
                })?;
                // INVARIANT: on success the glue returned a registered watch.
                NonNull::new(raw).ok_or(ENOMEM)?
            },
            _handler: PhantomData,
        }? Error)
    }
}

impl<T: NetdevEvents + NetState> NetdevNotifier<T> {
    /// Registers the state being started, `started.state()`, for its namespace's device
    /// events, until the namespace machinery unregisters it before it stops the state, or
    /// when `start` fails.
    pub(crate) fn register_started(started: &Started<'_, T>) -> Result {
        // SAFETY: the handler, the started state, stays valid until the withdrawal below
        // drops the registration (the `Started` contract); `net` outlives its state.
        let init = unsafe { Self::register(started.net(), started.state()) };
        let notifier = KBox::pin_init(init, GFP_KERNEL)?;
        // SAFETY: the box is never moved out of: `drop_erased` rebuilds the pinned box.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(notifier) });
        // SAFETY: `raw` is an owned, pinned registration, freed by the withdrawal only;
        // `drop_erased::<T>` takes it.
        if let Err(e) = unsafe { started.on_withdraw(raw.cast_const().cast(), drop_erased::<T>) } {
            // SAFETY: not registered for withdrawal: still ours, dropped once here.
            unsafe { drop_erased::<T>(raw.cast_const().cast()) };
            return Err(e);
        }
        Ok(())
    }
}

/// The withdrawal [`NetdevNotifier::register_started`] registers: unregisters and frees.
///
/// # Safety
///
/// `data` is a `KBox<NetdevNotifier<T>>` from `KBox::into_raw` of a pinned box, not
/// freed yet; it is freed here.
unsafe fn drop_erased<T: NetdevEvents>(data: *const c_void) {
    // SAFETY: the caller passes the box's pointer, once; it was pinned and stays so.
    drop(unsafe {
        Pin::new_unchecked(KBox::from_raw(data.cast_mut().cast::<NetdevNotifier<T>>()))
    });
}

#[pinned_drop]
impl<T: NetdevEvents> PinnedDrop for NetdevNotifier<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `raw` is a live watch (type invariant), freed only here; the call waits
        // for a run of the handler in progress.
        unsafe { local::sitemh_netdev_watch_free(self.raw.as_ptr()) };
    }
}

/// The work item's callback for every registration for `T`.
///
/// # Safety
///
/// Called by the watch's work item with the context given to `sitemh_netdev_watch_new`
/// and `n` valid entries at `changes`.
unsafe extern "C" fn run<T: NetdevEvents>(
    ctx: *const c_void,
    changes: *const local::sitemh_dev_change,
    n: c_int,
    overflowed: bool,
    events: u32,
) -> c_uint {
    // SAFETY: the context is a valid `T` while registered (type invariant of
    // `NetdevNotifier`: dropping it waits for this run).
    let handler = unsafe { &*ctx.cast::<T>() };
    let mut list = [DeviceChange {
        ifindex: 0,
        usable: false,
        lost: false,
        unregistering: false,
    }; DEVICE_BATCH];
    let n = usize::try_from(n).unwrap_or(0).min(DEVICE_BATCH);
    if n > 0 && !changes.is_null() {
        // SAFETY: the glue passes `n` (at most `DEVICE_BATCH`) valid entries.
        let raw = unsafe { core::slice::from_raw_parts(changes, n) };
        for (slot, change) in list.iter_mut().zip(raw) {
            *slot = DeviceChange {
                ifindex: change.ifindex,
                usable: change.usable,
                lost: change.lost,
                unregistering: change.unregistering,
            };
        }
    }
    handler.devices_changed(&DeviceBatch {
        changes: &list[..n],
        overflowed,
        events,
    })
}

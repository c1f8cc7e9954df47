// SPDX-License-Identifier: GPL-2.0

//! Network interfaces: by name and index (for link-local IPv6 routers, `fe80::1%eth0`),
//! and their state changes.

use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    sync::rcu,
    types::Opaque, //
};

use super::{bindings as local, net::Net};

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

/// A device event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeviceChange {
    /// The device.
    pub(crate) ifindex: i32,
    /// Whether it can carry traffic now: up, running and with carrier.
    pub(crate) usable: bool,
    /// Whether it is going away.
    pub(crate) unregistering: bool,
}

/// Receives the device events of one namespace.
pub(crate) trait NetdevEvents: Sync {
    /// A device of the namespace came up, went down, changed carrier state or is going
    /// away. Called in process context with RTNL held.
    fn device_changed(&self, change: DeviceChange);
}

/// A netdevice notifier of one namespace (`register_netdevice_notifier_net`).
///
/// # Invariants
///
/// `nb` is registered in `net` and unregistered exactly once, on drop; `handler` is valid
/// while it is registered. `nb` is the first field, so the notifier block's address is the
/// registration's address.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct NetdevNotifier<T: NetdevEvents> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    handler: *const T,
    net: *mut bindings::net,
}

// SAFETY: unregistering from any thread is fine; the pointers are only handed to C.
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
        // `handler` and `net` are written first: registering replays NETDEV_UP for the
        // devices that are up, and the trampoline reads `handler` at once.
        try_pin_init!(Self {
            handler,
            net: raw_net,
            nb <- Opaque::try_ffi_init(move |slot: *mut bindings::notifier_block| {
                // SAFETY: `slot` is valid for writes (initialiser contract).
                unsafe {
                    slot.write(bindings::notifier_block {
                        notifier_call: Some(notifier_trampoline::<T>),
                        next: core::ptr::null_mut(),
                        priority: 0,
                    })
                };
                // SAFETY: `net` is alive and `slot` stays pinned until `PinnedDrop`.
                // INVARIANT: on success the block is registered.
                to_result(unsafe { local::register_netdevice_notifier_net(raw_net, slot) })
            }),
        })
    }
}

#[pinned_drop]
impl<T: NetdevEvents> PinnedDrop for NetdevNotifier<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered in `net` (type invariant).
        unsafe { local::unregister_netdevice_notifier_net(self.net, self.nb.get()) };
    }
}

/// The `notifier_call` of every registration for `T`.
///
/// # Safety
///
/// Called by the netdevice notifier chain with a block registered by
/// [`NetdevNotifier::register`].
unsafe extern "C" fn notifier_trampoline<T: NetdevEvents>(
    nb: *mut bindings::notifier_block,
    event: c_ulong,
    info: *mut c_void,
) -> c_int {
    let relevant = [
        local::netdev_cmd_NETDEV_UP,
        local::netdev_cmd_NETDEV_DOWN,
        local::netdev_cmd_NETDEV_CHANGE,
        local::netdev_cmd_NETDEV_UNREGISTER,
    ];
    if relevant
        .iter()
        .any(|&e| c_ulong::try_from(e).ok() == Some(event))
    {
        // SAFETY: `nb` is the first field of a `#[repr(C)]` registration (type invariant)
        // whose `handler` is valid while registered.
        let handler = unsafe { &*(*nb.cast::<NetdevNotifier<T>>()).handler };
        // SAFETY: netdevice events carry a `netdev_notifier_info` naming a live device.
        let (ifindex, usable) = unsafe {
            (
                local::sitemh_notifier_ifindex(info.cast()),
                local::sitemh_notifier_usable(info.cast()),
            )
        };
        let unregistering =
            c_ulong::try_from(local::netdev_cmd_NETDEV_UNREGISTER).ok() == Some(event);
        handler.device_changed(DeviceChange {
            ifindex,
            usable: usable && !unregistering,
            unregistering,
        });
    }
    bindings::NOTIFY_DONE as c_int
}

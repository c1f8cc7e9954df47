// SPDX-License-Identifier: GPL-2.0

//! Network interfaces by name and index, for link-local IPv6 routers (`fe80::1%eth0`).

use kernel::{
    prelude::*,
    sync::rcu, //
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

// SPDX-License-Identifier: GPL-2.0

//! Per-namespace sysctl tables of integer knobs.

use core::{
    ptr::NonNull,
    sync::atomic::{
        AtomicI32,
        Ordering, //
    },
};

use kernel::{
    bindings,
    prelude::*, //
};

use super::net::Net;

/// One integer knob: its name and the range a write must fall in.
pub(crate) struct IntKnob {
    /// File name under the table's directory.
    pub(crate) name: &'static CStr,
    /// Smallest value a write may set.
    pub(crate) min: i32,
    /// Largest value a write may set.
    pub(crate) max: i32,
}

/// Storage of one knob. `proc_dointvec_minmax` reads and writes `value` and reads the
/// bounds through `extra1`/`extra2`, so the three live together on the heap.
#[repr(C)]
struct IntSlot {
    value: AtomicI32,
    min: c_int,
    max: c_int,
}

/// A table of integer knobs registered under a `/proc/sys` directory of one namespace.
///
/// Writes out of range fail with `EINVAL` and leave the value unchanged (that is how
/// `proc_dointvec_minmax` behaves); only a writer with `CAP_NET_ADMIN` over the namespace
/// may write, because the kernel's net sysctl root checks it for every `net/` table.
///
/// # Invariants
///
/// `header` is the registration of `_table`, whose entries point into `slots`; neither
/// vector is resized while the registration exists, so the pointers stay valid.
pub(crate) struct NetSysctlInts {
    header: NonNull<bindings::ctl_table_header>,
    /// Only owned: the kernel reads it until `header` is unregistered.
    _table: KVec<bindings::ctl_table>,
    slots: KVec<IntSlot>,
}

// SAFETY: the table is registered and unregistered from process context on any thread; the
// values are atomics, so concurrent readers and the sysctl writer do not race.
unsafe impl Send for NetSysctlInts {}
// SAFETY: see `Send`; `&self` only reads atomics.
unsafe impl Sync for NetSysctlInts {}

impl NetSysctlInts {
    /// Registers `knobs` under `path` (for example `c"net/ipv4"`) in `net`, all starting at
    /// their `min`.
    pub(crate) fn register(net: &Net, path: &'static CStr, knobs: &[IntKnob]) -> Result<Self> {
        let mut slots = KVec::with_capacity(knobs.len(), GFP_KERNEL)?;
        for knob in knobs {
            if knob.min > knob.max {
                return Err(EINVAL);
            }
            slots.push(
                IntSlot {
                    value: AtomicI32::new(knob.min),
                    min: knob.min,
                    max: knob.max,
                },
                GFP_KERNEL,
            )?;
        }

        let mut table = KVec::with_capacity(knobs.len(), GFP_KERNEL)?;
        for (knob, slot) in knobs.iter().zip(slots.iter()) {
            table.push(
                bindings::ctl_table {
                    procname: knob.name.as_char_ptr(),
                    data: slot.value.as_ptr().cast(),
                    maxlen: core::mem::size_of::<c_int>() as c_int,
                    mode: 0o644,
                    proc_handler: Some(bindings::proc_dointvec_minmax),
                    extra1: core::ptr::from_ref(&slot.min).cast_mut().cast(),
                    extra2: core::ptr::from_ref(&slot.max).cast_mut().cast(),
                    ..Default::default()
                },
                GFP_KERNEL,
            )?;
        }

        // SAFETY: `net` is alive, `path` is a NUL-terminated static string, and `table`
        // holds `table.len()` initialised entries whose `data`/`extra` pointers point into
        // `slots`. Both vectors move into `Self`, which unregisters the table before they
        // are freed; moving a `KVec` does not move its heap buffer.
        let header = unsafe {
            bindings::register_net_sysctl_sz(
                net.as_raw(),
                path.as_char_ptr(),
                table.as_ptr(),
                table.len(),
            )
        };
        let header = NonNull::new(header).ok_or(ENOMEM)?;
        // INVARIANT: `header` registers `table`, which points into `slots`.
        Ok(Self {
            header,
            _table: table,
            slots,
        })
    }

    /// The current value of knob `index` (in the order given to [`Self::register`]).
    pub(crate) fn get(&self, index: usize) -> Option<i32> {
        self.slots
            .get(index)
            .map(|slot| slot.value.load(Ordering::Relaxed))
    }
}

impl Drop for NetSysctlInts {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `header` is a live registration; after this call
        // returns no handler runs any more, so `table` and `slots` may be freed.
        unsafe { bindings::unregister_net_sysctl_table(self.header.as_ptr()) };
    }
}

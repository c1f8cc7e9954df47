// SPDX-License-Identifier: GPL-2.0

//! Per-namespace sysctl tables whose values are text handled by Rust code.

use core::ptr::NonNull;

use kernel::{
    bindings,
    prelude::*,
    str::CString, //
};

use super::net::Net;
use crate::logic::text::{
    trim,
    FixedBuf, //
};

/// The longest value a knob reads or takes, unless it says otherwise: an IPv6 address with
/// `%ifname` fits easily.
pub(crate) const TEXT_MAX: usize = 128;

/// A sysctl knob whose value is text.
pub(crate) trait TextKnob: Send + Sync {
    /// Writes the value in force into `out`, without a newline. An error goes back to the
    /// reader as its errno.
    fn show(&self, out: &mut FixedBuf<'_>) -> Result;

    /// Applies `text` (without surrounding white space). An error goes back to the writer
    /// as its errno and must leave the value unchanged.
    fn store(&self, text: &[u8]) -> Result;

    /// The size of the knob's text buffer, its terminating NUL included: text this long or
    /// longer is refused. A whole table takes more than [`TEXT_MAX`].
    fn max_len(&self) -> usize {
        TEXT_MAX
    }
}

/// A table of text knobs registered under one `/proc/sys` directory of one namespace.
///
/// # Invariants
///
/// `header` registers `_table`, whose entries' `extra1` point to the elements of `knobs`;
/// neither vector is resized while the registration exists.
pub(crate) struct NetSysctlText<K: TextKnob> {
    header: NonNull<bindings::ctl_table_header>,
    _table: KVec<bindings::ctl_table>,
    _knobs: KVec<K>,
}

// SAFETY: the registration may be dropped on any thread; the knobs are `Send`.
unsafe impl<K: TextKnob> Send for NetSysctlText<K> {}
// SAFETY: `&self` gives no access to anything; the knobs are `Sync`.
unsafe impl<K: TextKnob> Sync for NetSysctlText<K> {}

impl<K: TextKnob> NetSysctlText<K> {
    /// Registers `knobs` (name and handler) under the directory `path` of `net`, for
    /// example `net/ipv4/ip_domain/0`; missing directories are created.
    pub(crate) fn register(
        net: &Net,
        path: &CStr,
        knobs: KVec<(&'static CStr, K)>,
    ) -> Result<Self> {
        let mut names = KVec::with_capacity(knobs.len(), GFP_KERNEL)?;
        let mut handlers = KVec::with_capacity(knobs.len(), GFP_KERNEL)?;
        for (name, knob) in knobs {
            names.push(name, GFP_KERNEL)?;
            handlers.push(knob, GFP_KERNEL)?;
        }
        let mut table = KVec::with_capacity(handlers.len(), GFP_KERNEL)?;
        for (name, knob) in names.iter().zip(handlers.iter()) {
            table.push(
                bindings::ctl_table {
                    procname: name.as_char_ptr(),
                    maxlen: c_int::try_from(knob.max_len()).map_err(|_| EINVAL)?,
                    mode: 0o644,
                    proc_handler: Some(text_handler::<K>),
                    extra1: core::ptr::from_ref(knob).cast_mut().cast(),
                    ..Default::default()
                },
                GFP_KERNEL,
            )?;
        }
        // SAFETY: `net` is alive, `path` is NUL-terminated (the kernel copies the directory
        // names), every entry's name is a static string and its `extra1` points into
        // `handlers`, whose buffer does not move when the vector moves into `Self`; `Self`
        // unregisters before it frees either vector.
        let header = unsafe {
            bindings::register_net_sysctl_sz(
                net.as_raw(),
                path.as_char_ptr(),
                table.as_ptr(),
                table.len(),
            )
        };
        let header = NonNull::new(header).ok_or(ENOMEM)?;
        // INVARIANT: `header` registers `table`, which points into `handlers`.
        Ok(Self {
            header,
            _table: table,
            _knobs: handlers,
        })
    }
}

impl<K: TextKnob> Drop for NetSysctlText<K> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `header` is a live registration. The call waits for
        // handlers in flight; none starts afterwards, so the knobs may be freed.
        unsafe { bindings::unregister_net_sysctl_table(self.header.as_ptr()) };
    }
}

/// `net/ipv4/ip_domain/<index>`-style paths.
pub(crate) fn indexed_path(dir: &str, index: usize) -> Result<CString> {
    CString::try_from_fmt(fmt!("{dir}/{index}"))
}

/// The `proc_handler` of every text knob of type `K`.
///
/// # Safety
///
/// Called by the sysctl core for an entry registered by [`NetSysctlText::register`], with
/// the buffer, length and position the core passes to every handler.
unsafe extern "C" fn text_handler<K: TextKnob>(
    ctl: *const bindings::ctl_table,
    dir: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: the entry is ours, so `extra1` points to a `K` that the registration keeps
    // alive until it unregisters, which waits for this handler to return.
    let knob = unsafe { &*(*ctl).extra1.cast::<K>() };
    let max = knob.max_len();
    // On the heap: a table's text is too big for a kernel stack. Handlers run in process
    // context, where the allocation may sleep.
    let mut text = match KVec::from_elem(0u8, max, GFP_KERNEL) {
        Ok(text) => text,
        Err(_) => return ENOMEM.to_errno(),
    };
    let Ok(maxlen) = c_int::try_from(max) else {
        return EINVAL.to_errno();
    };
    let scratch = bindings::ctl_table {
        // SAFETY: `ctl` is a valid entry (see above).
        procname: unsafe { (*ctl).procname },
        data: text.as_mut_ptr().cast(),
        maxlen,
        mode: 0o644,
        ..Default::default()
    };

    if dir != 0 {
        // A knob's value is written whole, from the start: a write at an offset (a second
        // `write(2)` on the same open file, `pwrite`, a seek first) would reach the handler
        // with nothing copied (`proc_dostring` in strict mode) and store "", which clears
        // `uplink`, `lan`, `peers` and the addresses. Refused like text that is too long.
        // SAFETY: `ppos` is valid for reads (handler contract).
        if unsafe { *ppos } != 0 {
            return EINVAL.to_errno();
        }
        // Longer text than a knob takes is refused, not cut to a maybe-valid prefix.
        // SAFETY: `lenp` is valid for reads (handler contract).
        if unsafe { *lenp } >= max {
            return EINVAL.to_errno();
        }
        // SAFETY: `scratch` describes `text`, a writable buffer of `maxlen` bytes, and the
        // other arguments are passed through unchanged.
        let ret = unsafe { bindings::proc_dostring(&scratch, dir, buffer, lenp, ppos) };
        if ret != 0 {
            return ret;
        }
        let len = text.iter().position(|&c| c == 0).unwrap_or(max);
        return match knob.store(trim(&text[..len])) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
    }

    // Keep the last byte for the terminating NUL that `proc_dostring` expects.
    let shown = {
        let mut out = FixedBuf::new(&mut text[..max.saturating_sub(1)]);
        knob.show(&mut out).map(|()| out.len())
    };
    if let Err(e) = shown {
        return e.to_errno();
    }
    // SAFETY: `scratch` describes `text`, NUL-terminated after the shown value; the other
    // arguments are passed through unchanged.
    unsafe { bindings::proc_dostring(&scratch, dir, buffer, lenp, ppos) }
}

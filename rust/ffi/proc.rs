// SPDX-License-Identifier: GPL-2.0

//! A read-only file in `/proc/net/` of one namespace, showing that namespace's state.

use kernel::{
    bindings,
    prelude::*,
    seq_file::SeqFile, //
};

use super::{
    bindings as local,
    net::{
        state_of,
        Net,
        NetState, //
    },
};

/// A namespace state that shows itself in a `/proc/net/` file.
pub(crate) trait ProcShow: NetState {
    /// The file name under `/proc/net/`.
    const FILE: &'static CStr;

    /// Writes the file's contents.
    fn show(&self, m: &SeqFile);
}

/// Creates `/proc/net/<T::FILE>` in `net`, shown by `net`'s state of type `T`.
///
/// Call from [`NetState::start`] and pair with [`remove`] in [`NetState::stop`]: the file
/// reaches the state through the namespace, so it must not outlive the started state.
pub(crate) fn create<T: ProcShow>(net: &Net) -> Result {
    // SAFETY: `net` is alive; `proc_net` is its `/proc/net` directory, the name is static,
    // and the show callback is valid for `T`.
    let entry = unsafe {
        local::proc_create_net_single(
            T::FILE.as_char_ptr(),
            0o444,
            (*net.as_raw()).proc_net,
            Some(show_trampoline::<T>),
            core::ptr::null_mut(),
        )
    };
    if entry.is_null() {
        return Err(ENOMEM);
    }
    Ok(())
}

/// Removes the file [`create`] made; waits for readers in flight.
pub(crate) fn remove<T: ProcShow>(net: &Net) {
    // SAFETY: `net` is alive and the name is the one given to `create`.
    unsafe { local::remove_proc_entry(T::FILE.as_char_ptr(), (*net.as_raw()).proc_net) };
}

/// The `show` callback of the file.
///
/// # Safety
///
/// Called by the seq_file core for a file made by [`create`] for `T`.
unsafe extern "C" fn show_trampoline<T: ProcShow>(
    seq: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: a single_open_net file keeps a reference to its namespace in the seq_file.
    let net = unsafe { Net::from_raw(local::seq_file_single_net(seq)) };
    // SAFETY: the file exists only between `start` and `stop` of the state (see `create`),
    // and `remove_proc_entry` waits for readers before `stop` returns.
    let state = unsafe { state_of::<T>(net) };
    // SAFETY: `seq` is valid for the duration of the call and used by this thread only.
    state.show(unsafe { SeqFile::from_raw(seq) });
    0
}

// SPDX-License-Identifier: GPL-2.0

//! The one layer of sitemh that talks to C.
//!
//! Raw bindings (the kernel crate's and our own generated ones) are used only below this
//! module; what it exports is safe. Every `unsafe` block of the module lives in here.

pub(crate) mod bindings;
pub(crate) mod net;
pub(crate) mod sysctl;

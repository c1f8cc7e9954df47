// SPDX-License-Identifier: GPL-2.0

//! The one layer of sitemh that talks to C.
//!
//! Raw bindings (the kernel crate's, our own generated ones, and the hand-written glue in
//! `glue.c`) are used only below this module; what it exports is safe. Every `unsafe`
//! block of the module lives in here.

pub(crate) mod bindings;
pub(crate) mod cgroup;
pub(crate) mod crypto;
pub(crate) mod events;
pub(crate) mod inet;
pub(crate) mod net;
pub(crate) mod netdev;
pub(crate) mod netfilter;
pub(crate) mod percpu;
pub(crate) mod proc;
pub(crate) mod rcu;
pub(crate) mod route;
pub(crate) mod secret;
pub(crate) mod sock;
pub(crate) mod sockopt;
pub(crate) mod sysctl;
pub(crate) mod uapi;
pub(crate) mod work;

// SPDX-License-Identifier: GPL-2.0

//! The knobs `net.ipv{4,6}.sitemh_home.*`.

#![forbid(unsafe_code)]

use super::*;

/// The knobs of `net.ipv{4,6}.sitemh_home.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HomeField {
    CareofAddr,
    Correspondent,
    BindingKey,
}

/// One knob of the home-address state.
pub(crate) struct HomeKnob<F: StackPath> {
    state: Arc<Home<F>>,
    field: HomeField,
}

impl<F: StackPath> HomeKnob<F> {
    /// Registers `net.ipv{4,6}.sitemh_home.{careof_addr,correspondent}`.
    pub(crate) fn register(net: &Net, state: &Arc<Home<F>>) -> Result<NetSysctlText<Self>> {
        let mut knobs = KVec::with_capacity(3, GFP_KERNEL)?;
        for (name, field) in [
            (c"careof_addr", HomeField::CareofAddr),
            (c"correspondent", HomeField::Correspondent),
            (c"binding_key", HomeField::BindingKey),
        ] {
            let knob = HomeKnob {
                state: state.clone(),
                field,
            };
            knobs.push((name, knob), GFP_KERNEL)?;
        }
        NetSysctlText::register(net, F::GROUP, knobs)
    }

    pub(super) fn refuse(&self, text: &[u8], what: &str) -> Result {
        if net_ratelimit() {
            pr_warn!(
                "{}: refusing {:?}: {}\n",
                F::GROUP_NAME,
                core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                what
            );
        }
        Err(EINVAL)
    }
}

impl<F: StackPath> TextKnob for HomeKnob<F> {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let shown = match self.field {
            HomeField::Correspondent => write!(
                out,
                "{}",
                u8::from(self.state.correspondent.load(Ordering::Relaxed))
            ),
            HomeField::CareofAddr => F::write_addr(out, self.state.configured_careof()),
            // Never the key itself.
            HomeField::BindingKey if self.state.has_key.load(Ordering::Acquire) => {
                write!(out, "set")
            }
            HomeField::BindingKey => Ok(()),
        };
        shown.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.state.net.get()) {
            return Err(EPERM);
        }
        let _writer = self.state.writers.lock();
        match self.field {
            HomeField::BindingKey => {
                let Ok(key) = parse_key(text) else {
                    return self.refuse(b"(not shown)", "not 64 hexadecimal digits, or empty");
                };
                self.state.has_key.store(key.is_some(), Ordering::Release);
                self.state.key.lock().replace(key);
                // Correspondents hear the next update under the new key at once.
                self.state.updates.lock().clear();
            }
            HomeField::Correspondent => {
                let on = match parse_decimal(text) {
                    Some(0) => false,
                    Some(1) => true,
                    _ => return self.refuse(text, "not 0 or 1"),
                };
                let was = self.state.correspondent.swap(on, Ordering::Relaxed);
                if let Err(e) = self.state.update_hooks() {
                    self.state.correspondent.store(was, Ordering::Relaxed);
                    return Err(e);
                }
            }
            HomeField::CareofAddr => {
                let Ok(addr) = F::parse_addr(text) else {
                    return self.refuse(text, "not an address of this family");
                };
                if addr != F::Addr::default() && !addr.usable_as_home() {
                    return self.refuse(text, "not a unicast address");
                }
                let was = self.state.configured_careof();
                let careof = (addr != F::Addr::default()).then_some(addr);
                self.state.family.set_careof(careof)?;
                // A configured address prevails; without one, the next tunnelled packet
                // looks on the interfaces again.
                self.state.set_found_careof(None);
                if let Err(e) = self.state.update_hooks() {
                    let was = (was != F::Addr::default()).then_some(was);
                    // Best effort: the old address was valid when it was set.
                    let _ = self.state.family.set_careof(was);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

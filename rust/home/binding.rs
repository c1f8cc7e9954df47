// SPDX-License-Identifier: GPL-2.0

//! Bindings: the authenticated binding updates and errors (a correspondent learns a peer's
//! care-of address only from a sealed update), `SITEMH_SO_CAREOF`, and the work item that
//! sends updates and errors.

#![forbid(unsafe_code)]

use super::*;
use crate::ffi::events;

impl<F: StackPath> Home<F> {
    /// Sends the binding errors that are due.
    pub(super) fn send_errors(&self) {
        let mut due =
            [(F::Addr::default(), F::Addr::default(), F::Addr::default()); CORRESPONDENTS];
        let n = self.errors.lock().take_due(now_ms(), &mut due);
        for &(to, from, home) in due.iter().take(n) {
            let mut message = [0u8; UPDATE_MAX];
            let Some(len) = write_error(F::icmp_type(), home, &mut message) else {
                continue;
            };
            let sent = message
                .get_mut(..len)
                .ok_or(EINVAL)
                .and_then(|m| F::send_update(self.net.get(), from, to, m));
            if sent.is_ok() {
                self.counters.errors_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl<F: StackPath> Tick for Home<F> {
    /// Sends the binding updates that are due, from the care-of address, each stamped
    /// with the wall clock and authenticated for its correspondent.
    fn tick(&self) {
        self.send_errors();
        let config = self.config();
        if !config.away() {
            self.updates.lock().clear();
            return;
        }
        let mut due = [F::Addr::default(); CORRESPONDENTS];
        let n = self.updates.lock().take_due(now_ms(), &mut due);
        if n == 0 {
            return;
        }
        let mut key = self.key.lock().0;
        let Some(octets) = key.as_ref() else {
            return;
        };
        let update = BindingUpdate {
            home: config.home,
            careof: config.careof,
            timestamp_ms: real_ns() / 1_000_000,
            lifetime_s: LIFETIME_S,
        };
        for &correspondent in due.iter().take(n) {
            let mut message = [0u8; UPDATE_MAX];
            let Some(len) =
                write_update(octets, F::icmp_type(), &update, correspondent, &mut message)
            else {
                continue;
            };
            let sent = message
                .get_mut(..len)
                .ok_or(EINVAL)
                .and_then(|m| F::send_update(self.net.get(), config.careof, correspondent, m));
            match sent {
                Ok(()) => {
                    self.counters.updates_sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if net_ratelimit() => {
                    pr_warn!(
                        "home: a binding update could not be sent: error {}\n",
                        e.to_errno()
                    );
                }
                Err(_) => {}
            }
        }
        wipe(&mut key);
    }
}

impl<F: StackPath> Home<F> {
    /// `getsockopt(SITEMH_SO_CAREOF)`: the care-of address of this host's home address or
    /// of a bound peer's (unspecified: none).
    pub(crate) fn get_careof(&self, buf: UserSlice) -> Result<usize> {
        let len = size_of::<<F::Addr as UapiAddr>::Careof>();
        let (mut reader, mut writer) = buf.reader_writer();
        if reader.len() < len {
            return Err(EINVAL);
        }
        let request: <F::Addr as UapiAddr>::Careof = reader.read()?;
        let (home, _) = F::Addr::careof_fields(&request);
        let config = self.config();
        // Where a peer is reached is the namespace's business, not any user's: only a
        // network administrator learns it (others see none).
        let careof = if config.away() && home == config.home {
            config.careof
        } else if current_is_net_admin(self.net.get()) {
            self.peer_careof(home).unwrap_or_default()
        } else {
            F::Addr::default()
        };
        writer.write(&F::Addr::careof(home, careof))?;
        Ok(len)
    }

    /// `setsockopt(SITEMH_SO_CAREOF)`: binds a peer's home address to a care-of address
    /// (CAP_NET_ADMIN), or checks this host's own.
    pub(crate) fn set_careof(&self, value: &[u8]) -> Result {
        let (home, careof) = uapi::read_careof::<F::Addr>(value)?;
        check_careof(home, careof).map_err(|_| EINVAL)?;
        let forget = careof == F::Addr::default();
        let config = self.config();
        if home == config.home {
            return if config.away() && careof == config.careof {
                Ok(())
            } else {
                Err(EINVAL)
            };
        }
        if !current_is_net_admin(self.net.get()) {
            return Err(EPERM);
        }
        let _writer = self.writers.lock();
        {
            let mut bindings = self.bindings.lock();
            let now = now_ms();
            bindings.expire_with(now, |home, careof| {
                self.announce_binding(false, home, careof)
            });
            if forget {
                if let Some(was) = bindings.careof_of(home) {
                    bindings.forget(home);
                    self.announce_binding(false, home, was);
                }
            } else if bindings.learn(home, careof, now) {
                self.announce_binding(true, home, careof);
            }
            self.bound.store(bindings.len() as u32, Ordering::Relaxed);
        }
        self.update_hooks()
    }

    /// An arriving binding update or error (LOCAL_IN), or `None` if the packet is none.
    pub(crate) fn receive_update(&self, packet: &Packet<'_>) -> Option<Verdict> {
        let mut message = [0u8; UPDATE_MAX];
        let (len, checked) = F::binding_message(packet, &mut message)?;
        let (src, dst) = F::addrs(packet);
        if message[1] == CODE_BINDING_ERROR {
            self.heard_error(message.get(..len).filter(|_| checked), src, dst);
            return Some(Verdict::Drop(EINVAL));
        }
        let why = match self.take_update(packet, &message, len, checked, src, dst) {
            Ok(()) => {
                self.counters.updates_taken.fetch_add(1, Ordering::Relaxed);
                return Some(Verdict::Drop(EINVAL));
            }
            Err(why) => why,
        };
        self.counters
            .updates_refused
            .fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            let mut buf = [0u8; 48];
            let mut shown = FixedBuf::new(&mut buf);
            let _ = F::write_addr(&mut shown, src);
            pr_warn!(
                "home: refusing a binding update from {}: {}\n",
                core::str::from_utf8(shown.as_bytes()).unwrap_or("?"),
                why
            );
        }
        // Ours either way: no other part of the stack knows the type.
        Some(Verdict::Drop(EINVAL))
    }

    /// A correspondent refused a stacked packet of ours for want of a binding: the next
    /// update to it goes out now (at most once a second), unless the error is not for our
    /// home address at our care-of address.
    pub(super) fn heard_error(&self, message: Option<&[u8]>, src: F::Addr, dst: F::Addr) {
        let Some(home) = message.and_then(|m| parse_error::<F::Addr>(F::icmp_type(), m)) else {
            return;
        };
        let config = self.config();
        if !config.away() || home != config.home || dst != config.careof {
            return;
        }
        self.counters.errors_heard.fetch_add(1, Ordering::Relaxed);
        if self.has_key.load(Ordering::Acquire) && self.updates.lock().hint(src, now_ms()) {
            self.ticker.arm(0);
        }
    }

    pub(super) fn take_update(
        &self,
        packet: &Packet<'_>,
        message: &[u8],
        len: usize,
        checked: bool,
        src: F::Addr,
        dst: F::Addr,
    ) -> core::result::Result<(), &'static str> {
        if !self.correspondent.load(Ordering::Relaxed) {
            return Err("this node is no correspondent (sitemh_home.correspondent=0)");
        }
        let message = message.get(..len).ok_or("longer than a binding update")?;
        if !checked {
            return Err("bad checksum");
        }
        let update = {
            let key = self.key.lock();
            let Some(key) = key.0.as_ref() else {
                return Err("no binding key configured");
            };
            parse_update(
                key,
                F::icmp_type(),
                message,
                src,
                dst,
                real_ns() / 1_000_000,
            )
        };
        let update = update.map_err(|e| match e {
            UpdateError::Length => "wrong length",
            UpdateError::NotAnUpdate => "not a binding update",
            UpdateError::WrongSource => "not sent from the care-of address it names",
            UpdateError::BadAddress => "an address no node can have as its home",
            UpdateError::BadTag => "it does not verify under the binding key",
            UpdateError::Stale => "its timestamp is too far from this node's clock",
        })?;
        // This node's own addresses are nobody else's home.
        if F::is_local(packet, update.home) {
            return Err("it names an address of this node as its home");
        }
        let mut bindings = self.bindings.lock();
        let now = now_ms();
        bindings.expire_with(now, |home, careof| {
            self.announce_binding(false, home, careof)
        });
        let changed = bindings
            .learn_authenticated(
                update.home,
                update.careof,
                now,
                update.timestamp_ms,
                u64::from(update.lifetime_s) * 1000,
            )
            .map_err(|_| "a replay: no newer than the last update taken")?;
        if changed {
            self.announce_binding(true, update.home, update.careof);
        }
        self.bound.store(bindings.len() as u32, Ordering::Relaxed);
        Ok(())
    }

    /// Announces a binding learned (or moved to another care-of address) or gone: lapsed
    /// (noticed at the next update or configuration) or forgotten by configuration.
    fn announce_binding(&self, learned: bool, home: F::Addr, careof: F::Addr) {
        let kind = if learned {
            events::Kind::BindingLearned
        } else {
            events::Kind::BindingExpired
        };
        events::Event::new::<F::Addr>(kind)
            .addr(events::Addr::Home, home)
            .addr(events::Addr::CareOf, careof)
            .announce(self.net.get());
    }
}

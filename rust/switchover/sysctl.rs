// SPDX-License-Identifier: GPL-2.0

//! The host's knobs, `net.ipv4.sitemh_lf.*`, and `net.ipv6.sitemh_lf.{auto,ktls}`.

#![forbid(unsafe_code)]

use super::*;

/// The knobs of `net.ipv4.sitemh_lf.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LfField {
    Retries,
    RetryMs,
    FailbackMs,
    PeerRate,
    PeerBurst,
    UserQuota,
    EventsOwn,
    ProbeMs,
    /// `auto` of IPv4 connections (`net.ipv4.sitemh_lf.auto`).
    Auto4,
    /// `auto` of IPv6 connections (`net.ipv6.sitemh_lf.auto`).
    Auto6,
    /// `ktls` of IPv4 connections (`net.ipv4.sitemh_lf.ktls`).
    Ktls4,
    /// `ktls` of IPv6 connections (`net.ipv6.sitemh_lf.ktls`).
    Ktls6,
    /// The service ports `auto` is limited to, both families (text, `PortRanges`).
    AutoPorts,
    /// The cgroup `auto` is limited to, both families (text, a cgroup v2 path).
    AutoCgroup,
}

impl LfField {
    /// Whether the knob is one family's alone (the others apply to both).
    fn family_of(self) -> Option<bool> {
        match self {
            LfField::Auto4 | LfField::Ktls4 => Some(false),
            LfField::Auto6 | LfField::Ktls6 => Some(true),
            _ => None,
        }
    }
}

/// One knob of the switchover, for both families.
pub(crate) struct LfKnob {
    v4: Arc<Switchover<V4>>,
    v6: Arc<Switchover<V6>>,
    field: LfField,
}

impl LfKnob {
    /// Registers `net.ipv4.sitemh_lf.{retries,retry_ms,failback_ms,peer_rate,peer_burst,
    /// user_quota,events_own,probe_ms,auto,ktls,auto_ports,auto_cgroup}`.
    pub(crate) fn register(
        net: &Net,
        v4: &Arc<Switchover<V4>>,
        v6: &Arc<Switchover<V6>>,
    ) -> Result<NetSysctlText<LfKnob>> {
        let fields = [
            (c"retries", LfField::Retries),
            (c"retry_ms", LfField::RetryMs),
            (c"failback_ms", LfField::FailbackMs),
            (c"peer_rate", LfField::PeerRate),
            (c"peer_burst", LfField::PeerBurst),
            (c"user_quota", LfField::UserQuota),
            (c"events_own", LfField::EventsOwn),
            (c"probe_ms", LfField::ProbeMs),
            (c"auto", LfField::Auto4),
            (c"ktls", LfField::Ktls4),
            (c"auto_ports", LfField::AutoPorts),
            (c"auto_cgroup", LfField::AutoCgroup),
        ];
        Self::register_table(net, c"net/ipv4/sitemh_lf", v4, v6, &fields)
    }

    /// Registers `net.ipv6.sitemh_lf.{auto,ktls,auto_ports,auto_cgroup}`: `auto` and
    /// `ktls` are IPv6's own; the two limits are the same ones as under `net.ipv4` (one
    /// value for both families, whichever file writes it), found where an administrator
    /// of an IPv6 service looks for them.
    pub(crate) fn register6(
        net: &Net,
        v4: &Arc<Switchover<V4>>,
        v6: &Arc<Switchover<V6>>,
    ) -> Result<NetSysctlText<LfKnob>> {
        let fields = [
            (c"auto", LfField::Auto6),
            (c"ktls", LfField::Ktls6),
            (c"auto_ports", LfField::AutoPorts),
            (c"auto_cgroup", LfField::AutoCgroup),
        ];
        Self::register_table(net, c"net/ipv6/sitemh_lf", v4, v6, &fields)
    }

    /// Registers the table at `path` with one knob per named field.
    fn register_table(
        net: &Net,
        path: &'static CStr,
        v4: &Arc<Switchover<V4>>,
        v6: &Arc<Switchover<V6>>,
        fields: &[(&'static CStr, LfField)],
    ) -> Result<NetSysctlText<LfKnob>> {
        let mut knobs = KVec::with_capacity(fields.len(), GFP_KERNEL)?;
        for &(name, field) in fields {
            let knob = LfKnob {
                v4: v4.clone(),
                v6: v6.clone(),
                field,
            };
            knobs.push((name, knob), GFP_KERNEL)?;
        }
        NetSysctlText::register(net, path, knobs)
    }
}

impl<F: SwitchFamily> Switchover<F> {
    /// The value of a knob.
    pub(super) fn knob(&self, field: LfField) -> u32 {
        let atomic = match field {
            LfField::Retries => &self.retries,
            LfField::RetryMs => &self.retry_ms,
            LfField::FailbackMs => &self.failback_ms,
            LfField::UserQuota => &self.user_quota,
            LfField::EventsOwn => &self.events_own,
            LfField::ProbeMs => &self.probe_ms,
            LfField::Auto4 | LfField::Auto6 => &self.auto,
            LfField::Ktls4 | LfField::Ktls6 => &self.ktls,
            LfField::PeerRate => return self.limits.lock().rate,
            LfField::PeerBurst => return self.limits.lock().burst,
            // Text: shown by `TextKnob::show`.
            LfField::AutoPorts | LfField::AutoCgroup => return 0,
        };
        atomic.load(Ordering::Relaxed)
    }

    /// Sets a knob.
    pub(super) fn set_knob(&self, field: LfField, v: u32) {
        let atomic = match field {
            LfField::Retries => &self.retries,
            LfField::RetryMs => &self.retry_ms,
            LfField::FailbackMs => &self.failback_ms,
            LfField::UserQuota => &self.user_quota,
            LfField::EventsOwn => &self.events_own,
            LfField::ProbeMs => &self.probe_ms,
            LfField::Auto4 | LfField::Auto6 => return self.set_auto(v != 0),
            LfField::Ktls4 | LfField::Ktls6 => return self.set_ktls(v != 0),
            LfField::AutoPorts | LfField::AutoCgroup => return,
            LfField::PeerRate | LfField::PeerBurst => {
                // New limits start with full buckets.
                let mut limits = self.limits.lock();
                *limits = match field {
                    LfField::PeerRate => PeerLimits::new(v, limits.burst),
                    _ => PeerLimits::new(limits.rate, v),
                };
                return;
            }
        };
        atomic.store(v, Ordering::Relaxed);
    }
}

impl LfKnob {
    /// `auto_cgroup`: "" lifts the limit; a path names a cgroup of the writer's cgroup
    /// namespace, which must exist. Nothing changes on an error.
    fn store_auto_cgroup(&self, text: &[u8]) -> Result {
        let limit = if text.is_empty() {
            None
        } else {
            let found = if cgroup_path_valid(text) {
                agree::AutoCgroup::lookup(text)
            } else {
                Err(EINVAL)
            };
            match found {
                Ok(limit) => Some(Arc::new(limit, GFP_KERNEL)?),
                Err(e) => {
                    let why = if e == EINVAL {
                        "not a cgroup path (\"/\" and names, up to 255 octets)"
                    } else if e == EOPNOTSUPP {
                        "this kernel's sockets do not record their cgroup"
                    } else {
                        "no such cgroup in the writer's cgroup namespace"
                    };
                    if net_ratelimit() {
                        pr_warn!(
                            "sitemh_lf.auto_cgroup: refusing {:?}: {} ({:?})\n",
                            core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                            why,
                            e
                        );
                    }
                    return Err(e);
                }
            }
        };
        self.v4.set_auto_cgroup(limit.clone());
        self.v6.set_auto_cgroup(limit);
        Ok(())
    }
}

impl TextKnob for LfKnob {
    fn max_len(&self) -> usize {
        match self.field {
            // The path, its NUL and the newline `echo` adds.
            LfField::AutoCgroup => CGROUP_PATH_MAX + 2,
            _ => crate::ffi::sysctl::TEXT_MAX,
        }
    }

    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        if self.field == LfField::AutoPorts {
            return write!(out, "{}", self.v4.auto_ports()).map_err(|_| EOVERFLOW);
        }
        if self.field == LfField::AutoCgroup {
            let Some(limit) = self.v4.auto_cgroup() else {
                return Ok(());
            };
            // Valid UTF-8: `cgroup_path_valid` took only that.
            let path = core::str::from_utf8(limit.path()).map_err(|_| EINVAL)?;
            return out.write_str(path).map_err(|_| EOVERFLOW);
        }
        let v = match self.field.family_of() {
            Some(true) => self.v6.knob(self.field),
            _ => self.v4.knob(self.field),
        };
        write!(out, "{}", v).map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.v4.net.get()) {
            return Err(EPERM);
        }
        if self.field == LfField::AutoPorts {
            let Some(ports) = PortRanges::parse(text) else {
                if net_ratelimit() {
                    pr_warn!(
                        "sitemh_lf.auto_ports: refusing {:?}: not up to {} ports or ranges \
                         (\"22 443 8000-8080\", 1-65535)\n",
                        core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                        PORT_RANGES_MAX
                    );
                }
                return Err(EINVAL);
            };
            self.v4.set_auto_ports(&ports);
            self.v6.set_auto_ports(&ports);
            return Ok(());
        }
        if self.field == LfField::AutoCgroup {
            return self.store_auto_cgroup(text);
        }
        let (low, high) = match self.field {
            LfField::Retries => (1, 255),
            LfField::RetryMs => (0, 60_000),
            LfField::FailbackMs => (0, 3_600_000),
            LfField::PeerRate => (0, 1_000_000),
            LfField::PeerBurst => (1, 1_000_000),
            // MAX_TRACKED fits in a u32.
            LfField::UserQuota => (1, MAX_TRACKED as u32),
            LfField::EventsOwn => (0, 1),
            // Proposals wait for it; selection's own probes allow as long.
            LfField::ProbeMs => (0, 10_000),
            LfField::Auto4 | LfField::Auto6 | LfField::Ktls4 | LfField::Ktls6 => (0, 1),
            LfField::AutoPorts | LfField::AutoCgroup => return Err(EINVAL),
        };
        match parse_decimal(text) {
            Some(v) if (low..=high).contains(&v) => {
                // `auto` and `ktls` are per family; the others apply to both.
                let family = self.field.family_of();
                if family != Some(true) {
                    self.v4.set_knob(self.field, v);
                }
                if family != Some(false) {
                    self.v6.set_knob(self.field, v);
                }
                Ok(())
            }
            _ => {
                if net_ratelimit() {
                    pr_warn!(
                        "net.ipv4.sitemh_lf: refusing {:?}: not a number in {}..{}\n",
                        core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                        low,
                        high
                    );
                }
                Err(EINVAL)
            }
        }
    }
}

//! What the module exports through files: `/proc/net/sitemh` and the sysctl trees under
//! `/proc/sys/net/ipv{4,6}/`, and what the DHCP exit hook records in `/run/sitemh/`.
//! Every path hangs below a root, `/` normally; the tests
//! give a fixture tree instead (`SITEMHCTL_ROOT`, `--root`).

use std::fs;
use std::io;
use std::io::Write;
use std::path::PathBuf;

use crate::error::errno_text;
use crate::error::Error;
use crate::status::Status;
use crate::table::Family;
use crate::table::Slot;

/// The path attributes of a domain (`ip_domain.N.<name>`), as the selection weighs them.
pub const PATH_ATTRS: [&str; 6] = [
    "bandwidth",
    "gross_bandwidth",
    "path_bandwidth",
    "unused_bandwidth",
    "hops",
    "latency",
];

/// The DHCP exit hook's state directory, relative to the root.
const DHCP_STATE: &str = "run/sitemh";

/// The files of one namespace's module, below `root`.
pub struct Files {
    root: PathBuf,
}

impl Files {
    /// The files below `root` (`/` for the running system).
    pub fn new(root: impl Into<PathBuf>) -> Files {
        Files { root: root.into() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// The sysctl directory of a family, relative to the root.
    fn sysctl(family: Family) -> &'static str {
        match family {
            Family::V4 => "proc/sys/net/ipv4",
            Family::V6 => "proc/sys/net/ipv6",
        }
    }

    /// The sysctl name for a file, for messages (`net.ipv4.ip_domain_table`).
    pub fn sysctl_name(family: Family, name: &str) -> String {
        format!("net.{}.{}", family.name(), name.replace('/', "."))
    }

    /// Reads a file of the tree; `Ok(None)` if it does not exist.
    fn read(&self, rel: &str) -> Result<Option<String>, Error> {
        match fs::read_to_string(self.path(rel)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Failed(format!(
                "cannot read /{rel}: {}",
                errno_text(&e)
            ))),
        }
    }

    /// Reads a sysctl of a family, trimmed; `None` if it does not exist.
    pub fn knob(&self, family: Family, name: &str) -> Result<Option<String>, Error> {
        let rel = format!("{}/{name}", Self::sysctl(family));
        Ok(self
            .read(&rel)?
            .map(|t| t.trim_end_matches('\n').to_string()))
    }

    /// `/proc/net/sitemh`, parsed; an error if the module is not loaded.
    pub fn status(&self) -> Result<Status, Error> {
        let text = self.read("proc/net/sitemh")?.ok_or_else(not_loaded)?;
        crate::status::parse(&text)
            .map_err(|e| Error::Failed(format!("cannot parse /proc/net/sitemh: {e}")))
    }

    /// The domain table of a family, from `ip_domain_table`.
    pub fn table(&self, family: Family) -> Result<Vec<Slot>, Error> {
        let text = self.knob(family, "ip_domain_table")?.ok_or_else(|| {
            if self.path("proc/net/sitemh").exists() {
                Error::Failed(format!(
                    "this sitemh module has no {} (it predates the whole-table node)",
                    Self::sysctl_name(family, "ip_domain_table")
                ))
            } else {
                not_loaded()
            }
        })?;
        crate::table::parse_table(&text, family).map_err(|e| {
            Error::Failed(format!(
                "cannot parse {}: {e}",
                Self::sysctl_name(family, "ip_domain_table")
            ))
        })
    }

    /// Writes a whole table to `ip_domain_table` in one `write()`, so that the module
    /// applies it at once or not at all.
    pub fn write_table(&self, family: Family, text: &str) -> Result<(), Error> {
        let name = Self::sysctl_name(family, "ip_domain_table");
        let what = format!("writing {name}");
        let path = self.path(&format!("{}/ip_domain_table", Self::sysctl(family)));
        if !path.exists() {
            // Loaded or not, table() said why when the table was read.
            return Err(Error::Failed(format!("{name} does not exist")));
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::kernel(&what, &e))?;
        let line = format!("{text}\n");
        match file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => Ok(()),
            Ok(n) => Err(Error::Kernel(format!(
                "{what}: only {n} of {} bytes written",
                line.len()
            ))),
            Err(e) => Err(Error::kernel(&what, &e)),
        }
    }

    /// The path attributes of domain `index` (absent files read as `None`).
    pub fn path_attrs(
        &self,
        family: Family,
        index: usize,
    ) -> Result<Vec<(String, Option<u64>)>, Error> {
        let mut attrs = Vec::new();
        for name in PATH_ATTRS {
            let value = self.knob(family, &format!("ip_domain/{index}/{name}"))?;
            attrs.push((name.to_string(), value.and_then(|v| v.trim().parse().ok())));
        }
        Ok(attrs)
    }

    /// The IPv4 tables the DHCP client's exit hook applied (etc/dhcp/dhclient-exit-hooks.d/
    /// sitemh): `(interface, table)` from each `/run/sitemh/dhcp-IFACE.applied`, sorted by
    /// interface. The hook writes there the table as `ip_domain_table` read back after its
    /// write. A file that cannot be read counts as absent: it only names a source.
    pub fn dhcp_applied(&self) -> Vec<(String, String)> {
        let Ok(entries) = fs::read_dir(self.path(DHCP_STATE)) else {
            return Vec::new();
        };
        let mut applied = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(iface) = name
                .strip_prefix("dhcp-")
                .and_then(|n| n.strip_suffix(".applied"))
            else {
                continue;
            };
            let Ok(text) = fs::read_to_string(entry.path()) else {
                continue;
            };
            let table = text.lines().next().unwrap_or("").to_string();
            applied.push((iface.to_string(), table));
        }
        applied.sort();
        applied
    }

    /// The knobs of a sysctl directory of a family (`sitemh_ce`), sorted by name; empty if
    /// the directory does not exist.
    pub fn knob_dir(&self, family: Family, dir: &str) -> Result<Vec<(String, String)>, Error> {
        let rel = format!("{}/{dir}", Self::sysctl(family));
        let entries = match fs::read_dir(self.path(&rel)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::Failed(format!(
                    "cannot read /{rel}: {}",
                    errno_text(&e)
                )))
            }
        };
        let mut knobs = Vec::new();
        for entry in entries {
            let entry = entry
                .map_err(|e| Error::Failed(format!("cannot read /{rel}: {}", errno_text(&e))))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if entry.path().is_dir() {
                continue;
            }
            // A knob that cannot be read (a key that is write-only) shows as empty.
            let value = fs::read_to_string(entry.path()).unwrap_or_default();
            knobs.push((name, value.trim_end_matches('\n').to_string()));
        }
        knobs.sort();
        Ok(knobs)
    }
}

fn not_loaded() -> Error {
    Error::Failed(
        "the sitemh module is not loaded in this network namespace (no /proc/net/sitemh)".into(),
    )
}

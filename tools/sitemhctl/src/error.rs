//! Failures and their exit statuses, as iproute2's `ip` has them.
//!
//! `ip` exits 255 for a command line it cannot parse (`invarg`, `missarg`,
//! `incomplete_command` call `exit(-1)`), 1 for a command that failed in user space (a
//! bad address: `get_addr`'s `exit(1)`; a missing device: `nodev`'s -1, negated by
//! `do_cmd`), and 2 when the kernel refused the request (`rtnl_talk` failing: -2, negated).
//! sitemhctl does the same, with the sysctl write in the kernel's place.

use std::fmt;
use std::io;

/// Why a command failed; [`Error::exit_code`] is its exit status.
#[derive(Debug, PartialEq)]
pub enum Error {
    /// The command line: an unknown word, a missing or extra argument (exit 255).
    Usage(String),
    /// The command was understood but cannot be done: an invalid prefix, a domain that
    /// does not exist, the module not loaded (exit 1).
    Failed(String),
    /// The kernel refused it: a write or socket option answered with an error (exit 2).
    Kernel(String),
}

impl Error {
    /// The process's exit status for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 255,
            Error::Failed(_) => 1,
            Error::Kernel(_) => 2,
        }
    }

    /// A refusal by the kernel: `what` and the errno's text.
    pub fn kernel(what: &str, e: &io::Error) -> Error {
        Error::Kernel(format!("{what}: {}", errno_text(e)))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}\nTry \"sitemhctl help\"."),
            Error::Failed(m) | Error::Kernel(m) => f.write_str(m),
        }
    }
}

/// The C library's text for an error (`Invalid argument`), without Rust's
/// ` (os error 22)` suffix, so that messages read as iproute2's do.
pub fn errno_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_iproute2() {
        assert_eq!(Error::Usage(String::new()).exit_code(), 255);
        assert_eq!(Error::Failed(String::new()).exit_code(), 1);
        assert_eq!(Error::Kernel(String::new()).exit_code(), 2);
    }

    #[test]
    fn kernel_errors_carry_the_errno_text() {
        let e = Error::kernel("writing x", &io::Error::from_raw_os_error(22));
        assert_eq!(e.to_string(), "writing x: Invalid argument");
        let e = Error::kernel("writing x", &io::Error::from_raw_os_error(1));
        assert_eq!(e.to_string(), "writing x: Operation not permitted");
    }

    #[test]
    fn usage_errors_point_at_help() {
        let e = Error::Usage("unknown command \"x\"".into());
        assert!(e.to_string().ends_with("Try \"sitemhctl help\"."));
    }
}

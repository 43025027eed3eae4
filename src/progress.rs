//! Progress bars for long work (generate, features, train, batch scoring): drawn on stderr when
//! it is a terminal, hidden when piped or when `CI` is set, so logs and CI output stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether progress should be drawn: stderr is a terminal and `CI` is not set.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// A bar over `len` steps labelled `msg`; hidden when [`enabled`] is false.
pub fn bar(len: u64, msg: &str) -> ProgressBar {
    if !enabled() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>14} [{bar:40.cyan/blue}] {pos}/{len} ({elapsed_precise}, eta {eta})",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}

/// A spinner for work of unknown length labelled `msg`; hidden when [`enabled`] is false.
pub fn spinner(msg: &str) -> ProgressBar {
    if !enabled() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

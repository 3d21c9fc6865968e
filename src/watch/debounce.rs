//! The quiet window that coalesces a burst of changes: one deadline, armed
//! only while changes are pending (no ticking thread), moved on by every
//! further change; when it passes, each triggered rule runs once, with the
//! last path that triggered it.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct Debouncer {
    quiet: Duration,
    /// The last changed path per rule (by index).
    pending: BTreeMap<usize, String>,
    due: Option<Instant>,
}

impl Debouncer {
    pub fn new(quiet: Duration) -> Self {
        Self { quiet, pending: BTreeMap::new(), due: None }
    }

    /// One file event at `now`: the rules it triggers, each with the path.
    /// While anything is pending, every event moves the deadline on.
    pub fn event(&mut self, hits: impl IntoIterator<Item = (usize, String)>, now: Instant) {
        self.pending.extend(hits);
        if !self.pending.is_empty() {
            self.due = Some(now + self.quiet);
        }
    }

    /// When the pending rules are due; `None` while nothing is pending.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The pending rules, emptied; the deadline is disarmed.
    pub fn take(&mut self) -> BTreeMap<usize, String> {
        self.due = None;
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_becomes_one_run_per_rule_after_the_last_change() {
        let quiet = Duration::from_millis(30);
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut debouncer = Debouncer::new(quiet);
        assert_eq!(debouncer.due(), None, "idle: no timer armed");

        debouncer.event([], at(0));
        assert_eq!(debouncer.due(), None, "an event that triggers nothing arms nothing");

        debouncer.event([(0, "a.scss".to_owned())], at(0));
        assert_eq!(debouncer.due(), Some(at(30)));
        debouncer.event([(1, "b.js".to_owned()), (0, "c.scss".to_owned())], at(20));
        assert_eq!(debouncer.due(), Some(at(50)), "a change in the window moves the deadline");
        debouncer.event([], at(40));
        assert_eq!(debouncer.due(), Some(at(70)), "any event moves it while changes are pending");

        let due = debouncer.take();
        assert_eq!(due, BTreeMap::from([(0, "c.scss".to_owned()), (1, "b.js".to_owned())]), "last path per rule");
        assert_eq!(debouncer.due(), None, "disarmed after firing");
        assert!(debouncer.take().is_empty());
    }
}

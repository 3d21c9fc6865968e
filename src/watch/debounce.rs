//! The quiet window that coalesces a burst of changes: one deadline, armed
//! only while changes are pending (no ticking thread), moved on by every
//! further change; when it passes, each triggered rule runs once, with the
//! last path that triggered it.
//!
//! A save that the file system reports as finished (inotify's
//! close-after-write, or a rename into place) needs no quiet window: the
//! rules run after a short settle instead, which catches the rest of the
//! same save (an editor's chmod, its backup file's removal). Only a lone
//! save goes that fast: a second finished save in the same window, or a
//! window opened less than the quiet time after the last change, is a burst
//! (a checkout, a formatter, a script), and waits the whole quiet time.

use std::collections::BTreeMap;
use std::time::Duration;

use notify::EventKind;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use tokio::time::Instant;

/// How long a finished lone save waits for the rest of its events.
pub const SETTLE: Duration = Duration::from_millis(3);

/// What one file event says about the save it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not a change (a read, an open): ignored.
    None,
    /// Part of a save that may go on (a write, a create, a removal).
    Part,
    /// A save is complete: the file was closed after writing, or renamed
    /// into place.
    Finished,
}

impl Change {
    /// The kind of a notify event. inotify reports a rename as `To` and
    /// then `Both` for the same move: only `To` finishes a save, so one
    /// rename is not taken for two saves.
    pub fn of(kind: EventKind) -> Self {
        match kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Self::Finished,
            EventKind::Access(_) => Self::None,
            _ => Self::Part,
        }
    }
}

#[derive(Debug)]
pub struct Debouncer {
    quiet: Duration,
    settle: Duration,
    /// The last changed path per rule (by index).
    pending: BTreeMap<usize, String>,
    due: Option<Instant>,
    /// When a change last triggered a rule.
    last_hit: Option<Instant>,
    /// The open window started after the quiet time without changes.
    lone: bool,
    /// Finished saves (that trigger a rule) in the open window.
    finished: u32,
}

impl Debouncer {
    pub fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            settle: SETTLE.min(quiet),
            pending: BTreeMap::new(),
            due: None,
            last_hit: None,
            lone: false,
            finished: 0,
        }
    }

    /// One file event at `now`: the rules it triggers, each with the path.
    /// While anything is pending, every event moves the deadline on: by the
    /// settle time once a lone save has finished, else by the quiet time.
    pub fn event(&mut self, hits: impl IntoIterator<Item = (usize, String)>, change: Change, now: Instant) {
        if change == Change::None {
            return;
        }
        let hits: Vec<(usize, String)> = hits.into_iter().collect();
        let hit = !hits.is_empty();
        if hit && self.pending.is_empty() {
            // A new window.
            self.lone = self.last_hit.is_none_or(|last| now.duration_since(last) >= self.quiet);
            self.finished = 0;
        }
        self.pending.extend(hits);
        if self.pending.is_empty() {
            return;
        }
        if hit {
            self.last_hit = Some(now);
            if change == Change::Finished {
                self.finished += 1;
            }
        }
        self.due = Some(now + window(self.quiet, self.settle, self.lone, self.finished));
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

/// How long the open window waits after its latest event: the settle time
/// when it holds exactly one finished save and opened after a quiet spell,
/// the quiet time otherwise (no save finished yet, a burst, or a backend
/// that never reports a finished save, such as polling).
pub fn window(quiet: Duration, settle: Duration, lone: bool, finished: u32) -> Duration {
    if lone && finished == 1 { settle } else { quiet }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind};

    const QUIET: Duration = Duration::from_millis(30);

    fn hit(path: &str) -> Vec<(usize, String)> {
        vec![(0, path.to_owned())]
    }

    #[test]
    fn a_burst_becomes_one_run_per_rule_after_the_last_change() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut debouncer = Debouncer::new(QUIET);
        assert_eq!(debouncer.due(), None, "idle: no timer armed");

        debouncer.event([], Change::Part, at(0));
        assert_eq!(debouncer.due(), None, "an event that triggers nothing arms nothing");

        debouncer.event([(0, "a.scss".to_owned())], Change::Part, at(0));
        assert_eq!(debouncer.due(), Some(at(30)));
        debouncer.event([(1, "b.js".to_owned()), (0, "c.scss".to_owned())], Change::Part, at(20));
        assert_eq!(debouncer.due(), Some(at(50)), "a change in the window moves the deadline");
        debouncer.event([], Change::Part, at(40));
        assert_eq!(debouncer.due(), Some(at(70)), "any event moves it while changes are pending");
        debouncer.event([(0, "d.scss".to_owned())], Change::None, at(45));
        assert_eq!(debouncer.due(), Some(at(70)), "a read is no change");

        let due = debouncer.take();
        assert_eq!(due, BTreeMap::from([(0, "c.scss".to_owned()), (1, "b.js".to_owned())]), "last path per rule");
        assert_eq!(debouncer.due(), None, "disarmed after firing");
        assert!(debouncer.take().is_empty());
    }

    #[test]
    fn a_lone_finished_save_settles_briefly_and_its_other_events_stay_brief() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut debouncer = Debouncer::new(QUIET);
        // An editor writing in place: truncate and write, close, chmod.
        debouncer.event(hit("a.scss"), Change::Part, at(0));
        assert_eq!(debouncer.due(), Some(at(30)), "a write alone may go on: the quiet time");
        debouncer.event(hit("a.scss"), Change::Finished, at(1));
        assert_eq!(debouncer.due(), Some(at(1) + SETTLE), "closed after writing: the settle time");
        debouncer.event(hit("a.scss"), Change::Part, at(2));
        assert_eq!(debouncer.due(), Some(at(2) + SETTLE), "the same save's chmod");
        debouncer.event([], Change::Part, at(3));
        assert_eq!(debouncer.due(), Some(at(3) + SETTLE), "its backup file's removal");
        assert_eq!(debouncer.take(), BTreeMap::from([(0, "a.scss".to_owned())]));

        // Saved by a rename into place, a second later (inotify: `To`, then
        // `Both` for the same move).
        debouncer.event([], Change::Finished, at(1000));
        assert_eq!(debouncer.due(), None, "the temporary file, ignored, arms nothing");
        debouncer.event(hit("a.scss"), Change::Finished, at(1001));
        debouncer.event(hit("a.scss"), Change::Part, at(1001));
        assert_eq!(debouncer.due(), Some(at(1001) + SETTLE));
    }

    #[test]
    fn a_burst_of_finished_saves_waits_the_quiet_time() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut debouncer = Debouncer::new(QUIET);
        debouncer.event(hit("a.scss"), Change::Finished, at(0));
        assert_eq!(debouncer.due(), Some(at(0) + SETTLE));
        debouncer.event(hit("b.scss"), Change::Finished, at(1));
        assert_eq!(debouncer.due(), Some(at(31)), "a second save in the window is a burst");
        debouncer.event(hit("a.scss"), Change::Finished, at(2));
        assert_eq!(debouncer.due(), Some(at(32)));
        debouncer.take();

        // The burst goes on after the window fired (the machine stalled):
        // the next window opens too soon after it to be a lone save.
        debouncer.event(hit("c.scss"), Change::Finished, at(20));
        assert_eq!(debouncer.due(), Some(at(50)));
        debouncer.take();
        debouncer.event(hit("c.scss"), Change::Finished, at(100));
        assert_eq!(debouncer.due(), Some(at(100) + SETTLE), "after a quiet spell, a lone save again");
    }

    #[test]
    fn the_settle_time_is_never_longer_than_the_quiet_time() {
        let start = Instant::now();
        let mut debouncer = Debouncer::new(Duration::from_millis(1));
        debouncer.event(hit("a.scss"), Change::Finished, start);
        assert_eq!(debouncer.due(), Some(start + Duration::from_millis(1)));
    }

    #[test]
    fn inotify_events_are_classified() {
        use EventKind::{Access, Create, Modify, Remove};
        let finished = [Access(AccessKind::Close(AccessMode::Write)), Modify(ModifyKind::Name(RenameMode::To))];
        for kind in finished {
            assert_eq!(Change::of(kind), Change::Finished, "{kind:?}");
        }
        let parts = [
            Modify(ModifyKind::Data(DataChange::Any)),
            Modify(ModifyKind::Metadata(MetadataKind::Any)),
            Modify(ModifyKind::Name(RenameMode::From)),
            Modify(ModifyKind::Name(RenameMode::Both)),
            Modify(ModifyKind::Any),
            Create(CreateKind::File),
            Remove(RemoveKind::File),
        ];
        for kind in parts {
            assert_eq!(Change::of(kind), Change::Part, "{kind:?}");
        }
        let reads = [
            Access(AccessKind::Open(AccessMode::Any)),
            Access(AccessKind::Close(AccessMode::Read)),
            Access(AccessKind::Read),
        ];
        for kind in reads {
            assert_eq!(Change::of(kind), Change::None, "{kind:?}");
        }
    }
}

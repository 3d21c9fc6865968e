//! The file watcher: inotify (or the platform's own), or polling.

use std::path::Path;
use std::time::Duration;

use notify::{PollWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::WatchOptions;
use super::report::{Event, Reporter};
use crate::watch::error::{Result, WatchError};

pub(super) type Watcher = Box<dyn notify::Watcher>;

/// inotify (or the platform's watcher), falling back to polling when the
/// system's watch limit is reached; polling when asked.
pub(super) fn start_watcher(
    root: &Path,
    options: &WatchOptions,
    events: mpsc::UnboundedSender<notify::Result<notify::Event>>,
    reporter: &Reporter,
) -> Result<(Watcher, bool)> {
    let handler = {
        let events = events.clone();
        move |event| {
            let _ = events.send(event);
        }
    };
    if !options.poll {
        let started = notify::recommended_watcher(handler).and_then(|mut watcher| {
            watcher.watch(root, RecursiveMode::Recursive)?;
            Ok(watcher)
        });
        match started {
            Ok(watcher) => return Ok((Box::new(watcher), false)),
            Err(e) if is_watch_limit(&e) => reporter.emit(&Event::Notice {
                message: "too many files for inotify (the limit is fs.inotify.max_user_watches; raise it with \
                          `sudo sysctl fs.inotify.max_user_watches=524288`); polling instead"
                    .into(),
            }),
            Err(e) => return Err(WatchError::Watcher(e.to_string())),
        }
    }
    let config = notify::Config::default().with_poll_interval(Duration::from_millis(300));
    let handler = move |event| {
        let _ = events.send(event);
    };
    let mut watcher = PollWatcher::new(handler, config).map_err(|e| WatchError::Watcher(e.to_string()))?;
    watcher.watch(root, RecursiveMode::Recursive).map_err(|e| WatchError::Watcher(e.to_string()))?;
    Ok((Box::new(watcher), true))
}

fn is_watch_limit(error: &notify::Error) -> bool {
    matches!(error.kind, notify::ErrorKind::MaxFilesWatch)
        || matches!(&error.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(28))
}

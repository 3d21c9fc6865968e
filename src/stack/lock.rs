//! One `up` or `down` of a project at a time on this machine.

use crate::error::IoError;

/// An exclusive lock on a project for commands that change it, so two
/// `dmp up` at once take turns instead of racing (the second then finds
/// nothing to do). Released when dropped.
#[derive(Debug)]
pub struct ProjectLock {
    _file: std::fs::File,
}

impl ProjectLock {
    /// Waits for the lock, saying so once when another dmp holds it.
    pub async fn acquire(project: &str) -> Result<Self, IoError> {
        let dir = std::env::temp_dir().join("dmp-locks");
        std::fs::create_dir_all(&dir).map_err(IoError::at("create the lock directory", &dir))?;
        // Shared by every user of the Engine on this machine.
        let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777));
        let path = dir.join(format!("{project}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(IoError::at("open the project lock", &path))?;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !said {
                        eprintln!("waiting for another dmp working on {project}");
                        said = true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(IoError::at("lock", &path)(e)),
            }
        }
    }
}

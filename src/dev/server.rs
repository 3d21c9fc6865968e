//! The app's dev server: started by an exec in the app container, after the
//! migrations, and waited for until the app answers through nginx.

use std::time::{Duration, Instant};

use bollard::Docker;

use super::{app_service, migrate, migrate_command, running_container};
use crate::compose::Project;
use crate::dev::error::Result;
use crate::stack::StackError;
use crate::stack::exec;
use crate::stack::wait;

/// The dev server command: `x-dmp.start`, else uWSGI reloading on changes.
pub fn start_command(project: &Project) -> Vec<String> {
    project.dmp.start.clone().unwrap_or_else(|| ["dmp-wsgi", "--py-autoreload", "1"].map(str::to_owned).to_vec())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The server was already running.
    Already,
    Now,
}

/// What the supervisor writes to the container's log when the server exits.
const EXITED: &str = "dmp: the dev server exited with status";

/// The dev server under a small supervisor: when it exits (a crash, an
/// import error uWSGI cannot load), it is started again a second later, and
/// the exit is noted in the container's log. So a crashed dev server comes
/// back by itself, as run-dev's server did not.
pub fn supervised(command: &[String]) -> Vec<String> {
    let script = format!(
        "while :; do {}; echo \"{EXITED} $?; starting it again in 1 s\" >&2; sleep 1; done",
        shell_words::join(command)
    );
    vec!["sh".into(), "-c".into(), script]
}

/// Whether the supervised dev server runs in `container`.
pub async fn running(docker: &Docker, project: &Project, container: &str) -> Result<bool> {
    Ok(exec::spawned_running(docker, container, &supervised(&start_command(project))).await?)
}

/// Where dmp remembers that `dmp start` started a project's dev server, so
/// a recreated or restarted app container gets it again (as with
/// `AUTO_START_SERVER=true`); `dmp down` forgets it.
fn marker(project: &Project) -> std::path::PathBuf {
    std::env::temp_dir().join("dmp-state").join(format!("{}.dev-server", project.name))
}

/// Whether the dev server belongs in the app container: `AUTO_START_SERVER`
/// is true, or `dmp start` put it there.
pub fn wanted(project: &Project) -> bool {
    project.dmp.start.is_some() && (project.dmp.auto_start_server || marker(project).exists())
}

/// `dmp down`: the dev server is no longer wanted.
pub fn forget(project_name: &str) {
    let _ = std::fs::remove_file(std::env::temp_dir().join("dmp-state").join(format!("{project_name}.dev-server")));
}

fn remember(project: &Project) {
    let path = marker(project);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777));
    }
    let _ = std::fs::write(path, b"");
}

/// Migrate (when the app has migrations), then start the dev server in the
/// app container (unless it runs already), then wait until the app answers
/// through nginx. Returns the URL.
pub async fn start(docker: &Docker, project: &Project, timeout: Duration) -> Result<(Started, Option<String>)> {
    let service = app_service(project)?;
    let container = running_container(docker, project, &service).await?;
    let command = start_command(project);
    let deadline = Instant::now() + timeout;
    let all: Vec<_> = project.services.values().collect();
    remember(project);
    if running(docker, project, &container).await? {
        let url = wait::wait_http(docker, project, &all, deadline).await?;
        return Ok((Started::Already, url));
    }
    // An app without migrations (a plain Flask app) just starts.
    if migrate_command(project).is_ok() {
        migrate(docker, project, &container).await?;
    }
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    exec::spawn(docker, &container, &supervised(&command)).await?;
    // The server exiting while we wait ends the wait at once (the
    // supervisor keeps starting it again meanwhile).
    let server = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if wait::last_logs_since(docker, &container, since).await.iter().any(|l| l.contains(EXITED)) {
                return;
            }
        }
    };
    tokio::select! {
        url = wait::wait_http(docker, project, &all, deadline) => Ok((Started::Now, url?)),
        () = server => Err(StackError::ServiceFailed {
            service,
            container: container.clone(),
            reason: format!(
                "stopped its dev server (`{}`) while starting; dmp starts it again every second until it runs",
                shell_words::join(&command)
            ),
            logs: wait::last_logs(docker, &container).await,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dev_server_is_started_again_when_it_exits() {
        let command = ["dmp-wsgi".to_owned(), "--py-autoreload".to_owned(), "1".to_owned()];
        let supervised = super::supervised(&command);
        assert_eq!(supervised[..2], ["sh", "-c"]);
        assert!(supervised[2].starts_with("while :; do dmp-wsgi --py-autoreload 1; echo "), "{}", supervised[2]);
        assert!(supervised[2].ends_with("sleep 1; done"), "{}", supervised[2]);
    }
}

//! The app's dev server: started by an exec in the app container, after the
//! migrations, and waited for until the app answers through nginx.

use std::time::{Duration, Instant};

use bollard::Docker;

use super::{app_service, migrate, migrate_command, running_container};
use crate::compose::Project;
use crate::dev::error::Result;
use crate::stack::StackError;
use crate::stack::exec;
use crate::stack::{http, wait};

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

/// Held by the one supervisor of a container (`flock`), so two dmp
/// processes starting the server at once (`dmp dev` seeing a restart while
/// `dmp restart` starts it) leave one server. A container's processes and
/// so its lock end with it.
const LOCK: &str = "/tmp/.dmp-dev-server.lock";

/// The dev server under a small supervisor: when it exits (a crash, an
/// import error uWSGI cannot load), it is started again a second later, and
/// the exit is noted in the container's log. So a crashed dev server comes
/// back by itself, as run-dev's server did not. A second supervisor in the
/// same container ends at once (an image without `flock` has no such guard).
pub fn supervised(command: &[String]) -> Vec<String> {
    let script = format!(
        "{{ [ -e {LOCK} ] || : > {LOCK}; }} 2>/dev/null; \
         if command -v flock >/dev/null && [ -r {LOCK} ]; then exec 9< {LOCK}; flock -n 9 || exit 0; fi; \
         while :; do {}; echo \"{EXITED} $?; starting it again in 1 s\" >&2; sleep 1; done",
        shell_words::join(command)
    );
    vec!["sh".into(), "-c".into(), script]
}

/// The supervisor's script, kept in the app container's writable layer: the
/// dmp/wsgi images' entrypoint (`dmp-entrypoint`) runs it on every start of
/// the container, so a container started again without dmp (a restart
/// policy after an Engine restart or a crash, `docker restart`) serves again.
const KEPT: &str = "/tmp/.dmp-dev-server";

/// What `start` runs: keeps the supervisor's script (for the entrypoint),
/// then runs it.
fn launched(command: &[String]) -> Vec<String> {
    let script = supervised(command).pop().unwrap_or_default();
    let keep_then_run = format!("printf '%s\\n' \"$0\" > {KEPT} 2>/dev/null; exec sh -c \"$0\"");
    vec!["sh".into(), "-c".into(), keep_then_run, script]
}

/// Whether the supervised dev server runs in `container`: an exec of
/// `start` still running (one inspect per exec), else a process of the
/// supervisor the image's entrypoint started, in the container's process
/// list (GET /top: ~15 ms, the Engine runs `ps`).
pub async fn running(docker: &Docker, project: &Project, container: &str) -> Result<bool> {
    if exec::spawned_running(docker, container, &launched(&start_command(project))).await? {
        return Ok(true);
    }
    let top = Box::pin(docker.top_processes(container, None::<bollard::query_parameters::TopOptions>)).await;
    let Ok(top) = top else { return Ok(false) };
    let titles = top.titles.unwrap_or_default();
    let Some(column) = titles.iter().position(|t| t == "CMD" || t == "COMMAND") else { return Ok(false) };
    Ok(top.processes.unwrap_or_default().iter().any(|p| p.get(column).is_some_and(|c| is_supervisor(c))))
}

/// Whether a process's command line is the supervisor's: its lock (started
/// by `start`) or its kept script (started by the entrypoint).
fn is_supervisor(command_line: &str) -> bool {
    command_line.contains(LOCK) || command_line.ends_with(&format!("sh {KEPT}"))
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
        let url = http::wait_http(docker, project, &all, deadline).await?;
        return Ok((Started::Already, url));
    }
    // An app without migrations (a plain Flask app) just starts.
    if migrate_command(project).is_ok() {
        migrate(docker, project, &container).await?;
    }
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    exec::spawn(docker, &container, &launched(&command)).await?;
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
        url = http::wait_http(docker, project, &all, deadline) => Ok((Started::Now, url?)),
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

/// While `dmp dev` runs: when the app container is started again (the same
/// container: an Engine restart with a restart policy, `docker restart`, a
/// `dmp up` after the Engine came back) and the dev server is wanted but
/// does not run a few seconds later (the dmp/wsgi entrypoint starts it: an
/// image without it, or an `entrypoint:` of the stack's), starts it (without migrations: they
/// ran when the container was first started) and tells `say`. Never ends.
pub async fn keep(docker: &Docker, project: &Project, say: impl Fn(String)) {
    let Ok(service) = app_service(project) else { return std::future::pending().await };
    let container = crate::stack::container_name(project, &service);
    // The container's id and when it last started, while it runs.
    let mut last: Option<(String, String)> = None;
    loop {
        if let Some(now) = started(docker, &container).await {
            let restarted = last.as_ref().is_some_and(|(id, at)| *id == now.0 && *at != now.1);
            last = Some(now);
            if restarted && wanted(project) {
                // The command that restarted it may be starting the server itself.
                tokio::time::sleep(Duration::from_secs(3)).await;
                if !running(docker, project, &container).await.unwrap_or(true) {
                    say(format!("dmp: {container} started again without its dev server: starting it"));
                    if let Err(e) = exec::spawn(docker, &container, &launched(&start_command(project))).await {
                        say(format!("dmp: could not start the dev server in {container}: {e}"));
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The id of `container` and when it last started, if it runs.
async fn started(docker: &Docker, container: &str) -> Option<(String, String)> {
    let inspect =
        docker.inspect_container(container, None::<bollard::query_parameters::InspectContainerOptions>).await.ok()?;
    let state = inspect.state?;
    (state.running == Some(true)).then(|| (inspect.id.unwrap_or_default(), state.started_at.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dev_server_is_started_again_when_it_exits() {
        let command = ["dmp-wsgi".to_owned(), "--py-autoreload".to_owned(), "1".to_owned()];
        let supervised = super::supervised(&command);
        assert_eq!(supervised[..2], ["sh", "-c"]);
        assert!(supervised[2].contains("; while :; do dmp-wsgi --py-autoreload 1; echo "), "{}", supervised[2]);
        assert!(supervised[2].contains("flock -n 9 || exit 0"), "{}", supervised[2]);
        assert!(supervised[2].ends_with("sleep 1; done"), "{}", supervised[2]);
    }

    #[test]
    fn start_keeps_the_supervisor_for_the_entrypoint_then_runs_it() {
        let command = ["dmp-wsgi".to_owned()];
        let launched = super::launched(&command);
        assert_eq!(launched[..2], ["sh", "-c"]);
        assert_eq!(launched[2], r#"printf '%s\n' "$0" > /tmp/.dmp-dev-server 2>/dev/null; exec sh -c "$0""#);
        assert_eq!(launched[3], super::supervised(&command)[2]);
    }

    #[test]
    fn the_supervisor_is_known_by_its_lock_or_its_kept_script() {
        let started_by_dmp = shell_words::join(super::supervised(&["dmp-wsgi".to_owned()]));
        assert!(super::is_supervisor(&started_by_dmp));
        assert!(super::is_supervisor("sh /tmp/.dmp-dev-server"));
        assert!(!super::is_supervisor("uwsgi --plugin python3"));
        assert!(!super::is_supervisor("/bin/bash /usr/local/bin/dmp-idle"));
    }
}

//! The app's dev server: started by an exec in the app container, after the
//! migrations, and waited for until the app answers through nginx.

use std::time::{Duration, Instant};

use bollard::Docker;

use super::{app_service, migrate, running_container};
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

/// Migrate, then start the dev server in the app container (unless it runs
/// already), then wait until the app answers through nginx. Returns the URL.
pub async fn start(docker: &Docker, project: &Project, timeout: Duration) -> Result<(Started, Option<String>)> {
    let service = app_service(project)?;
    let container = running_container(docker, project, &service).await?;
    let command = start_command(project);
    let deadline = Instant::now() + timeout;
    let all: Vec<_> = project.services.values().collect();
    if exec::spawned_running(docker, &container, &command).await? {
        let url = wait::wait_http(docker, project, &all, deadline).await?;
        return Ok((Started::Already, url));
    }
    migrate(docker, project, &container).await?;
    exec::spawn(docker, &container, &command).await?;
    // The server dying while we wait ends the wait at once.
    let server = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            match exec::spawned_running(docker, &container, &command).await {
                Ok(true) => {}
                _ => return,
            }
        }
    };
    tokio::select! {
        url = wait::wait_http(docker, project, &all, deadline) => Ok((Started::Now, url?)),
        () = server => Err(StackError::ServiceFailed {
            service,
            container: container.clone(),
            reason: format!("stopped its dev server (`{}`) while starting", shell_words::join(&command)),
            logs: wait::last_logs(docker, &container).await,
        }
        .into()),
    }
}

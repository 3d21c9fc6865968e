//! The run-dev workflow on a running stack: `up` with its run-dev steps,
//! the app container, migrations, the dev server, and the assets' first
//! build. Built on `stack`, which never calls back up here.

mod assets;
mod error;
mod migrate;
mod server;

use std::time::Instant;

use bollard::Docker;

pub use assets::build_assets;
pub use migrate::{migrate, migrate_command};
pub use server::{Started, forget, keep, running, start, start_command, wanted};

pub use error::DevError;

use crate::compose::Project;
use crate::stack::up::{UpOptions, UpReport};
use crate::stack::{self, StackError, http, plan};
use crate::ui::Progress;
use error::Result;

/// `dmp up`: converge the stack (`stack::up`), then, unless `--no-wait`,
/// run-dev's steps: the assets' first build, the app's dev server when
/// `AUTO_START_SERVER` is true, and the wait until the app answers HTTP.
pub async fn up(docker: &Docker, project: &Project, options: &UpOptions, progress: &Progress) -> Result<UpReport> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let selected = plan::select(project, &options.services)?;
    // Asked while `up` looks: when it then changes nothing, this answer is
    // the HTTP wait (a no-op `up` saves a round trip through the stack).
    let answers = async { if options.wait { http::answers_now(project, &selected).await } else { None } };
    let (report, answered) = futures_util::join!(stack::up::up(docker, project, options, progress), answers);
    let mut report = report?;
    let unchanged = report.services.iter().all(|s| s.action == stack::up::Action::Unchanged);
    if options.wait {
        let rules_selected = project.dmp.watch.iter().all(|r| selected.iter().any(|s| s.name == r.service));
        if !project.dmp.watch.is_empty() && rules_selected {
            build_assets(docker, project, progress).await?;
        }
        let app = project.dmp.app.as_deref().filter(|a| selected.iter().any(|s| s.name == *a));
        report.url = match app {
            // The app's server is started by `start` (run-dev's behaviour).
            Some(_) if server::wanted(project) => {
                start(docker, project, deadline.saturating_duration_since(Instant::now())).await?.1
            }
            Some(app) if project.dmp.start.is_some() => {
                report.hint = Some(format!(
                    "the {app} container idles (AUTO_START_SERVER is not true): `dmp start` migrates and starts the server, `dmp sh` opens a shell"
                ));
                None
            }
            _ if unchanged && answered.is_some() => answered,
            _ => http::wait_http(docker, project, &selected, deadline).await?,
        };
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The app service: `x-dmp.app`, else the only service, else an error.
pub fn app_service(project: &Project) -> Result<String> {
    if let Some(app) = &project.dmp.app {
        return Ok(app.clone());
    }
    match project.services.keys().collect::<Vec<_>>().as_slice() {
        [only] => Ok((*only).clone()),
        _ => Err(DevError::Stack(StackError::NotConfigured {
            what: "which service is the app".into(),
            fix: "set `x-dmp: { app: SERVICE }` in the stack file".into(),
        })),
    }
}

/// The running container of `service`, or an error naming `dmp up`.
pub async fn running_container(docker: &Docker, project: &Project, service: &str) -> Result<String> {
    let selected = plan::select(project, &[service.to_owned()])?;
    let containers = stack::containers(docker, project, &selected).await?;
    match containers.iter().find(|c| c.service == service) {
        Some(c) if c.running() => Ok(c.name.clone()),
        _ => Err(StackError::NotUp { service: service.to_owned() }.into()),
    }
}

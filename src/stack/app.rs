//! The run-dev workflow on a running stack: the app container, migrations,
//! the dev server, and the assets' first build.

use std::time::{Duration, Instant};

use bollard::Docker;

use super::exec::{self, Attach};
use super::{container_name, converge};
use crate::compose::Project;
use crate::error::{Error, Result};
use crate::ui::Progress;

/// The app service: `x-dmp.app`, else the only service, else an error.
pub fn app_service(project: &Project) -> Result<String> {
    if let Some(app) = &project.dmp.app {
        return Ok(app.clone());
    }
    match project.services.keys().collect::<Vec<_>>().as_slice() {
        [only] => Ok((*only).clone()),
        _ => Err(Error::NotConfigured {
            what: "which service is the app".into(),
            fix: "set `x-dmp: { app: SERVICE }` in the stack file".into(),
        }),
    }
}

/// The running container of `service`, or an error naming `dmp up`.
pub async fn running_container(docker: &Docker, project: &Project, service: &str) -> Result<String> {
    converge::select(project, &[service.to_owned()])?;
    let containers = super::containers(docker, &project.name).await?;
    match containers.iter().find(|c| c.service == service) {
        Some(c) if c.running() => Ok(c.name.clone()),
        _ => Err(Error::NotUp { service: service.to_owned() }),
    }
}

/// The migrate command: `x-dmp.migrate`, else Django's when there is a
/// manage.py.
pub fn migrate_command(project: &Project) -> Result<Vec<String>> {
    if let Some(command) = &project.dmp.migrate {
        return Ok(command.clone());
    }
    if project.dir.join("manage.py").is_file() {
        return Ok(["python3", "manage.py", "migrate", "--noinput"].map(str::to_owned).to_vec());
    }
    Err(Error::NotConfigured {
        what: "how to run migrations".into(),
        fix: "set `x-dmp: { migrate: COMMAND }` in the stack file".into(),
    })
}

/// The dev server command: `x-dmp.start`, else uWSGI reloading on changes.
pub fn start_command(project: &Project) -> Vec<String> {
    project.dmp.start.clone().unwrap_or_else(|| ["dmp-wsgi", "--py-autoreload", "1"].map(str::to_owned).to_vec())
}

/// Runs the migrations in the app container as a step of `start`, their
/// output streamed to stderr; an error unless they succeed.
pub async fn migrate(docker: &Docker, project: &Project, container: &str) -> Result<()> {
    let command = migrate_command(project)?;
    let code = exec::run(docker, container, command.clone(), Attach::Log, None).await?;
    if code == 0 {
        Ok(())
    } else {
        Err(Error::CommandFailed { command: shell_words::join(&command), container: container.to_owned(), code })
    }
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
        let url = converge::wait_http(docker, project, &all, deadline).await?;
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
        url = converge::wait_http(docker, project, &all, deadline) => Ok((Started::Now, url?)),
        () = server => Err(Error::ServiceFailed {
            service,
            container: container.clone(),
            reason: format!("stopped its dev server (`{}`) while starting", shell_words::join(&command)),
            logs: super::wait::last_logs(docker, &container).await,
        }),
    }
}

/// The assets' first build, so the output matches the sources: `npm ci`
/// when package-lock.json changed since the last install, then each watch
/// rule once, in the rule's service.
pub async fn build_assets(docker: &Docker, project: &Project, progress: &Progress) -> Result<()> {
    let lock = project.dir.join("package-lock.json");
    let rule_services: std::collections::BTreeSet<&str> =
        project.dmp.watch.iter().map(|r| r.service.as_str()).collect();
    if let (Ok(lock_text), Some(service)) = (std::fs::read(&lock), rule_services.iter().next()) {
        let hash = super::spec::sha256_hex(&lock_text);
        let marker = project.dir.join("node_modules/.dmp-package-lock.sha256");
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(hash.as_str()) {
            let container = container_name(&project.name, service);
            let mut task = progress.task("npm ci");
            task.announce("installing node_modules (package-lock.json changed)");
            let script = format!(
                "npm ci --no-audit --no-fund && mkdir -p node_modules && echo -n {hash} > node_modules/.dmp-package-lock.sha256"
            );
            let (code, output) = exec::capture(docker, &container, vec!["sh".into(), "-c".into(), script]).await?;
            if code != 0 {
                task.finish(false, "failed");
                return Err(Error::AssetBuild { rule: "npm ci".into(), code, output });
            }
            task.finish(true, "installed");
        }
    }
    let builds = project.dmp.watch.iter().map(|rule| async move {
        let mut task = progress.task(&rule.name);
        task.announce(&format!("building: {}", rule.command));
        let container = container_name(&project.name, &rule.service);
        let started = Instant::now();
        let result = exec::capture(docker, &container, vec!["sh".into(), "-c".into(), rule.command.clone()]).await;
        match result {
            Ok((0, _)) => {
                task.finish(true, &format!("built in {:.2} s", started.elapsed().as_secs_f64()));
                Ok(())
            }
            Ok((code, output)) => {
                task.finish(false, "failed");
                Err(Error::AssetBuild { rule: rule.name.clone(), code, output })
            }
            Err(e) => Err(e.into()),
        }
    });
    for result in futures_util::future::join_all(builds).await {
        result?;
    }
    Ok(())
}

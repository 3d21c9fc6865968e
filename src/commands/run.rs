//! `dmp run SERVICE [CMD...]`: a one-off container of a service, labelled
//! as Compose labels it (`com.docker.compose.oneoff=True`), on the
//! project's networks with the service's mounts and environment, its ports
//! unpublished unless `--service-ports`; removed with `--rm`. And `dmp
//! create`: the services' containers, not started.

use std::process::ExitCode;
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, RemoveContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures_util::StreamExt as _;

use super::{Context, Interrupt, exec as exec_command};
use crate::cli::{CreateArgs, RunArgs};
use crate::compose::Project;
use crate::compose::model::Service;
use crate::engine::{EngineError, Request as _};
use crate::error::Result;
use crate::stack::exec::{Attach, RawMode, pump};
use crate::stack::journal::Journal;
use crate::stack::labels::{self, Made};
use crate::stack::plan::Action;
use crate::stack::up::UpOptions;
use crate::stack::{self, ProjectContainer, apply, plan, provision, spec};
use crate::ui::Progress;

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

/// Compose's label with a one-off container's full ID.
const LABEL_SLUG: &str = "com.docker.compose.slug";

pub async fn run(args: &RunArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let docker = ctx.docker().await?;
    let service = plan::select(project, std::slice::from_ref(&args.service))?
        .into_iter()
        .find(|s| s.name == args.service)
        .expect("select keeps the named service");
    let names: Vec<String> = project.services.keys().cloned().collect();
    let progress = Progress::new(ctx.mode, &names);
    if !args.no_deps && !service.depends_on.is_empty() {
        let options = UpOptions {
            services: service.depends_on.keys().cloned().collect(),
            wait: true,
            timeout: Duration::from_secs(180),
            ..UpOptions::default()
        };
        stack::up::up(docker, project, &options, &progress).await?;
    }
    let image_ids = provision::ensure_images(docker, project, &[service], false, &progress).await?;
    provision::ensure_networks_and_volumes(docker, project, &[service], &Journal::default()).await?;
    drop(progress);
    let image_id = image_ids.get(&service.name).cloned().unwrap_or_default();

    let host = spec::host_user(&project.dir);
    let service = spec::for_host_user(service, host);
    let slug = slug();
    let name = args.name.clone().unwrap_or_else(|| oneoff_name(&project.name, &service.name, &slug));
    let attach = exec_command::attach(args.no_tty);
    let made = Made { hash: "", image_id: &image_id, number: 1 };
    let mut body = oneoff_body(project, &service, made, args, &slug, attach);
    if host == Some((0, 0)) && matches!(service, std::borrow::Cow::Owned(_)) {
        apply::drop_capabilities(&mut body);
    }
    apply::create(docker, project, &service, &name, body).await?;

    if args.detach {
        apply::start(docker, &name).await?;
        println!("{name}");
        return Ok(ExitCode::SUCCESS);
    }
    let code = attached(docker, &name, attach).await;
    if args.rm {
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        docker.remove_container(&name, Some(options)).named(format_args!("remove container {name}")).await?;
    }
    exec_command::exit_code(code?, &name)
}

/// `PROJECT-SERVICE-run-SLUG`, as Compose names one-off containers.
pub fn oneoff_name(project: &str, service: &str, slug: &str) -> String {
    format!("{project}-{service}-run-{}", &slug[..12.min(slug.len())])
}

/// 64 hex digits, unique enough for a container name.
fn slug() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    spec::sha256_hex(format!("{}-{}", now.as_nanos(), std::process::id()).as_bytes())
}

/// The service's container settings, made one-off: Compose's labels, the
/// command, user, directory and environment of the command line, no
/// published ports (unless `--service-ports`), no restart policy, and a
/// TTY and stdin as attached.
fn oneoff_body(
    project: &Project,
    service: &Service,
    made: Made<'_>,
    args: &RunArgs,
    slug: &str,
    attach: Attach,
) -> ContainerCreateBody {
    let mut body = spec::container_body(project, service, made);
    let marks = body.labels.get_or_insert_with(Default::default);
    marks.insert(labels::compose::ONEOFF.into(), "True".into());
    marks.insert(labels::compose::PROJECT.into(), project.name.clone());
    marks.insert(labels::compose::SERVICE.into(), service.name.clone());
    marks.insert(LABEL_SLUG.into(), slug.into());
    if !args.command.is_empty() {
        body.cmd = Some(args.command.clone());
    }
    if let Some(entrypoint) = &args.entrypoint {
        body.entrypoint = Some(shell_words::split(entrypoint).unwrap_or_else(|_| vec![entrypoint.clone()]));
        if args.command.is_empty() {
            body.cmd = None;
        }
    }
    if args.user.is_some() {
        body.user.clone_from(&args.user);
    }
    if args.workdir.is_some() {
        body.working_dir.clone_from(&args.workdir);
    }
    body.env.get_or_insert_with(Vec::new).extend(args.env.iter().cloned());
    let tty = attach == Attach::Terminal;
    body.tty = Some(tty);
    body.open_stdin = Some(!args.detach);
    body.stdin_once = Some(!args.detach);
    body.attach_stdin = Some(!args.detach);
    body.attach_stdout = Some(!args.detach);
    body.attach_stderr = Some(!args.detach);
    if let Some(host) = body.host_config.as_mut() {
        host.restart_policy = None;
        if !args.service_ports {
            host.port_bindings = None;
        }
    }
    // The one-off container answers to its own name only, not the service's.
    if let Some(endpoints) = body.networking_config.as_mut().and_then(|n| n.endpoints_config.as_mut()) {
        for endpoint in endpoints.values_mut() {
            endpoint.aliases = None;
        }
    }
    body
}

/// Attaches to `name`, starts it, passes its output (and dmp's stdin)
/// through until it ends, and returns its exit code.
async fn attached(docker: &Docker, name: &str, attach: Attach) -> Result<Option<i64>, EngineError> {
    let options = AttachContainerOptionsBuilder::default().stream(true).stdin(true).stdout(true).stderr(true).build();
    let attached =
        docker.attach_container(name, Some(options)).named(format_args!("attach to container {name}")).await?;
    apply::start(docker, name).await?;
    let tty = attach == Attach::Terminal;
    let _raw = if tty { RawMode::enable() } else { None };
    let resize = || async {
        if let Ok((width, height)) = crossterm::terminal::size() {
            let options = ResizeContainerTTYOptionsBuilder::default().w(i32::from(width)).h(i32::from(height)).build();
            let _ = docker.resize_container_tty(name, options).await;
        }
    };
    if tty {
        resize().await;
    }
    pump(attached.output, attached.input, attach, resize)
        .await
        .map_err(|e| EngineError::request(format!("the output of container {name}"), e))?;
    let options = WaitContainerOptionsBuilder::default().condition("not-running").build();
    let mut wait = docker.wait_container(name, Some(options));
    match wait.next().await {
        Some(Ok(response)) => Ok(Some(response.status_code)),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(Some(code)),
        Some(Err(e)) => Err(EngineError::request(format!("wait for container {name}"), e)),
        None => Ok(None),
    }
}

/// `dmp create`: the selected services' containers, created (with their
/// images, networks and volumes) and not started, as `docker compose
/// create`: a container whose configuration or image changed is replaced
/// by a new one (stopped), unless `--no-recreate`; `--force-recreate`
/// replaces every one. The decision is `up`'s (`plan::decide`).
pub async fn create(args: &CreateArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let docker = ctx.docker().await?;
    let selected = plan::select(project, &args.services)?;
    let _lock = stack::ProjectLock::acquire(&project.name).await?;
    let existing = stack::containers(docker, project, &selected).await?;
    let names: Vec<String> = selected.iter().map(|s| s.name.clone()).collect();
    let progress = Progress::new(ctx.mode, &names);
    let image_ids = provision::ensure_images(docker, project, &selected, args.build, &progress).await?;
    provision::ensure_networks_and_volumes(docker, project, &selected, &Journal::default()).await?;
    let host = spec::host_user(&project.dir);
    let bundle = crate::ca::host_bundle();
    let dir = project.dir.to_string_lossy();
    let (mut created, mut recreated) = (0, 0);
    for service in &selected {
        let mapped = spec::for_host_user(service, host);
        let without_capabilities = host == Some((0, 0)) && matches!(mapped, std::borrow::Cow::Owned(_));
        // As `up` runs it, so that `up` after `create` finds the hash it wants.
        let runs = crate::ca::for_container(mapped, bundle.as_deref());
        let image_id = &image_ids[&service.name];
        let hash = spec::config_hash(&runs, image_id, spec::HASH_VERSION).unwrap_or_default();
        let of_service: Vec<ProjectContainer> =
            existing.iter().filter(|c| c.service == service.name).cloned().collect();
        let replicas = stack::replica_names(project, service);
        // As Compose: the flags are for the services asked for; their
        // dependencies are recreated when they changed.
        let asked = args.services.is_empty() || args.services.contains(&service.name);
        let (force, keep) = (args.force_recreate && asked, args.no_recreate && asked);
        for (number, name) in (1..).zip(&replicas) {
            let wanted = |version: &str| spec::config_hash(&runs, image_id, version);
            let decision = plan::decide(name, &of_service, wanted, spec::HASH_VERSION, force, &dir);
            let made = Made { hash: &hash, image_id, number };
            match decision.action {
                Action::Created => created += 1,
                Action::Recreated if !keep => {
                    tracing::debug!(target: "dmp::up", "{name}: recreated ({})", decision.why.describe());
                    apply::remove(docker, name, false).await?;
                    recreated += 1;
                }
                _ => continue,
            }
            apply::create_service(docker, project, &runs, made, without_capabilities).await?;
        }
    }
    let summary = match recreated {
        0 => super::select::plural(created, "container"),
        n => format!("{}, recreated {n}", super::select::plural(created, "container")),
    };
    progress.finish(&format!("{}: created {summary}", project.name));
    Ok(ExitCode::SUCCESS)
}

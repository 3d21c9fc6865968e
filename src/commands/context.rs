//! What every command starts from, resolved once from the arguments: the
//! project directory, the output mode, the stack (loaded on first use, its
//! warnings printed once) and the Engine connection (made on first use, so
//! commands that never reach the Engine never connect).

use std::io::Write as _;
use std::path::PathBuf;

use bollard::Docker;
use serde::Serialize;

use crate::cli::{GlobalArgs, ProjectArgs};
use crate::compose::{self, LoadOptions, Project};
use crate::engine;
use crate::error::{Error, Result};
use crate::stack::{self, ProjectContainer, plan};
use crate::ui::Mode;

#[derive(Debug)]
pub struct Context {
    /// Where the stack is looked for: `--project-directory`, else the
    /// current directory.
    pub dir: PathBuf,
    /// `--quiet`: results and errors only.
    pub quiet: bool,
    /// How progress shows, from `--quiet`, `--progress` and the terminal.
    pub mode: Mode,
    project_args: ProjectArgs,
    project: std::sync::OnceLock<Project>,
    /// The stack's problems that only stop running it (see `runnable_project`).
    deferred: std::sync::Mutex<Vec<compose::ComposeError>>,
    docker: tokio::sync::OnceCell<Docker>,
}

impl Context {
    pub fn new(project_args: &ProjectArgs, global: &GlobalArgs) -> Result<Self> {
        let cwd = std::env::current_dir().map_err(Error::io("read the current directory", "."))?;
        Ok(Self {
            dir: project_args.project_directory.as_ref().map_or_else(|| cwd.clone(), |d| cwd.join(d)),
            quiet: global.quiet,
            mode: Mode::detect(global.quiet, global.progress.requested()),
            project_args: project_args.clone(),
            project: std::sync::OnceLock::new(),
            deferred: std::sync::Mutex::new(Vec::new()),
            docker: tokio::sync::OnceCell::new(),
        })
    }

    /// Whether stack files were named with `-f`.
    pub fn has_files(&self) -> bool {
        !self.project_args.files.is_empty()
    }

    /// The stack, loaded on first use; its warnings are printed then.
    pub fn project(&self) -> Result<&Project> {
        if let Some(project) = self.project.get() {
            return Ok(project);
        }
        let options = LoadOptions {
            dir: self.dir.clone(),
            files: self.project_args.files.clone(),
            project_name: self.project_args.project_name.clone(),
            profiles: self.project_args.profiles.clone(),
        };
        let mut loaded = compose::load(&options)?;
        crate::node::pin(&mut loaded.project, &crate::image::catalogue::embedded_version()?);
        if !self.quiet {
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
        }
        if let Ok(mut deferred) = self.deferred.lock() {
            *deferred = loaded.deferred;
        }
        Ok(self.project.get_or_init(|| loaded.project))
    }

    /// The stack, to run it: as `project`, and the problems only running
    /// finds (a missing build context, a bind source that must exist) are
    /// errors. `dmp config` prints such a stack, as Compose's does.
    pub fn runnable_project(&self) -> Result<&Project> {
        let project = self.project()?;
        let first =
            self.deferred.lock().ok().and_then(|mut deferred| (!deferred.is_empty()).then(|| deferred.remove(0)));
        match first {
            Some(problem) => Err(problem.into()),
            None => Ok(project),
        }
    }

    /// The project's name: the stack's, or, with no stack file here,
    /// `-p NAME` (so `dmp -p NAME down` works anywhere, as Compose's).
    pub fn project_name(&self) -> Result<String> {
        match self.project() {
            Ok(project) => Ok(project.name.clone()),
            Err(Error::Compose(compose::ComposeError::NoFile { .. })) if !self.has_files() => self
                .project_args
                .project_name
                .clone()
                .ok_or_else(|| Error::Compose(compose::ComposeError::NoFile { dir: self.dir.clone() })),
            Err(e) => Err(e),
        }
    }

    /// The Engine, connected on first use.
    pub async fn docker(&self) -> Result<&Docker> {
        Ok(self.docker.get_or_try_init(engine::connect).await?)
    }

    /// The progress mode of a command that may print `--json` on stdout:
    /// quiet then, so nothing but the JSON is printed.
    pub fn mode_unless(&self, json: bool) -> Mode {
        if json { Mode::Quiet } else { self.mode }
    }

    /// The project's containers of `services` (all when empty); unknown
    /// service names are an error.
    pub async fn containers(&self, services: &[String]) -> Result<Vec<ProjectContainer>> {
        let project = self.project()?;
        let selected = plan::select(project, services)?;
        let docker = self.docker().await?;
        Ok(stack::containers(docker, project, &selected)
            .await?
            .into_iter()
            .filter(|c| services.is_empty() || services.contains(&c.service))
            .collect())
    }

    /// The container of `service` numbered `index` (`--index`), or the
    /// error that names both.
    pub async fn container(&self, service: &str, index: u32) -> Result<ProjectContainer> {
        let containers = self.containers(&[service.to_owned()]).await?;
        super::select::by_index(&containers, service, index)
            .cloned()
            .ok_or_else(|| super::error::CommandError::NoContainer { service: service.to_owned(), index }.into())
    }

    /// As `containers`, for commands that act on a stack that is up
    /// (`logs`, `stop`, `restart`): none at all is an error that says so,
    /// not silence and success.
    pub async fn containers_of_a_stack_that_is_up(&self, services: &[String]) -> Result<Vec<ProjectContainer>> {
        let containers = self.containers(services).await?;
        if containers.is_empty() {
            let project = self.project()?.name.clone();
            return Err(stack::StackError::Down { project, services: services.join(", ") }.into());
        }
        Ok(containers)
    }
}

/// The version of every `--json` document's shape: `schema` in each. It
/// changes only when a key is removed or changes meaning.
pub const SCHEMA: u32 = 1;

/// Prints `rows` under `header` in columns two spaces apart.
pub fn print_table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.as_ref().chars().count());
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let header: Vec<&str> = header.to_vec();
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let padded: Vec<String> = cells.zip(&widths).map(|(cell, &w)| format!("{cell:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(&mut header.iter().copied())).map_err(Error::Output)?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(AsRef::as_ref))).map_err(Error::Output)?;
    }
    Ok(())
}

/// Prints `value` as pretty JSON on stdout, the way every `--json` does.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| Error::Output(e.into()))?;
    writeln!(out).map_err(Error::Output)
}

//! `dmp doctor`: checks what dmp needs, each with the fix when it fails.

use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use super::{Context, Interrupt};
use crate::cli::DoctorArgs;
use crate::compose::load::{FILE_NAMES, read_env_file};
use crate::engine::{self, Request as _};
use crate::error::{Error, Result};
use crate::image::catalogue::Catalogue;
use crate::stack;

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

#[derive(Debug, Serialize)]
struct Check {
    #[serde(rename = "check")]
    name: &'static str,
    /// Not failed (a warning is ok: dmp works, less well).
    ok: bool,
    level: Level,
    detail: String,
    fix: Option<String>,
}

/// How a check ended: a warning leaves the exit code 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    Warning,
    Failed,
}

impl Level {
    /// The mark in front of a check's line: green, yellow and red on a
    /// terminal (`colour`), plain otherwise.
    fn mark(self, colour: bool) -> String {
        let (word, code) = match self {
            Self::Ok => ("ok", "32"),
            Self::Warning => ("warning", "33"),
            Self::Failed => ("FAILED", "31"),
        };
        let padded = format!("{word:<7}");
        if colour { format!("\x1b[{code}m{word}\x1b[0m{}", &padded[word.len()..]) } else { padded }
    }
}

fn pass(check: &'static str, detail: impl Into<String>) -> Check {
    Check { name: check, ok: true, level: Level::Ok, detail: detail.into(), fix: None }
}

fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check { name: check, ok: true, level: Level::Warning, detail: detail.into(), fix: Some(fix.into()) }
}

fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check { name: check, ok: false, level: Level::Failed, detail: detail.into(), fix: Some(fix.into()) }
}

/// Colour on stdout: a terminal, and `NO_COLOR` unset or empty.
fn colour() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Below this, a `node_modules` tree can exhaust inotify.
const MIN_INOTIFY_WATCHES: u64 = 65_536;
/// Below this, image builds and volumes may run out of room.
const MIN_FREE_GB: u64 = 5;

pub async fn run(args: &DoctorArgs, ctx: &Context) -> Result<ExitCode> {
    let mut checks = Vec::new();
    let docker = match ctx.docker().await {
        Ok(docker) => {
            let version = docker.version().named("version").await?;
            checks.push(pass(
                "engine",
                format!(
                    "Docker Engine {} (API {}) at {}",
                    version.version.unwrap_or_default(),
                    version.api_version.unwrap_or_default(),
                    engine::address()
                ),
            ));
            Some(docker)
        }
        Err(e) => {
            let fix = miette::Diagnostic::help(&e).map(|h| h.to_string()).unwrap_or_default();
            checks.push(fail("engine", e.to_string(), fix));
            None
        }
    };

    if let Some(docker) = &docker {
        let catalogue = Catalogue::embedded()?;
        let mut missing = Vec::new();
        for image in &catalogue.images {
            if docker.inspect_image(&catalogue.tag(&image.name)).timed("inspect image").await.is_err() {
                missing.push(catalogue.tag(&image.name));
            }
        }
        checks.push(if missing.is_empty() {
            pass("base images", format!("all {} at version {}", catalogue.images.len(), catalogue.version))
        } else {
            fail(
                "base images",
                format!("missing: {}", missing.join(", ")),
                "dmp images build (dmp up builds what a stack needs)",
            )
        });
        checks.push(disk_space(docker).await);
    }

    let dir = &ctx.dir;
    let has_stack = ctx.has_files() || dir.ancestors().any(|d| FILE_NAMES.iter().any(|n| d.join(n).is_file()));
    if has_stack {
        match ctx.project() {
            Ok(project) => {
                checks.push(pass(
                    "stack file",
                    format!("project {} with {} services", project.name, project.services.len()),
                ));
                if let Some(docker) = &docker {
                    checks.push(ports(docker, project).await?);
                }
                checks.push(env_file(&project.dir)?);
            }
            Err(e) => {
                let fix =
                    miette::Diagnostic::help(&e).map_or_else(|| "fix the stack file".to_owned(), |h| h.to_string());
                checks.push(fail("stack file", e.to_string(), fix));
            }
        }
    } else {
        checks.push(pass("stack file", format!("none in {} (stack checks skipped)", dir.display())));
    }
    checks.push(inotify());

    if args.json {
        let ok = checks.iter().all(|c| c.ok);
        super::print_json(&serde_json::json!({ "schema": super::SCHEMA, "ok": ok, "checks": checks }))?;
    } else {
        let colour = colour();
        let mut out = std::io::stdout().lock();
        for check in &checks {
            writeln!(out, "{} {:<12} {}", check.level.mark(colour), check.name, check.detail).map_err(Error::Output)?;
            if let Some(fix) = &check.fix {
                writeln!(out, "{:<8}{:<12} fix: {fix}", "", "").map_err(Error::Output)?;
            }
        }
    }
    Ok(if checks.iter().all(|c| c.ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Every fixed host port of the stack is free, or held by the project itself.
async fn ports(docker: &bollard::Docker, project: &crate::compose::Project) -> Result<Check> {
    let ours = stack::list_containers(docker, &project.name).await?;
    let services: Vec<&crate::compose::model::Service> = project.services.values().collect();
    let count = services.iter().flat_map(|s| &s.ports).filter(|p| p.protocol == "tcp" && p.published.is_some()).count();
    let taken: Vec<String> = stack::ports::ports_to_check(&services, &ours)
        .into_iter()
        .filter_map(|(service, port)| {
            let published = port.published?;
            stack::ports::port_free(&port.host_ip, published)
                .is_err()
                .then(|| format!("{}:{published} (service {})", port.host_ip, service.name))
        })
        .collect();
    Ok(if taken.is_empty() {
        pass("ports", format!("{count} fixed host ports free or already the stack's"))
    } else {
        fail(
            "ports",
            format!("in use: {}", taken.join(", ")),
            "stop what listens there (`ss -ltnp` shows it), or change the ports in the stack file or .env",
        )
    })
}

/// `.env` exists when there is a `.env.example`, and has all its keys.
fn env_file(dir: &std::path::Path) -> Result<Check> {
    let example = dir.join(".env.example");
    if !example.is_file() {
        return Ok(pass(".env", "no .env.example to compare with"));
    }
    if !dir.join(".env").is_file() {
        return Ok(fail(".env", ".env is missing", "dmp init (copies .env.example to .env)"));
    }
    let wanted = read_env_file(&example, true, &|_| None)?;
    let have = read_env_file(&dir.join(".env"), true, &|_| None)?;
    let missing: Vec<&str> = wanted.keys().filter(|k| !have.contains_key(*k)).map(String::as_str).collect();
    Ok(if missing.is_empty() {
        pass(".env", format!("has all {} keys of .env.example", wanted.len()))
    } else {
        fail(
            ".env",
            format!("missing keys from .env.example: {}", missing.join(", ")),
            "add them to .env (see .env.example)",
        )
    })
}

fn inotify() -> Check {
    match std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        Some(n) if n >= MIN_INOTIFY_WATCHES => pass("inotify", format!("max_user_watches is {n}")),
        Some(n) => warn(
            "inotify",
            format!("max_user_watches is {n}: dmp watch may fall back to polling on a large tree"),
            "sudo sysctl fs.inotify.max_user_watches=524288",
        ),
        None => pass("inotify", "not Linux: dmp watch uses the platform's watcher"),
    }
}

/// Free space where the Engine keeps images and volumes.
async fn disk_space(docker: &bollard::Docker) -> Check {
    let root = docker
        .info()
        .timed("info")
        .await
        .ok()
        .and_then(|i| i.docker_root_dir)
        .unwrap_or_else(|| "/var/lib/docker".into());
    let probe = if std::path::Path::new(&root).exists() { root.clone() } else { "/".into() };
    // df is everywhere and spares a libc dependency for statvfs.
    let free_kib = std::process::Command::new("df")
        .args(["-Pk", &probe])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|text| {
            text.lines().nth(1).and_then(|l| l.split_whitespace().nth(3)).and_then(|v| v.parse::<u64>().ok())
        });
    match free_kib {
        Some(kib) if kib / 1_048_576 >= MIN_FREE_GB => pass("disk", format!("{} GB free for {root}", kib / 1_048_576)),
        Some(kib) => warn(
            "disk",
            format!("only {} MB free for {root}", kib / 1024),
            "free space, or remove unused images (docker image prune)",
        ),
        None => warn("disk", format!("cannot measure the free space for {root}"), "check it with `df -h`"),
    }
}

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn marks_are_coloured_only_when_asked() {
        assert_eq!(Level::Ok.mark(false), "ok     ");
        assert_eq!(Level::Warning.mark(false), "warning");
        assert_eq!(Level::Failed.mark(false), "FAILED ");
        assert_eq!(Level::Ok.mark(true), "\x1b[32mok\x1b[0m     ");
        assert_eq!(Level::Warning.mark(true), "\x1b[33mwarning\x1b[0m");
        assert_eq!(Level::Failed.mark(true), "\x1b[31mFAILED\x1b[0m ");
    }
}

//! `dmp dev` (and `dmp up --watch`): one foreground view while developing:
//! every service's new log lines behind their coloured `service |`, the
//! app's tracebacks among them, interleaved with the watch rules' builds.
//! On a terminal a status line stays at the bottom (the site's URL, the
//! services, whether the app answers, the last build) and `q` quits (exit
//! 0); Ctrl-C stops watching (exit 130). Either way the stack stays up.
//! While it runs, an app container started again (an Engine restart) gets
//! its dev server back.

use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Context, Interrupt, logs};
use crate::cli::DevArgs;
use crate::compose::Project;
use crate::error::{Error, Result};
use crate::stack::{ProjectContainer, http};
use crate::ui::{Mode, StatusLine};
use crate::watch::{self, Event, Reporter, WatchOptions};

/// Ctrl-C ends the view cleanly (the stack stays up); SIGTERM stops it.
pub const INTERRUPT: Interrupt = Interrupt { own_ctrl_c: true, changes: false };

pub async fn run(args: &DevArgs, ctx: &Context) -> Result<ExitCode> {
    Box::pin(view(ctx, &args.watching.options())).await
}

/// Follows the logs and, when the stack has watch rules, watches, until
/// `q` (exit 0) or Ctrl-C (exit 130).
pub async fn view(ctx: &Context, options: &WatchOptions) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let containers = ctx.containers(&[]).await?;
    let docker = ctx.docker().await?;
    let screen = Rc::new(StatusLine::new(ctx.mode == Mode::Quiet));
    let status = Rc::new(Mutex::new(Status::default()));
    let prefixes = logs::prefixes(&containers, logs::colour(), false);
    let mut lines = logs::follow(docker, &containers, "0", logs::Window::default());
    let printer = async {
        while let Some((index, _, text)) = lines.recv().await {
            if screen.terminal() && own_probe(&text) {
                continue;
            }
            let mut line = Vec::new();
            logs::print_line(&mut line, &prefixes[index], None, &text)?;
            screen.println(String::from_utf8_lossy(&line).trim_end_matches('\n')).map_err(Error::Output)?;
        }
        Ok::<(), Error>(())
    };
    let watching = async {
        if project.dmp.watch.is_empty() {
            let _ = tokio::signal::ctrl_c().await;
            return Ok(ExitCode::from(130));
        }
        let sink = {
            let (screen, status) = (Rc::clone(&screen), Rc::clone(&status));
            Box::new(move |event: &Event<'_>, line: &str| {
                if let Event::Build { rule, ok, duration_ms, .. } = event {
                    let verdict = if *ok { "ok" } else { "FAILED" };
                    lock(&status).build = Some(format!("{rule} {verdict} {duration_ms} ms"));
                    screen.set(lock(&status).render());
                }
                // A line that cannot be written ends with the logs' own error.
                let _ = screen.println(line);
            })
        };
        let mut reporter = if screen.terminal() {
            Reporter::to_sink(&project.dmp.watch, sink)
        } else {
            // Build lines on stderr, as `dmp watch` prints them.
            Reporter::new(false, if ctx.mode == Mode::Quiet { Mode::Quiet } else { Mode::Plain }, &project.dmp.watch)
        };
        watch::run(docker, project, options, &mut reporter).await?;
        Ok(ExitCode::from(130))
    };
    let refresh = async {
        if !screen.terminal() {
            return std::future::pending().await;
        }
        // The services every second; the app (one GET, a line in nginx's
        // log) every 5 s and whenever a service starts or stops.
        let all: Vec<_> = project.services.values().collect();
        for tick in 0_u64.. {
            let containers = crate::stack::containers(docker, project, &all).await.unwrap_or_default();
            let services: Vec<(String, bool)> = containers.iter().map(|c| (c.service.clone(), c.running())).collect();
            let changed = lock(&status).services != services;
            let answers = if changed || tick % 5 == 0 { Some(answers(project, &containers).await) } else { None };
            {
                let mut now = lock(&status);
                now.services = services;
                if let Some(answers) = answers {
                    now.url = answers.as_ref().map(|(url, _)| url.clone());
                    now.answers = answers.map(|(_, ok)| ok);
                }
                screen.set(now.render());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    // An app container started again (an Engine restart) gets its dev
    // server back while dev runs.
    let keep = Box::pin(crate::dev::keep(docker, project, |line| {
        if screen.terminal() {
            let _ = screen.println(&line);
        } else if ctx.mode != Mode::Quiet {
            eprintln!("{line}");
        }
    }));
    tokio::select! {
        result = printer => result.map(|()| ExitCode::SUCCESS),
        () = keep => Ok(ExitCode::SUCCESS),
        result = watching => result,
        code = keys(screen.terminal()) => Ok(code),
        () = refresh => Ok(ExitCode::SUCCESS),
    }
}

/// What the status line shows, refreshed every second (the app every 5 s)
/// and on every build.
#[derive(Debug, Default)]
struct Status {
    url: Option<String>,
    /// Each service and whether it runs.
    services: Vec<(String, bool)>,
    answers: Option<bool>,
    build: Option<String>,
}

impl Status {
    fn render(&self) -> String {
        let mut parts = Vec::new();
        if let Some(url) = &self.url {
            parts.push(url.clone());
        }
        if !self.services.is_empty() {
            let services: Vec<String> =
                self.services.iter().map(|(s, up)| format!("{s} {}", if *up { "up" } else { "DOWN" })).collect();
            parts.push(services.join(" "));
        }
        match self.answers {
            Some(true) => parts.push("app answers".into()),
            Some(false) => parts.push("app NOT answering".into()),
            None => {}
        }
        if let Some(build) = &self.build {
            parts.push(format!("last build: {build}"));
        }
        parts.push("q quits (the stack stays up)".into());
        format!(" dmp dev │ {}", parts.join(" │ "))
    }
}

/// An access-log line of dmp's own health checks (the status line's, `ps`'s,
/// `up`'s: user agent `dmp` in the dmp images' JSON log format), left out
/// of the view on a terminal, where the status line shows what they found.
fn own_probe(line: &str) -> bool {
    line.contains("\"user_agent\":\"dmp\"")
}

fn lock(status: &Mutex<Status>) -> std::sync::MutexGuard<'_, Status> {
    status.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The site's root URL and whether the app answers there (one GET of
/// `x-dmp.http_path`, at most 2 s); `None` without an HTTP entry service
/// with a published port.
async fn answers(project: &Project, containers: &[ProjectContainer]) -> Option<(String, bool)> {
    let all: Vec<_> = project.services.values().collect();
    let service = http::http_service(project, &all)?;
    let container = containers.iter().find(|c| c.service == service.name)?;
    let port = container.ports.iter().find(|p| p.protocol == "tcp")?;
    let host = http::reachable(&port.host_ip);
    let url = http::site(&host, port.published) + "/";
    if !container.running() {
        return Some((url, false));
    }
    let path = project.dmp.http_path.as_deref().unwrap_or("/");
    let once = http::http(&host, port.published, path, Instant::now());
    let ok = matches!(tokio::time::timeout(Duration::from_secs(2), once).await, Ok(Ok(_)));
    Some((url, ok))
}

/// On a terminal (in raw mode), `q` quits with 0 and Ctrl-C, a key there,
/// with 130; elsewhere never (Ctrl-C is then a signal, which watching
/// handles).
async fn keys(terminal: bool) -> ExitCode {
    if !terminal {
        return std::future::pending().await;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // A blocking read, on a thread of its own; it ends with the process.
    let spawned = std::thread::Builder::new().name("dmp-dev-keys".into()).spawn(move || {
        use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
        while let Ok(event) = crossterm::event::read() {
            let Event::Key(key) = event else { continue };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            let code = match key.code {
                KeyCode::Char('q' | 'Q') => 0,
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => 130,
                _ => continue,
            };
            if tx.send(code).is_err() {
                return;
            }
        }
    });
    if spawned.is_err() {
        return std::future::pending().await;
    }
    match rx.recv().await {
        Some(code) => ExitCode::from(code),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn the_status_line_names_the_site_the_services_the_app_and_the_last_build() {
        let status = Status {
            url: Some("http://127.0.0.1:8080/".into()),
            services: vec![("nginx".into(), true), ("wsgi".into(), false)],
            answers: Some(false),
            build: Some("styles ok 120 ms".into()),
        };
        assert_eq!(
            status.render(),
            " dmp dev │ http://127.0.0.1:8080/ │ nginx up wsgi DOWN │ app NOT answering │ last build: styles ok 120 ms │ q quits (the stack stays up)"
        );
        assert_eq!(Status::default().render(), " dmp dev │ q quits (the stack stays up)");
    }

    #[test]
    fn only_dmps_own_health_checks_are_left_out_of_the_view() {
        assert!(super::own_probe(r#"{"uri":"/healthcheck","status":200,"user_agent":"dmp","request_id":""}"#));
        assert!(!super::own_probe(r#"{"uri":"/healthcheck","status":200,"user_agent":"curl/8.0","request_id":""}"#));
        assert!(!super::own_probe("Traceback (most recent call last):"));
    }
}

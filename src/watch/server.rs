//! A rule's long-lived worker: one exec per rule that stays up for the
//! whole watch and is sent each build, so a build costs the compiler's own
//! time, not a new exec (about 50 ms) and a compiler start (Node and Dart
//! Sass: about a second).
//!
//! The protocol is Bazel's persistent workers' idea in lines, so a shell
//! loop can speak it: dmp writes one line per build (the changed path,
//! relative to the project; empty for a full build); the worker writes the
//! build's output, then the line `$DMP_DONE <exit code>` on stdout. The
//! wrapper dmp starts it in first writes `$DMP_DONE pid <pid>`, so a worker
//! that never answers can be killed. The end of its stdin (dmp has stopped)
//! means stop. A rule with `serve:` names its
//! worker; any other rule gets a shell loop that runs its `command` per
//! line.

use std::pin::Pin;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::{Stream, StreamExt as _};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::compose::model::WatchRule;
use crate::engine::Request as _;

/// The loop that serves a plain `command` rule: each line runs it once,
/// with `DMP_CHANGED` set and its stderr with its stdout.
const SHELL_LOOP: &str = r#"while IFS= read -r DMP_CHANGED; do export DMP_CHANGED; sh -c "$DMP_COMMAND" </dev/null 2>&1; echo "$DMP_DONE $?"; done"#;

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

/// Kills the process `$DMP_PID` and every process under it, so a wedged
/// worker's compiler goes too (the Engine API has no way to stop an exec).
const KILL_TREE: &str = r#"all=$DMP_PID new=$DMP_PID
while [ -n "$new" ]; do
  next=
  for status in /proc/[0-9]*/status; do
    ppid=
    while read -r key value; do [ "$key" = PPid: ] && { ppid=$value; break; }; done <"$status" 2>/dev/null
    for p in $new; do [ "$ppid" = "$p" ] && { d=${status%/status}; next="$next ${d#/proc/}"; }; done
  done
  all="$all $next" new=$next
done
kill -9 $all 2>/dev/null; true"#;

/// A running worker.
pub(super) struct Server {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    output: Output,
    done: String,
    /// The worker's process id in its container.
    pid: u32,
    /// Stdout not yet ended by a newline.
    partial: String,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("done", &self.done).finish_non_exhaustive()
    }
}

/// The worker stopped (or its container did) before answering.
#[derive(Debug)]
pub(super) struct Lost {
    /// What it wrote before it went.
    pub output: String,
}

/// The command that serves `rule`, and its environment.
pub(super) fn worker_command(rule: &WatchRule, done: &str) -> (Vec<String>, Vec<String>) {
    let mut env = vec![format!("DMP_DONE={done}")];
    let script = if let Some(serve) = &rule.serve {
        serve.clone()
    } else {
        env.push(format!("DMP_COMMAND={}", rule.command));
        SHELL_LOOP.to_owned()
    };
    // First its process id, so a wedged worker can be killed.
    (vec!["sh".into(), "-c".into(), format!("echo \"$DMP_DONE pid $$\"; {script}")], env)
}

/// The process id in the worker's first line, `$DMP_DONE pid <pid>`.
pub(super) fn pid_line(line: &str, done: &str) -> Option<u32> {
    line.strip_prefix(done)?.strip_prefix(" pid ")?.trim().parse().ok()
}

/// The result in a finished line of stdout: `Some(code)` for the end line.
pub(super) fn end_line(line: &str, done: &str) -> Option<i64> {
    let rest = line.strip_prefix(done)?.strip_prefix(' ')?;
    Some(rest.trim().parse().unwrap_or(-1))
}

impl Server {
    /// Starts the worker for `rule` in `container`; the error says why not.
    pub(super) async fn start(docker: &Docker, container: &str, rule: &WatchRule) -> Result<Self, String> {
        let done = format!("dmp-done-{:016x}", nonce());
        let (cmd, env) = worker_command(rule, &done);
        let options = CreateExecOptions {
            cmd: Some(cmd),
            env: Some(env),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            ..Default::default()
        };
        let exec = docker
            .create_exec(container, options)
            .named(format_args!("create {} worker in {container}", rule.name))
            .await
            .map_err(|e| e.to_string())?;
        let started = docker
            .start_exec(&exec.id, None)
            .named(format_args!("start {} worker in {container}", rule.name))
            .await
            .map_err(|e| e.to_string())?;
        let StartExecResults::Attached { output, input } = started else {
            return Err("the Engine did not attach to it".into());
        };
        let mut server = Self { input, output, done, pid: 0, partial: String::new() };
        let first = tokio::time::timeout(std::time::Duration::from_secs(30), server.line())
            .await
            .map_err(|_| "it did not start within 30 s".to_owned())?;
        match first.as_deref().and_then(|line| pid_line(line, &server.done)) {
            Some(pid) => {
                server.pid = pid;
                Ok(server)
            }
            None => Err(format!("it did not start: {}", first.unwrap_or_default().trim())),
        }
    }

    /// The next line of stdout (stderr is dropped); `None` when it ended.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.partial.find('\n') {
                return Some(self.partial.drain(..=end).collect());
            }
            match self.output.next().await {
                Some(Ok(LogOutput::StdErr { .. })) => {}
                Some(Ok(other)) => self.partial.push_str(&String::from_utf8_lossy(&other.into_bytes())),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Kills the worker and everything it started, in `container`.
    pub(super) async fn kill(&self, docker: &Docker, container: &str) -> Result<(), String> {
        let options = CreateExecOptions {
            cmd: Some(vec!["sh".to_owned(), "-c".to_owned(), KILL_TREE.to_owned()]),
            env: Some(vec![format!("DMP_PID={}", self.pid)]),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = docker
            .create_exec(container, options)
            .named(format_args!("create a kill of worker {} in {container}", self.pid))
            .await
            .map_err(|e| e.to_string())?;
        match docker.start_exec(&exec.id, None).await.map_err(|e| e.to_string())? {
            StartExecResults::Attached { mut output, .. } => while output.next().await.is_some() {},
            StartExecResults::Detached => {}
        }
        Ok(())
    }

    /// One build: the changed path in, the exit code and output back.
    pub(super) async fn build(&mut self, changed: Option<&str>) -> Result<(i64, String), Lost> {
        let mut output = String::new();
        let line = format!("{}\n", changed.unwrap_or_default().replace('\n', " "));
        if self.input.write_all(line.as_bytes()).await.is_err() || self.input.flush().await.is_err() {
            return Err(Lost { output });
        }
        loop {
            match self.output.next().await {
                Some(Ok(LogOutput::StdErr { message })) => output.push_str(&String::from_utf8_lossy(&message)),
                Some(Ok(other)) => {
                    self.partial.push_str(&String::from_utf8_lossy(&other.into_bytes()));
                    while let Some(end) = self.partial.find('\n') {
                        let line: String = self.partial.drain(..=end).collect();
                        if let Some(code) = end_line(line.trim_end_matches(['\n', '\r']), &self.done) {
                            return Ok((code, output));
                        }
                        output.push_str(&line);
                    }
                }
                Some(Err(_)) | None => {
                    output.push_str(&std::mem::take(&mut self.partial));
                    return Err(Lost { output });
                }
            }
        }
    }
}

/// Unpredictable enough that no tool prints the end line by chance.
fn nonce() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(serve: Option<&str>) -> WatchRule {
        WatchRule {
            name: "styles".into(),
            command: "sassc in.scss out.css".into(),
            service: "buildstatic".into(),
            watch: Vec::new(),
            ignore: Vec::new(),
            serve: serve.map(str::to_owned),
            output: Vec::new(),
            timeout: None,
        }
    }

    #[test]
    fn a_plain_rule_is_served_by_a_shell_loop_and_a_serve_rule_by_its_worker() {
        let (cmd, env) = worker_command(&rule(None), "dmp-done-1");
        assert_eq!(cmd[..2], ["sh", "-c"]);
        assert!(cmd[2].starts_with(r#"echo "$DMP_DONE pid $$"; "#), "{}", cmd[2]);
        assert!(cmd[2].contains(r#"sh -c "$DMP_COMMAND""#) && cmd[2].contains(r#"echo "$DMP_DONE $?""#));
        assert_eq!(env, ["DMP_DONE=dmp-done-1", "DMP_COMMAND=sassc in.scss out.css"]);
        let (cmd, env) = worker_command(&rule(Some("dmp-sass-worker a.scss:a.css")), "dmp-done-1");
        assert_eq!(cmd, ["sh", "-c", r#"echo "$DMP_DONE pid $$"; dmp-sass-worker a.scss:a.css"#]);
        assert_eq!(env, ["DMP_DONE=dmp-done-1"]);
    }

    #[test]
    fn the_first_line_gives_the_workers_process_id() {
        assert_eq!(pid_line("dmp-done-1 pid 42\n", "dmp-done-1"), Some(42));
        assert_eq!(pid_line("dmp-done-1 0", "dmp-done-1"), None);
        assert_eq!(pid_line("sh: 1: dmp-sass-worker: not found", "dmp-done-1"), None);
    }

    #[test]
    fn only_the_exact_end_line_ends_a_build() {
        assert_eq!(end_line("dmp-done-1 0", "dmp-done-1"), Some(0));
        assert_eq!(end_line("dmp-done-1 65", "dmp-done-1"), Some(65));
        assert_eq!(end_line("dmp-done-1 x", "dmp-done-1"), Some(-1), "a garbled code is a failure");
        assert_eq!(end_line("dmp-done-10 0", "dmp-done-1"), None);
        assert_eq!(end_line("say dmp-done-1 0", "dmp-done-1"), None);
        assert_eq!(end_line("Error: on line 3", "dmp-done-1"), None);
    }
}

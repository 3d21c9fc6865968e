//! Command-line arguments (clap derive), parsed once in `run()`.

// Flags are bools by nature.
#![allow(clippy::struct_excessive_bools)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A complete local environment for a Python WSGI app in one command.
#[derive(Debug, Parser)]
#[command(name = "dmp", version, about, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub project: ProjectArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print nothing but results and errors; on `ps`, `ls` and `images` the
    /// results are only IDs or names (Compose's `-q`).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// The Docker context to use (as `docker --context`); default: `DOCKER_HOST`,
    /// `DOCKER_CONTEXT`, then the CLI's current context.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// How to show progress: bars on a terminal, plain lines otherwise.
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// Log dmp's decisions and every Engine request with its duration to
    /// stderr (-vv: more); `RUST_LOG` chooses finer. Before the command
    /// (`down -v` is volumes).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// Bars when stdout and stderr are terminals, plain lines otherwise.
    Auto,
    /// Always bars.
    Tty,
    /// Always plain lines.
    Plain,
}

impl ProgressMode {
    /// The mode asked for; `None` lets the terminal decide.
    pub fn requested(self) -> Option<crate::ui::Mode> {
        match self {
            Self::Auto => None,
            Self::Tty => Some(crate::ui::Mode::Terminal),
            Self::Plain => Some(crate::ui::Mode::Plain),
        }
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// The project's images (as `docker compose images`); `dmp images build`
    /// builds dmp's base images.
    Images(ImagesArgs),
    /// Print the stack as dmp resolves it: files merged, variables
    /// interpolated, defaults filled in.
    Config(ConfigArgs),
    /// Create and start the stack, and wait until it answers.
    Up(UpArgs),
    /// Stop and remove the stack's containers and network (volumes with -v).
    Down(DownArgs),
    /// List the stack's containers: state, health, ports.
    Ps(PsArgs),
    /// Show the services' logs, each line prefixed with its service.
    Logs(LogsArgs),
    /// Stop services without removing them.
    Stop(StopArgs),
    /// Restart services (the dev server that `dmp start` or
    /// `AUTO_START_SERVER` put in the app is started again).
    Restart(StopArgs),
    /// Run a command in a running service's container (as `docker compose exec`).
    Exec(ExecArgs),
    /// Run a one-off command in a new container of a service, on the
    /// project's networks and mounts (as `docker compose run`).
    Run(RunArgs),
    /// Build (or rebuild) the images of services with `build:`.
    Build(BuildArgs),
    /// Pull the images of services that are not built.
    Pull(ServicesArgs),
    /// Push the images of services with `build:` and `image:`.
    Push(ServicesArgs),
    /// Create the services' containers without starting them (changed ones
    /// recreated, as Compose).
    Create(CreateArgs),
    /// Kill the services' containers (SIGKILL unless `-s`).
    Kill(KillArgs),
    /// Remove stopped service containers.
    Rm(RmArgs),
    /// Pause the services' containers.
    Pause(ServicesArgs),
    /// Unpause the services' containers.
    Unpause(ServicesArgs),
    /// The processes running in the services' containers.
    Top(ServicesArgs),
    /// The host address a service's port is published on.
    Port(PortArgs),
    /// Copy files between a service container and the host:
    /// `dmp cp SERVICE:SRC DEST` or `dmp cp SRC SERVICE:DEST`.
    Cp(CpArgs),
    /// Attach dmp's terminal to a service container's main process (its
    /// output; its stdin when it keeps one open).
    Attach(AttachArgs),
    /// Run SERVICE=N containers of each service named (as `up`, with the
    /// file's `scale:` replaced; 0 removes them).
    Scale(ScaleArgs),
    /// Wait until the services' containers stop; exits with the first's code.
    Wait(ServicesArgs),
    /// The project's container events as they happen.
    Events(EventsArgs),
    /// Every project on the Engine (found by label; no stack file needed).
    Ls(LsArgs),
    /// dmp's version.
    Version(VersionArgs),
    /// Set up an app checkout: .env from .env.example, a stack file from a
    /// template, and a check of the Engine. Safe to run again.
    Init(InitArgs),
    /// A shell in a running service (the app by default) as its user, or
    /// `-- CMD...` run there; exits with the command's code.
    Sh(ShArgs),
    /// Run the app's migrations in the app container.
    Migrate,
    /// Without services: migrate, start the app's dev server, wait until it
    /// answers. With services: start their stopped containers (Compose's start).
    Start(StartArgs),
    /// Run `python3 manage.py ARGS...` in the app container.
    Manage(ManageArgs),
    /// Check the Engine, base images, the stack's ports, .env, inotify and
    /// disk space; each failure with its fix.
    Doctor(DoctorArgs),
    /// Watch the sources and rerun the `x-dmp` watch rules in their service
    /// on every change; Ctrl-C stops watching and leaves the stack up.
    Watch(WatchArgs),
    /// Develop: the services' logs (coloured by service, tracebacks
    /// included) interleaved with the watch rules' builds, with a status
    /// line on a terminal, until `q` or Ctrl-C, which leave the stack up.
    Dev(DevArgs),
    /// The stack at a glance: services, their URLs, ports, mounts, health.
    Describe(DescribeArgs),
    /// Open the site in the browser (and print its URL).
    Open,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print dmp's man page (roff), e.g. `dmp man > ~/.local/share/man/man1/dmp.1`.
    Man,
}

impl Command {
    /// Whether the command was asked for JSON on stdout (`--json`,
    /// `--format json`): an error then is a JSON object there too.
    pub fn json(&self) -> bool {
        match self {
            Self::Up(args) => args.json,
            Self::Ps(args) => args.json || args.format == Format::Json,
            Self::Doctor(args) => args.json,
            Self::Watch(args) => args.json,
            Self::Config(args) => args.json || args.format == ConfigFormat::Json,
            Self::Images(args) => match &args.command {
                Some(ImagesCommand::Build(build)) => build.json,
                None => args.format == Format::Json,
            },
            Self::Ls(args) => args.json || args.format == Format::Json,
            Self::Version(args) => args.json || args.format == Format::Json,
            Self::Events(args) => args.json,
            Self::Describe(args) => args.json,
            _ => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How the watch loop sees changes: `dmp watch` and `dmp dev` alike.
#[derive(Debug, Args, Clone)]
pub struct WatchLoopArgs {
    /// Poll the files instead of using inotify (for file systems without events).
    #[arg(long)]
    pub poll: bool,

    /// Milliseconds of quiet that end a burst of changes.
    #[arg(long, value_name = "MS", default_value_t = crate::watch::DEFAULT_QUIET_MS)]
    pub quiet_ms: u64,

    /// Do not build every rule once at the start.
    #[arg(long)]
    pub no_initial_build: bool,
}

impl WatchLoopArgs {
    pub fn options(&self) -> crate::watch::WatchOptions {
        crate::watch::WatchOptions {
            quiet: std::time::Duration::from_millis(self.quiet_ms),
            poll: self.poll,
            initial_build: !self.no_initial_build,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct WatchArgs {
    #[command(flatten)]
    pub watching: WatchLoopArgs,

    /// Print JSON event lines on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// `{schema, project, url, services: [...]}` on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DevArgs {
    #[command(flatten)]
    pub watching: WatchLoopArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// wsgi + http-frontend (static files) + buildstatic
    Frontend,
    /// wsgi + http-headless
    Api,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The stack template to write when the app has no stack file.
    #[arg(long, value_enum, default_value_t = Template::Frontend)]
    pub template: Template,
}

#[derive(Debug, Args)]
pub struct ShArgs {
    /// `[SERVICE] [CMD...]`: a service of the stack first (default: the app,
    /// `x-dmp.app`), then a command to run instead of the shell (`--`
    /// before it is optional).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "SERVICE] [CMD")]
    pub words: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Start these services' stopped containers (Compose's `start`) instead
    /// of the dev server.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Seconds to wait for the app to answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Seconds to wait for a container to stop before killing it.
    #[arg(short = 't', long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: i32,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Run as this user (name or uid[:gid]).
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,

    /// Set an environment variable (repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// The working directory inside the container.
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,

    /// No TTY, even on a terminal.
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,

    /// Detached: start the command in the background.
    #[arg(short = 'd', long)]
    pub detach: bool,

    /// Which container of the service (1-based).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub index: u32,

    /// Accepted as Compose does (dmp never runs privileged execs).
    #[arg(long, hide = true)]
    pub privileged: bool,

    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Remove the container when the command ends.
    #[arg(long)]
    pub rm: bool,

    /// Run as this user (name or uid[:gid]).
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,

    /// Set an environment variable (repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// The working directory inside the container.
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,

    /// Override the image's entrypoint.
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,

    /// A name for the container (default `PROJECT-SERVICE-run-ID`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// No TTY, even on a terminal.
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,

    /// Start the container and print its name instead of waiting.
    #[arg(short = 'd', long)]
    pub detach: bool,

    /// Publish the service's ports (not published by default, as Compose).
    #[arg(long)]
    pub service_ports: bool,

    /// Do not start the services this one depends on.
    #[arg(long)]
    pub no_deps: bool,

    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// The command and its arguments (default: the service's).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Only these services; all with `build:` when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Build every step again instead of using the Engine's cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Pull newer versions of the base images first.
    #[arg(long)]
    pub pull: bool,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Which container of the service (1-based).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub index: u32,

    /// Do not pass dmp's stdin to the container.
    #[arg(long)]
    pub no_stdin: bool,

    /// Pass Ctrl-C to the process as SIGINT (`--sig-proxy=false`: Ctrl-C
    /// leaves it running).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,

    /// The keys that detach, leaving the container running (Docker's
    /// default: `ctrl-p,ctrl-q`).
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,

    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: String,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// `SERVICE=N`, one or more.
    #[arg(value_name = "SERVICE=N", required = true, value_parser = crate::commands::parse_scale)]
    pub scales: Vec<(String, u32)>,

    /// Return once containers are started, without waiting for health.
    #[arg(long)]
    pub no_wait: bool,

    /// Seconds to wait for the services to become healthy.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Recreate containers even if their configuration and image did not change.
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,

    /// Leave existing containers as they are, changed or not.
    #[arg(long)]
    pub no_recreate: bool,

    /// Build images of services with `build:` even if they exist.
    #[arg(long)]
    pub build: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// The signal to send.
    #[arg(short = 's', long, value_name = "SIGNAL", default_value = "SIGKILL")]
    pub signal: String,

    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Accepted as Compose does: dmp never asks.
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Stop running containers first (else only stopped ones are removed).
    #[arg(short = 's', long)]
    pub stop: bool,

    /// Also remove the containers' anonymous volumes.
    #[arg(short = 'v', long)]
    pub volumes: bool,

    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// tcp or udp.
    #[arg(long, default_value = "tcp")]
    pub protocol: String,

    /// Which container of the service (1-based).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub index: u32,

    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// The port inside the container.
    #[arg(value_name = "PORT")]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct CpArgs {
    /// `SERVICE:PATH` or a host path.
    #[arg(value_name = "SRC")]
    pub source: String,

    /// `SERVICE:PATH` or a host path.
    #[arg(value_name = "DEST")]
    pub destination: String,

    /// Which container of the service (1-based).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub index: u32,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// One JSON object a line.
    #[arg(long)]
    pub json: bool,

    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Also projects with no running container.
    #[arg(short = 'a', long)]
    pub all: bool,

    /// table or json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Only the number.
    #[arg(long)]
    pub short: bool,

    /// table or json.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ManageArgs {
    /// Arguments to manage.py, e.g. `createsuperuser` or `makemigrations`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Only these services (and what they depend on); all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Accepted as Compose's `up -d`: dmp always returns once the stack is ready.
    #[arg(short = 'd', long)]
    pub detach: bool,

    /// Return once containers are started, without waiting for health and HTTP.
    #[arg(long)]
    pub no_wait: bool,

    /// Seconds to wait for the stack to become healthy and answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub timeout: u64,

    /// Build images of services with `build:` even if they exist.
    #[arg(long)]
    pub build: bool,

    /// Recreate containers even if their config did not change.
    #[arg(long)]
    pub force_recreate: bool,

    /// Take the project over from the directory it was started in (a
    /// checkout moved on purpose): its containers are recreated from here.
    #[arg(long)]
    pub adopt: bool,

    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// Then watch the sources and rebuild assets (as `dmp watch`) until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the project's named volumes and containers' anonymous
    /// volumes (their data is lost).
    #[arg(short = 'v', long)]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Stopped containers too (by default only running ones, as Compose).
    #[arg(short = 'a', long)]
    pub all: bool,

    /// Only the service names.
    #[arg(long = "services")]
    pub services_only: bool,

    /// `json`: one object a line with Compose's fields (Name, Service,
    /// State, Health, Publishers, ...), plus dmp's `Answers`.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// dmp's JSON: `{schema, containers: [...]}`.
    #[arg(long)]
    pub json: bool,

    /// `--format json`'s Command whole (Compose cuts it at 20 characters).
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Keep following new output.
    #[arg(short, long)]
    pub follow: bool,

    /// Lines from the end of each service's log (a number, or `all`).
    #[arg(short = 'n', long, value_name = "N", default_value = "all")]
    pub tail: String,

    /// Show each line's timestamp.
    #[arg(short, long)]
    pub timestamps: bool,

    /// Only lines since this time: RFC 3339 (`2026-11-22T10:00:00Z`), Unix
    /// seconds, or an age (`42m`, `1h30m`, `10s`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only lines before this time (as `--since`).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Lines without the `service |` prefix.
    #[arg(long)]
    pub no_log_prefix: bool,
}

#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Only these services; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// Which stack: shared by every command that works on one.
#[derive(Debug, Args, Clone, Default)]
pub struct ProjectArgs {
    /// Stack files, merged in order (default: dmp.yml, compose.yaml or
    /// docker-compose.yml and its .override file, found here or above).
    /// Given before the command, as with Compose (`logs -f` is follow).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Project name (default: `name:` in the file, else the directory's name).
    #[arg(short = 'p', long = "project-name", value_name = "NAME", global = true)]
    pub project_name: Option<String>,

    /// Enable services in this profile (repeatable; adds to `COMPOSE_PROFILES`).
    #[arg(long = "profile", value_name = "PROFILE", global = true)]
    pub profiles: Vec<String>,

    /// Look for the stack file here instead of the current directory
    /// (`-C DIR` as with git and make).
    #[arg(short = 'C', long, value_name = "DIR", global = true)]
    pub project_directory: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Output format, as `docker compose config --format`.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Yaml)]
    pub format: ConfigFormat,

    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,

    /// Print only the service names, one a line.
    #[arg(long)]
    pub services: bool,

    /// Print only the volume names, one a line.
    #[arg(long)]
    pub volumes: bool,

    /// Print only the image names, one a line.
    #[arg(long)]
    pub images: bool,

    /// Print Compose's config hash of these services (comma-separated, or
    /// `*` for all), one `SERVICE HASH` a line.
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImagesArgs {
    #[command(subcommand)]
    pub command: Option<ImagesCommand>,

    /// Only these services' images; all when none.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// table or json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the base images (all five unless named), concurrently, parents first.
    Build(ImagesBuildArgs),
}

#[derive(Debug, Args)]
pub struct ImagesBuildArgs {
    /// Images to build: wsgi, wsgi-antivirus, http-headless, http-frontend,
    /// http-buildstatic. The images they are built from are built first.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Build every step again instead of using the Engine's cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Build from this directory (laid out like dmp's images/) instead of the
    /// images built into dmp.
    #[arg(long, value_name = "DIR", env = "DMP_IMAGES_DIR")]
    pub images_dir: Option<PathBuf>,

    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

#[cfg(test)]
mod parse_tests {
    use clap::Parser as _;

    fn sh_words(line: &[&str]) -> Vec<String> {
        let cli = super::Cli::try_parse_from(line).expect("parses");
        match cli.command {
            super::Command::Sh(args) => args.words,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sh_takes_its_words_with_or_without_dashes() {
        assert_eq!(sh_words(&["dmp", "sh", "wsgi", "ls", "-la"]), ["wsgi", "ls", "-la"]);
        assert_eq!(sh_words(&["dmp", "sh", "--", "ls", "-la"]), ["ls", "-la"]);
        assert_eq!(sh_words(&["dmp", "sh", "wsgi", "--", "grep", "-v", "x"]), ["wsgi", "--", "grep", "-v", "x"]);
        assert!(sh_words(&["dmp", "sh"]).is_empty());
    }

    #[test]
    fn wrong_flags_are_refused() {
        for line in [
            &["dmp", "create", "--force-recreate", "--no-recreate"][..],
            &["dmp", "scale"],
            &["dmp", "scale", "web"],
            &["dmp", "scale", "web=x"],
        ] {
            assert!(super::Cli::try_parse_from(line).is_err(), "{line:?}");
        }
    }

    #[test]
    fn compose_flags_parse() {
        for line in [
            &["dmp", "up", "-d", "web"][..],
            &["dmp", "exec", "-T", "-u", "root", "-e", "A=1", "-w", "/tmp", "--index", "1", "web", "ls", "-la"],
            &["dmp", "run", "--rm", "web", "sh", "-c", "echo hi"],
            &["dmp", "ps", "-a", "--format", "json", "web"],
            &["dmp", "-q", "ps"],
            &["dmp", "logs", "--since", "10m", "--until", "1m", "-n", "5", "--no-log-prefix", "web"],
            &["dmp", "kill", "-s", "SIGTERM", "web"],
            &["dmp", "rm", "-f", "-s", "-v"],
            &["dmp", "images"],
            &["dmp", "images", "build", "wsgi"],
            &["dmp", "-C", "/tmp", "-p", "x", "down"],
            &["dmp", "ls", "-a", "--format", "json"],
            &["dmp", "version", "--short"],
            &["dmp", "start", "web"],
            &["dmp", "stop", "-t", "2", "web"],
            &["dmp", "create", "--force-recreate", "web"],
            &["dmp", "create", "--no-recreate"],
            &["dmp", "attach", "--no-stdin", "--sig-proxy=false", "--index", "2", "--detach-keys", "ctrl-x", "web"],
            &["dmp", "attach", "--sig-proxy", "web"],
            &["dmp", "scale", "web=3", "worker=0"],
        ] {
            if let Err(e) = super::Cli::try_parse_from(line) {
                panic!("{line:?}: {e}");
            }
        }
    }
}

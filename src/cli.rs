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
    /// Print nothing but results and errors.
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
pub enum Command {
    /// Build dmp's base images.
    #[command(subcommand)]
    Images(ImagesCommand),
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
    Stop(ServicesArgs),
    /// Restart services.
    Restart(ServicesArgs),
    /// Set up an app checkout: .env from .env.example, a stack file from a
    /// template, and a check of the Engine. Safe to run again.
    Init(InitArgs),
    /// A shell in a running service (the app by default) as its user, or
    /// `-- CMD...` run there; exits with the command's code.
    Sh(ShArgs),
    /// Run the app's migrations in the app container.
    Migrate,
    /// Migrate, then start the app's dev server, and wait until it answers.
    Start(StartArgs),
    /// Run `python3 manage.py ARGS...` in the app container.
    Manage(ManageArgs),
    /// Check the Engine, base images, the stack's ports, .env, inotify and
    /// disk space; each failure with its fix.
    Doctor(DoctorArgs),
    /// Watch the sources and rerun the `x-dmp` watch rules in their service
    /// on every change; Ctrl-C stops watching and leaves the stack up.
    Watch(WatchArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print dmp's man page (roff), e.g. `dmp man > ~/.local/share/man/man1/dmp.1`.
    Man,
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

#[derive(Debug, Args, Clone)]
pub struct WatchArgs {
    /// Poll the files instead of using inotify (for file systems without events).
    #[arg(long)]
    pub poll: bool,

    /// Milliseconds of quiet that end a burst of changes.
    #[arg(long, value_name = "MS", default_value_t = crate::watch::DEFAULT_QUIET_MS)]
    pub quiet_ms: u64,

    /// Do not build every rule once at the start.
    #[arg(long)]
    pub no_initial_build: bool,

    /// Print JSON event lines on stdout.
    #[arg(long)]
    pub json: bool,
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
    /// The service (default: the app, `x-dmp.app`).
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,

    /// A command to run instead of the shell.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Seconds to wait for the app to answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub timeout: u64,
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
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
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

    /// Look for the stack file here instead of the current directory.
    #[arg(long, value_name = "DIR", global = true)]
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

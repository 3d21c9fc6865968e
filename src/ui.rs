//! Terminal output: live bars on a terminal, one plain line per event
//! otherwise (CI logs, pipes), nothing with `--quiet`. Progress goes to
//! stderr; results go to stdout.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// indicatif bars, redrawn in place.
    Terminal,
    /// One line per event.
    Plain,
    /// Errors only.
    Quiet,
}

impl Mode {
    /// `requested`, else bars only when both stdout and stderr are
    /// terminals (so `dmp ... | tee` gets plain lines) and the terminal can
    /// redraw.
    pub fn detect(quiet: bool, requested: Option<Self>) -> Self {
        if quiet {
            return Self::Quiet;
        }
        if let Some(mode) = requested {
            mode
        } else {
            let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
            if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() && !dumb {
                Self::Terminal
            } else {
                Self::Plain
            }
        }
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--quiet`, set once at the start: steps that stream output (migrations)
/// keep it unless they fail.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// A set of concurrent tasks, one line each.
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    prefix_width: usize,
}

impl Progress {
    pub fn new(mode: Mode, names: &[String]) -> Self {
        let multi = MultiProgress::with_draw_target(match mode {
            // indicatif draws nothing to a stderr that is no terminal:
            // `--progress tty` into a file or pipe gets the bars anyway.
            Mode::Terminal if !std::io::stderr().is_terminal() => ProgressDrawTarget::term_like(Box::new(ForcedStderr)),
            Mode::Terminal => ProgressDrawTarget::stderr(),
            Mode::Plain | Mode::Quiet => ProgressDrawTarget::hidden(),
        });
        let prefix_width = names.iter().map(String::len).max().unwrap_or(0);
        Self { mode, multi, prefix_width }
    }

    pub fn task(&self, name: &str) -> Task {
        let prefix = format!("{name:<width$}", width = self.prefix_width);
        let bar = (self.mode == Mode::Terminal).then(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {elapsed:>4} {wide_msg}")
                    .expect("a valid template")
                    .tick_strings(&["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "✓"]),
            );
            bar.set_prefix(prefix.clone());
            bar.set_message("waiting");
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Task { mode: self.mode, prefix, bar, step: String::new(), step_printed: true }
    }

    /// Prints a line above the bars (or plainly), so bars are not torn.
    pub fn println(&self, line: &str) {
        match self.mode {
            Mode::Terminal => {
                let _ = self.multi.println(line);
            }
            Mode::Plain => eprintln!("{line}"),
            Mode::Quiet => {}
        }
    }

    /// Ends the display with a closing line below the finished bars (going
    /// through the `MultiProgress` would clear bars that are already done).
    pub fn finish(self, line: &str) {
        if self.mode != Mode::Quiet {
            drop(self.multi);
            eprintln!("{line}");
        }
    }
}

/// One line of a [`Progress`].
#[derive(Debug)]
pub struct Task {
    mode: Mode,
    prefix: String,
    bar: Option<ProgressBar>,
    step: String,
    /// Plain mode prints a stage once it shows some output, so stages that
    /// turn out to have nothing to do (cache hits) stay out of logs.
    step_printed: bool,
}

impl Task {
    /// A new stage (a build step): shown on the bar at once; printed as a
    /// plain line once it shows detail.
    pub fn stage(&mut self, text: &str) {
        text.clone_into(&mut self.step);
        self.step_printed = false;
        if let Some(bar) = &self.bar {
            bar.set_message(text.to_owned());
        }
    }

    /// A stage printed as a plain line at once.
    pub fn announce(&mut self, text: &str) {
        self.stage(text);
        self.print_step();
    }

    /// The stage had nothing to do: plain mode leaves it out.
    pub fn skip_stage(&mut self) {
        self.step_printed = true;
    }

    /// Detail within the stage: a terminal shows it beside the stage; plain
    /// mode prints the stage now.
    pub fn detail(&mut self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}  {}", self.step, console_dim(text.trim())));
        }
        self.print_step();
    }

    fn print_step(&mut self) {
        if self.mode == Mode::Plain && !self.step_printed {
            eprintln!("{} | {}", self.prefix, self.step);
        }
        self.step_printed = true;
    }

    pub fn finish(&self, ok: bool, summary: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => {
                if ok {
                    bar.finish_with_message(summary.to_owned());
                } else {
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:.bold.red} {elapsed:>4} {wide_msg}")
                            .expect("a valid template"),
                    );
                    bar.set_prefix(format!("✗ {}", self.prefix));
                    bar.abandon_with_message(summary.to_owned());
                }
            }
            (None, Mode::Plain) => eprintln!("{} | {summary}", self.prefix),
            _ => {}
        }
    }
}

/// stderr as a terminal whatever it is (`--progress tty`): the bars'
/// escape sequences are written as they would be to a terminal 100
/// columns wide.
#[derive(Debug)]
struct ForcedStderr;

impl ForcedStderr {
    fn write(text: &str) -> std::io::Result<()> {
        use std::io::Write as _;
        std::io::stderr().lock().write_all(text.as_bytes())
    }

    fn escape(n: usize, code: char) -> std::io::Result<()> {
        if n == 0 { Ok(()) } else { Self::write(&format!("\x1b[{n}{code}")) }
    }
}

impl indicatif::TermLike for ForcedStderr {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        Self::escape(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        Self::escape(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        Self::escape(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        Self::escape(n, 'D')
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        Self::write(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        Self::write(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        Self::write("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write as _;
        std::io::stderr().flush()
    }
}

fn console_dim(text: &str) -> String {
    format!("\x1b[2m{text}\x1b[0m")
}

/// A status line kept at the bottom of a terminal while lines scroll above
/// it (`dmp dev`). On a terminal the terminal is in raw mode while this
/// lives (so single keys arrive, Ctrl-C as a key), restored on drop, also
/// when a panic unwinds. Elsewhere lines are printed plainly and the status
/// is not shown.
#[derive(Debug)]
pub struct StatusLine {
    status: std::sync::Mutex<String>,
    terminal: bool,
}

impl StatusLine {
    /// On a terminal (stdout) unless `plain`; raw mode if it can be had.
    pub fn new(plain: bool) -> Self {
        let terminal = !plain && std::io::stdout().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        if terminal {
            // The panic message then reads right; the drop restores it too.
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let _ = crossterm::terminal::disable_raw_mode();
                previous(info);
            }));
        }
        Self { status: std::sync::Mutex::new(String::new()), terminal }
    }

    /// Whether the status line is shown (and keys can be read).
    pub fn terminal(&self) -> bool {
        self.terminal
    }

    /// Prints `text` (one or more lines) above the status line.
    pub fn println(&self, text: &str) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if !self.terminal {
            writeln!(out, "{text}")?;
            return out.flush();
        }
        let status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Raw mode does not turn "\n" into "\r\n": each line does it here.
        write!(out, "\r\x1b[2K{}\r\n{}", text.trim_end_matches('\n').replace('\n', "\r\n\x1b[2K"), fit(&status))?;
        out.flush()
    }

    /// Replaces the status line.
    pub fn set(&self, text: String) {
        use std::io::Write as _;
        if !self.terminal {
            return;
        }
        let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *status == text {
            return;
        }
        *status = text;
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r\x1b[2K{}", fit(&status));
        let _ = out.flush();
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        use std::io::Write as _;
        if self.terminal {
            let _ = write!(std::io::stdout(), "\r\x1b[2K");
            let _ = std::io::stdout().flush();
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// The status in reverse video, cut to the terminal's width (a wrapped
/// status line could not be redrawn in place).
fn fit(status: &str) -> String {
    if status.is_empty() {
        return String::new();
    }
    let width = crossterm::terminal::size().map_or(0, |(w, _)| usize::from(w));
    let text: String = if width > 1 { status.chars().take(width - 1).collect() } else { status.to_owned() };
    format!("\x1b[7m{text}\x1b[0m")
}

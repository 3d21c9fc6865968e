//! The decisions of the Compose-style commands, made without the Engine:
//! which containers a verb acts on, which words of `dmp sh` name the
//! service, what `--since` means, how `ls` sums a project up. Unit-tested
//! here; the commands only act on the answers.

use std::collections::BTreeMap;

use crate::stack::ProjectContainer;

/// What a lifecycle command does to each container it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Restart,
    Kill,
    Pause,
    Unpause,
    /// `rm`; with `stop` (`rm -s`) running containers too.
    Remove {
        stop: bool,
    },
}

impl Verb {
    /// The past tense, for `NAME: stopped`.
    pub fn done(self) -> &'static str {
        match self {
            Self::Start => "started",
            Self::Stop => "stopped",
            Self::Restart => "restarted",
            Self::Kill => "killed",
            Self::Pause => "paused",
            Self::Unpause => "unpaused",
            Self::Remove { .. } => "removed",
        }
    }

    /// The Engine request's name, for errors.
    pub fn request(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Kill => "kill",
            Self::Pause => "pause",
            Self::Unpause => "unpause",
            Self::Remove { .. } => "remove",
        }
    }
}

/// The containers `verb` acts on, as Compose chooses them: `start` the
/// stopped ones, `stop` and `kill` the running ones, `pause` the running,
/// `unpause` the paused, `restart` every one, `rm` the stopped ones (all
/// with `-s`).
pub fn targets(verb: Verb, containers: &[ProjectContainer]) -> Vec<&ProjectContainer> {
    containers
        .iter()
        .filter(|c| {
            let state = c.state.as_str();
            match verb {
                Verb::Start => matches!(state, "created" | "exited" | "dead"),
                Verb::Stop => matches!(state, "running" | "restarting" | "paused"),
                Verb::Kill | Verb::Pause => matches!(state, "running" | "restarting"),
                Verb::Unpause => state == "paused",
                Verb::Restart | Verb::Remove { stop: true } => true,
                Verb::Remove { stop: false } => !matches!(state, "running" | "restarting" | "paused"),
            }
        })
        .collect()
}

/// `dmp sh [SERVICE] [--] [CMD...]`: the first word is the service when it
/// names one (`None`: the app), the rest is the command (a `--` before it
/// dropped).
pub fn sh_words<'w>(words: &'w [String], services: &[&str]) -> (Option<&'w str>, &'w [String]) {
    match words.split_first() {
        Some((first, rest)) if services.contains(&first.as_str()) => {
            (Some(first), rest.strip_prefix(&["--".to_owned()][..]).unwrap_or(rest))
        }
        _ => (None, words),
    }
}

/// The container number Compose gives the `index`th container of a service:
/// its `com.docker.compose.container-number` label, else the name's `-N`.
pub fn number(container: &ProjectContainer) -> Option<u32> {
    container
        .labels
        .get("com.docker.compose.container-number")
        .and_then(|n| n.parse().ok())
        .or_else(|| container.name.rsplit('-').next().and_then(|n| n.parse().ok()))
}

/// The container of `service` with number `index` (`--index`; 1 is the
/// first, and the only one of a service named by `container_name`).
pub fn by_index<'c>(containers: &'c [ProjectContainer], service: &str, index: u32) -> Option<&'c ProjectContainer> {
    let of_service: Vec<&ProjectContainer> = containers.iter().filter(|c| c.service == service).collect();
    of_service
        .iter()
        .find(|c| number(c) == Some(index))
        .or_else(|| (index == 1 && of_service.len() == 1).then(|| &of_service[0]))
        .copied()
}

/// `--since`/`--until` as Unix seconds: RFC 3339 (`2026-11-22T10:00:00Z`),
/// Unix seconds, or an age before `now` as Go writes durations (`42m`,
/// `1h30m`, `10s`, `1.5h`).
pub fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let invalid =
        || format!("`{text}` is not a time: use RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, or an age (42m, 1h30m)");
    if let Ok(seconds) = text.parse::<f64>() {
        #[allow(clippy::cast_possible_truncation)]
        return Ok(seconds as i64);
    }
    if text.contains('T') {
        return rfc3339(text).ok_or_else(invalid);
    }
    let mut total = 0.0_f64;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return Err(invalid()),
        };
        let value: f64 = number.parse().map_err(|_| invalid())?;
        total += value * unit;
        number.clear();
        any = true;
    }
    if !any || !number.is_empty() {
        return Err(invalid());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(now - total as i64)
}

/// `2026-11-22T10:00:00Z`, `…T10:00:00.5+01:00` as Unix seconds.
fn rfc3339(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(jiff::Timestamp::as_second)
}

/// One line of `dmp ls`, with Compose's field names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectRow {
    pub name: String,
    /// `running(2), exited(1)`: states counted, sorted by state.
    pub status: String,
    /// The stack files, comma-separated, when the containers carry
    /// Compose's `com.docker.compose.project.config_files` label.
    pub config_files: String,
}

/// Projects from every project's containers: with `all`, also those with
/// no running container (as `docker compose ls -a`); sorted by name.
pub fn projects(containers: &[(String, ProjectContainer)], all: bool) -> Vec<ProjectRow> {
    let mut by_project: BTreeMap<&str, (BTreeMap<&str, usize>, String)> = BTreeMap::new();
    for (project, container) in containers {
        let entry = by_project.entry(project).or_default();
        *entry.0.entry(container.state.as_str()).or_default() += 1;
        if let Some(files) = container.labels.get("com.docker.compose.project.config_files") {
            entry.1.clone_from(files);
        }
    }
    by_project
        .into_iter()
        .filter(|(_, (states, _))| all || states.contains_key("running"))
        .map(|(name, (states, config_files))| ProjectRow {
            name: name.to_owned(),
            status: states.iter().map(|(state, n)| format!("{state}({n})")).collect::<Vec<_>>().join(", "),
            config_files,
        })
        .collect()
}

/// One side of `dmp cp`: a host path, or `SERVICE:PATH` in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpPath<'a> {
    Host(&'a str),
    Container { service: &'a str, path: &'a str },
}

/// `SERVICE:PATH` when the part before the first `:` names a service (a
/// host path may hold a `:` too); anything else is a host path.
pub fn cp_path<'a>(text: &'a str, services: &[&str]) -> CpPath<'a> {
    match text.split_once(':') {
        Some((service, path)) if services.contains(&service) => CpPath::Container { service, path },
        _ => CpPath::Host(text),
    }
}

/// What a `dmp cp` path names, on the host or in the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Missing,
    File,
    Dir,
}

/// Where `dmp cp` puts the source, as `docker cp` decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Inside the existing directory DEST, under the source's own name
    /// (its contents with `SRC/.`).
    Into,
    /// As DEST itself: in DEST's parent under DEST's last name.
    As,
}

/// Why `docker cp` refuses a copy, in its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpRefusal {
    /// A directory onto an existing file.
    CannotCopyDir,
    /// A file to `DEST/` where DEST does not exist.
    NoSuchDirectory,
}

impl CpRefusal {
    /// `docker cp`'s words (moby's `archive.Err…`).
    pub fn words(self) -> &'static str {
        match self {
            Self::CannotCopyDir => "cannot copy directory",
            Self::NoSuchDirectory => "no such directory",
        }
    }
}

/// `docker cp`'s rule (moby's `PrepareArchiveCopy`): into DEST when it is
/// an existing directory, trailing `/` or not; as DEST otherwise. A
/// directory cannot replace a file, and a file cannot make a DEST ending
/// in `/` that does not exist.
pub fn placement(source_is_dir: bool, dest: Found, dest_ends_in_slash: bool) -> Result<Placement, CpRefusal> {
    match dest {
        Found::Dir => Ok(Placement::Into),
        Found::File if source_is_dir => Err(CpRefusal::CannotCopyDir),
        Found::Missing if dest_ends_in_slash && !source_is_dir => Err(CpRefusal::NoSuchDirectory),
        Found::File | Found::Missing => Ok(Placement::As),
    }
}

/// `s` unless there is exactly one: `1 container`, `2 containers`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(service: &str, name: &str, state: &str) -> ProjectContainer {
        ProjectContainer {
            service: service.into(),
            name: name.into(),
            state: state.into(),
            ..ProjectContainer::default()
        }
    }

    #[test]
    fn each_verb_acts_on_the_containers_compose_would() {
        let all = [
            container("a", "p-a-1", "running"),
            container("b", "p-b-1", "exited"),
            container("c", "p-c-1", "paused"),
            container("d", "p-d-1", "created"),
        ];
        let names = |verb| targets(verb, &all).iter().map(|c| c.service.clone()).collect::<String>();
        let table = [
            (Verb::Start, "bd"),
            (Verb::Stop, "ac"),
            (Verb::Restart, "abcd"),
            (Verb::Kill, "a"),
            (Verb::Pause, "a"),
            (Verb::Unpause, "c"),
            (Verb::Remove { stop: false }, "bd"),
            (Verb::Remove { stop: true }, "abcd"),
        ];
        for (verb, expected) in table {
            assert_eq!(names(verb), expected, "{verb:?}");
        }
    }

    #[test]
    fn sh_takes_a_first_word_naming_a_service_as_the_service() {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let services = ["wsgi", "nginx"];
        let cases: [(&[&str], Option<&str>, &[&str]); 5] = [
            (&[], None, &[]),
            (&["wsgi", "--", "ls"], Some("wsgi"), &["ls"]),
            (&["nginx"], Some("nginx"), &[]),
            (&["wsgi", "ls", "-la"], Some("wsgi"), &["ls", "-la"]),
            (&["ls", "-la"], None, &["ls", "-la"]),
        ];
        for (given, service, command) in cases {
            let given = words(given);
            let (s, c) = sh_words(&given, &services);
            assert_eq!((s, c), (service, words(command).as_slice()), "{given:?}");
        }
    }

    #[test]
    fn index_picks_the_container_by_its_number() {
        let all = [container("web", "p-web-1", "running"), container("web", "p-web-2", "running")];
        assert_eq!(by_index(&all, "web", 2).map(|c| c.name.as_str()), Some("p-web-2"));
        assert!(by_index(&all, "web", 3).is_none());
        let named = [container("db", "my-database", "running")];
        assert_eq!(by_index(&named, "db", 1).map(|c| c.name.as_str()), Some("my-database"));
        assert!(by_index(&named, "db", 2).is_none());
    }

    #[test]
    fn since_reads_times_seconds_and_ages() {
        let now = 1_800_000_000;
        assert_eq!(parse_time("1763805600", now), Ok(1_763_805_600));
        assert_eq!(parse_time("2025-11-22T10:00:00Z", now), Ok(1_763_805_600));
        assert_eq!(parse_time("2025-11-22T11:00:00.123+01:00", now), Ok(1_763_805_600));
        assert_eq!(parse_time("42m", now), Ok(now - 42 * 60));
        assert_eq!(parse_time("1h30m", now), Ok(now - 5400));
        assert_eq!(parse_time("1.5h", now), Ok(now - 5400));
        assert_eq!(parse_time("10s", now), Ok(now - 10));
        for bad in ["", "yesterday", "5x", "10m5"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn ls_counts_states_and_hides_stopped_projects_unless_all() {
        let mut labelled = container("a", "one-a-1", "running");
        labelled.labels.insert("com.docker.compose.project.config_files".into(), "/app/dmp.yml".into());
        let all = vec![
            ("one".to_owned(), labelled),
            ("one".to_owned(), container("b", "one-b-1", "exited")),
            ("one".to_owned(), container("c", "one-c-1", "running")),
            ("two".to_owned(), container("a", "two-a-1", "exited")),
        ];
        let running = projects(&all, false);
        assert_eq!(
            running,
            [ProjectRow {
                name: "one".into(),
                status: "exited(1), running(2)".into(),
                config_files: "/app/dmp.yml".into()
            }]
        );
        assert_eq!(projects(&all, true).len(), 2);
    }

    #[test]
    fn cp_paths_name_a_service_or_the_host() {
        let services = ["web"];
        assert_eq!(cp_path("web:/etc/hosts", &services), CpPath::Container { service: "web", path: "/etc/hosts" });
        assert_eq!(cp_path("./out", &services), CpPath::Host("./out"));
        assert_eq!(cp_path("a:b", &services), CpPath::Host("a:b"));
    }

    #[test]
    fn cp_places_the_source_as_docker_cp_does() {
        use Found::{Dir, File, Missing};
        use Placement::{As, Into};
        let table = [
            // (source is a directory, destination, ends in /) → placement
            (false, Dir, false, Ok(Into)),
            (false, Dir, true, Ok(Into)),
            (true, Dir, false, Ok(Into)),
            (false, File, false, Ok(As)),
            (true, File, false, Err(CpRefusal::CannotCopyDir)),
            (false, Missing, false, Ok(As)),
            (true, Missing, false, Ok(As)),
            (true, Missing, true, Ok(As)),
            (false, Missing, true, Err(CpRefusal::NoSuchDirectory)),
        ];
        for (dir, dest, slash, expected) in table {
            assert_eq!(placement(dir, dest, slash), expected, "{dir} {dest:?} {slash}");
        }
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "network"), "1 network");
        assert_eq!(plural(0, "network"), "0 networks");
        assert_eq!(plural(2, "container"), "2 containers");
    }
}

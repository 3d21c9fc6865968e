//! dmp's own settings, under `x-dmp:`.

use serde::Serialize;

/// dmp's own settings, under `x-dmp:` (Compose ignores `x-` keys).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct DmpSettings {
    /// The app service: where `sh`, `migrate` and `start` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The service whose published port is the app's address (nginx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// The path `up` requests to know the app answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Vec<String>>,
    /// Asset rules: `up` runs each once; `dmp watch` reruns them on changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
    /// `AUTO_START_SERVER=true` in the environment or `.env`: `up` ends by
    /// running `start`.
    #[serde(skip)]
    pub auto_start_server: bool,
}

/// A command that rebuilds assets, run in a long-lived service.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WatchRule {
    pub name: String,
    /// A shell command, run with `sh -c` in the service's working directory.
    pub command: String,
    /// Default: `buildstatic`.
    pub service: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// A long-lived worker that `dmp watch` keeps running and sends each
    /// build to (one line in, the output and an end line out), instead of
    /// one exec of `command` per change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve: Option<String>,
    /// What the rule writes (paths relative to the project): `up` reruns
    /// the rule when one is missing, even if no source changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
    /// Nanoseconds a build may take in the rule's worker before the worker
    /// is taken for wedged, killed and restarted (`None`: the default).
    #[serde(skip_serializing_if = "Option::is_none", with = "super::duration_text")]
    pub timeout: Option<u64>,
}

impl DmpSettings {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

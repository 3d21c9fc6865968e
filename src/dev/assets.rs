//! The assets' first build, before the app is served.

use std::time::Instant;

use bollard::Docker;

use crate::compose::Project;
use crate::dev::error::{DevError, Result};
use crate::stack::{container_name, exec, spec};
use crate::ui::Progress;
use crate::watch::{Filters, stamp};

/// The assets' first build, so the output matches the sources: `npm ci`
/// when package-lock.json changed since the last install, then each watch
/// rule once, in the rule's service, unless its content stamp says its
/// sources and outputs are as its last good build left them.
pub async fn build_assets(docker: &Docker, project: &Project, progress: &Progress) -> Result<()> {
    let lock = project.dir.join("package-lock.json");
    let rule_services: std::collections::BTreeSet<&str> =
        project.dmp.watch.iter().map(|r| r.service.as_str()).collect();
    if let (Ok(lock_text), Some(service)) = (std::fs::read(&lock), rule_services.iter().next()) {
        let hash = spec::sha256_hex(&lock_text);
        let marker = project.dir.join("node_modules/.dmp-package-lock.sha256");
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(hash.as_str()) {
            let container = container_name(project, service);
            let mut task = progress.task("npm ci");
            task.announce("installing node_modules (package-lock.json changed)");
            let script = format!(
                "npm ci --no-audit --no-fund && mkdir -p node_modules && echo -n {hash} > node_modules/.dmp-package-lock.sha256"
            );
            let (code, output) = exec::capture(docker, &container, vec!["sh".into(), "-c".into(), script]).await?;
            if code != 0 {
                task.finish(false, "failed");
                return Err(DevError::AssetBuild { rule: "npm ci".into(), code, output });
            }
            task.finish(true, "installed");
        }
    }
    let rules = &project.dmp.watch;
    // Unusable globs build every time (and `watch` names the error).
    let sources = Filters::new(&project.dir, rules).ok().map(|f| stamp::sources(&project.dir, &f, rules.len()));
    let builds = rules.iter().enumerate().map(|(index, rule)| {
        let sources = sources.as_ref().map(|s| s[index].as_slice());
        async move {
            let now = sources.map(|s| stamp::current(&project.dir, rule, s));
            let decision = match &now {
                Some(now) => stamp::decide(
                    stamp::last(&project.dir, rule).as_deref(),
                    now,
                    stamp::missing_output(&project.dir, rule),
                ),
                None => stamp::Decision::NeverBuilt,
            };
            tracing::debug!(target: "dmp::dev", "asset rule {}: {decision:?}", rule.name);
            if !decision.build() {
                return Ok(());
            }
            let mut task = progress.task(&rule.name);
            task.announce(&format!("building: {}", rule.command));
            let container = container_name(project, &rule.service);
            let started = Instant::now();
            let result = exec::capture(docker, &container, vec!["sh".into(), "-c".into(), rule.command.clone()]).await;
            match result {
                Ok((0, _)) => {
                    if let Some(now) = &now {
                        stamp::record(&project.dir, rule, now);
                    }
                    task.finish(true, &format!("built in {:.2} s", started.elapsed().as_secs_f64()));
                    Ok(())
                }
                Ok((code, output)) => {
                    stamp::forget(&project.dir, rule);
                    task.finish(false, "failed");
                    Err(DevError::AssetBuild { rule: rule.name.clone(), code, output })
                }
                Err(e) => Err(e.into()),
            }
        }
    });
    for result in futures_util::future::join_all(builds).await {
        result?;
    }
    Ok(())
}

//! The app's migrations, in the app container.

use bollard::Docker;

use crate::compose::Project;
use crate::dev::error::{DevError, Result};
use crate::stack::StackError;
use crate::stack::exec::{self, Attach};

/// The migrate command: `x-dmp.migrate`, else Django's when there is a
/// manage.py.
pub fn migrate_command(project: &Project) -> Result<Vec<String>> {
    if let Some(command) = &project.dmp.migrate {
        return Ok(command.clone());
    }
    if project.dir.join("manage.py").is_file() {
        return Ok(["python3", "manage.py", "migrate", "--noinput"].map(str::to_owned).to_vec());
    }
    Err(DevError::Stack(StackError::NotConfigured {
        what: "how to run migrations".into(),
        fix: "set `x-dmp: { migrate: COMMAND }` in the stack file".into(),
    }))
}

/// Runs the migrations in the app container as a step of `start`, their
/// output streamed to stderr; an error unless they succeed.
pub async fn migrate(docker: &Docker, project: &Project, container: &str) -> Result<()> {
    let command = migrate_command(project)?;
    // With --quiet the output is shown only when they fail.
    let code = if crate::ui::quiet() {
        let (code, output) = exec::capture(docker, container, command.clone()).await?;
        if code != 0 {
            eprint!("{output}");
        }
        Some(code)
    } else {
        exec::run(docker, container, command.clone(), Attach::Log, None).await?
    };
    let command = shell_words::join(&command);
    let container = container.to_owned();
    match code {
        Some(0) => Ok(()),
        Some(code) => Err(DevError::CommandFailed { command, container, code }),
        None => Err(DevError::ExitUnknown { command, container }),
    }
}

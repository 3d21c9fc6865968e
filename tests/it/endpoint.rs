//! dmp reaches the Engine the docker CLI would: through a Docker context
//! (named, or the CLI's current one) and over `tcp://`.

use std::net::{Shutdown, TcpListener};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::Digest as _;

use crate::support::{StackDir, dmp_in, require_engine, text};

const SLEEPER: &str =
    "services:\n  box:\n    image: debian:bookworm-slim\n    command: [sleep, infinity]\n    init: true\n";

/// The socket the tests' own client uses.
fn engine_socket() -> PathBuf {
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    PathBuf::from(host.strip_prefix("unix://").unwrap_or("/var/run/docker.sock"))
}

/// A context as `docker context create NAME --docker host=HOST` stores it.
fn store_context(config: &Path, name: &str, host: &str) {
    let id = sha2::Sha256::digest(name.as_bytes()).iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    let meta = config.join("contexts/meta").join(id);
    std::fs::create_dir_all(&meta).expect("mkdir");
    let json = serde_json::json!({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}});
    std::fs::write(meta.join("meta.json"), json.to_string()).expect("write meta.json");
}

#[test]
fn the_current_docker_context_and_context_flag_choose_the_engine() {
    let engine = require_engine!();
    let stack = StackDir::new(engine, "context", SLEEPER, &[]);
    let config = tempfile::tempdir().expect("temp dir");
    // The Engine under another path, as Colima or rootless Docker put it.
    let socket = config.path().join("engine.sock");
    std::os::unix::fs::symlink(engine_socket(), &socket).expect("symlink");
    store_context(config.path(), "dmp-it", &format!("unix://{}", socket.display()));
    store_context(config.path(), "dmp-dead", "unix:///nonexistent/dmp-it.sock");
    std::fs::write(config.path().join("config.json"), r#"{"currentContext":"dmp-it"}"#).expect("config.json");
    let env = [("DOCKER_CONFIG", config.path().to_str().expect("utf-8")), ("DOCKER_HOST", ""), ("DOCKER_CONTEXT", "")];

    let up = dmp_in(stack.dir.path(), &["up", "--no-wait"], &env);
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert_eq!(stack.containers().len(), 1);

    // The choice is real: a context naming no Engine fails and names it,
    // whether chosen by DOCKER_CONTEXT or by --context over DOCKER_HOST.
    let dead_env = [env[0], ("DOCKER_HOST", ""), ("DOCKER_CONTEXT", "dmp-dead")];
    let flag_env = [env[0], ("DOCKER_HOST", "unix:///var/run/docker.sock"), ("DOCKER_CONTEXT", "")];
    for (args, env) in [(&["ps"][..], &dead_env), (&["--context", "dmp-dead", "ps"][..], &flag_env)] {
        let dead = dmp_in(stack.dir.path(), args, env);
        assert!(!dead.status.success(), "{args:?}");
        let stderr = text(&dead.stderr);
        assert!(stderr.contains("unix:///nonexistent/dmp-it.sock"), "{args:?}: {stderr}");
    }
    let unknown = dmp_in(stack.dir.path(), &["--context", "no-such", "ps"], &env);
    assert!(text(&unknown.stderr).contains("no Docker context named \"no-such\""), "{}", text(&unknown.stderr));
}

/// Forwards TCP connections on 127.0.0.1 to the Engine's socket, counting
/// them: an Engine "listening on tcp://" without reconfiguring the Engine.
fn tcp_forwarder() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let socket = engine_socket();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::Relaxed);
            let Ok(engine) = UnixStream::connect(&socket) else { continue };
            let (mut client_in, mut engine_out) =
                (client.try_clone().expect("clone"), engine.try_clone().expect("clone"));
            std::thread::spawn(move || {
                let _ = copy(&mut client_in, &mut engine_out);
                let _ = engine_out.shutdown(Shutdown::Write);
            });
            let (mut engine_in, mut client_out) = (engine, client);
            std::thread::spawn(move || {
                let _ = copy(&mut engine_in, &mut client_out);
                let _ = client_out.shutdown(Shutdown::Write);
            });
        }
    });
    (port, connections)
}

fn copy(from: &mut impl std::io::Read, to: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buffer[..n])?;
    }
}

#[test]
fn an_engine_over_tcp_runs_the_stack() {
    let engine = require_engine!();
    let stack = StackDir::new(engine, "tcp", SLEEPER, &[]);
    let (port, connections) = tcp_forwarder();
    let host = format!("tcp://127.0.0.1:{port}");
    let env = [("DOCKER_HOST", host.as_str()), ("DOCKER_CONTEXT", "")];
    let up = dmp_in(stack.dir.path(), &["up", "--no-wait"], &env);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let ps = dmp_in(stack.dir.path(), &["ps"], &env);
    assert!(ps.status.success(), "{}", text(&ps.stderr));
    assert!(text(&ps.stdout).contains("box"), "{}", text(&ps.stdout));
    assert_eq!(stack.containers().len(), 1);
    assert!(connections.load(Ordering::Relaxed) > 0, "dmp did not go through tcp://");
}

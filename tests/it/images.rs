//! The five base images, built by `dmp images build` and run for real.

use std::collections::HashMap;
use std::io::Read as _;
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Container, Scope, Spec, WSGI_APP, base_images, dmp, images_version, require_engine, shared_dir, test_label, text,
};

const FIVE: [&str; 5] = ["http-buildstatic", "http-frontend", "http-headless", "wsgi", "wsgi-antivirus"];
const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

fn image_ids(report: &[Value]) -> HashMap<String, String> {
    report
        .iter()
        .map(|r| (r["name"].as_str().expect("a name").to_owned(), r["image_id"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[test]
fn a_rebuild_with_nothing_changed_comes_from_the_cache_with_the_same_ids() {
    let engine = require_engine!();
    let first = base_images();
    let mut names: Vec<&str> = first.iter().map(|r| r["name"].as_str().expect("a name")).collect();
    names.sort_unstable();
    assert_eq!(names, FIVE);

    let output = dmp(&["images", "build", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let second: Value = serde_json::from_slice(&output.stdout).expect("--json output");
    assert_eq!(second["schema"], 1);
    let second: Vec<Value> = serde_json::from_value(second["images"].clone()).expect("images");
    for report in &second {
        assert_eq!(report["status"], "cached", "not served from the cache: {report}");
        assert_eq!(report["steps"], report["cached_steps"], "{report}");
    }
    assert_eq!(image_ids(first), image_ids(&second), "a cached rebuild must not change image IDs");

    // Both tags, and the labels, on every image.
    let version = images_version();
    let mut digests = std::collections::BTreeSet::new();
    for name in FIVE {
        let (versioned, latest) = engine.block_on(async {
            let docker = &engine.docker;
            (
                docker.inspect_image(&format!("dmp/{name}:{version}")).await.expect("versioned tag"),
                docker.inspect_image(&format!("dmp/{name}:latest")).await.expect("latest tag"),
            )
        });
        assert_eq!(versioned.id, latest.id, "{name}: :latest and :{version} differ");
        let labels = versioned.config.and_then(|c| c.labels).unwrap_or_default();
        assert_eq!(labels.get("org.opencontainers.image.version"), Some(&version), "{name}");
        for key in ["org.opencontainers.image.revision", "org.opencontainers.image.created"] {
            assert!(labels.get(key).is_some_and(|v| !v.is_empty()), "{name}: no {key} label");
        }
        assert_eq!(labels.get("dev.dmp.image").map(String::as_str), Some(name));
        // The digest of the sources: `up` rebuilds an image whose digest is
        // not this dmp's (docs/images.md). One tree, one digest.
        let digest = labels.get("dev.dmp.source-digest").cloned().unwrap_or_default();
        assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "{name}: digest {digest:?}");
        digests.insert(digest);
    }
    assert_eq!(digests.len(), 1, "the five images carry different source digests: {digests:?}");
}

#[test]
fn wsgi_serves_an_app_on_8888_as_a_non_root_user_and_turns_healthy() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "wsgi");
    let app = shared_dir(&[("application.py", WSGI_APP)], false);
    let wsgi = serve_app(&scope, "dmp/wsgi:latest", &app, None);

    let response = wsgi.get(8888, "/hello?x=1", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    let body: Value = serde_json::from_slice(&response.body).expect("JSON from the app");
    assert_eq!(body["app"], "dmp-test");
    assert_eq!(body["path"], "/hello");

    wsgi.wait_healthy(HEALTHY_WITHIN);
    wsgi.assert_non_root();
    let processes = wsgi.processes();
    let master = &processes[0].1;
    for setting in ["--http-socket :8888", "--buffer-size 32768", "--harakiri 60", "--reload-on-rss 256", "--master"] {
        assert!(master.contains(setting), "uWSGI runs without {setting}: {master}");
    }
    // The master and four workers.
    assert_eq!(processes.iter().filter(|(_, cmd)| cmd.starts_with("uwsgi")).count(), 5, "{processes:?}");
}

#[test]
fn wsgi_antivirus_runs_with_the_smaller_buffer_and_openssl() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "antivirus");
    let app = shared_dir(&[("application.py", WSGI_APP)], false);
    let wsgi = serve_app(&scope, "dmp/wsgi-antivirus:latest", &app, None);
    assert_eq!(wsgi.get(8888, "/_status", &[]).status, 200);
    wsgi.assert_non_root();
    let master = wsgi.processes().remove(0).1;
    assert!(master.contains("--buffer-size 16384"), "{master}");

    let probe = scope.run(Spec {
        image: "dmp/wsgi-antivirus:latest",
        name: "openssl",
        cmd: Some(vec!["openssl", "version"]),
        ..Spec::default()
    });
    assert_eq!(probe.wait_exit(Duration::from_secs(30)), 0, "{}", probe.logs());
    assert!(probe.logs().starts_with("OpenSSL 3."), "{}", probe.logs());
}

/// A uWSGI image serving `app` (mounted read-only at /app): on `network`
/// when given, else with 8888 published on 127.0.0.1.
fn serve_app(scope: &Scope, image: &str, app: &tempfile::TempDir, network: Option<&str>) -> Container {
    scope.run(Spec {
        image,
        name: "wsgi",
        binds: vec![format!("{}:/app:ro", app.path().display())],
        publish: if network.is_some() { vec![] } else { vec![8888] },
        network,
        ..Spec::default()
    })
}

/// A stylesheet large enough for nginx to gzip (it skips bodies under 20 bytes).
fn stylesheet() -> String {
    use std::fmt::Write as _;
    let mut css = String::new();
    for i in 0..200 {
        writeln!(css, ".rule-{i} {{ color: #{i:06x}; }}").expect("writing to a String");
    }
    css
}

/// wsgi and an nginx image in front of it on one network; `static/site.css`
/// in the shared app directory.
fn proxied_stack(scope: &Scope, nginx_image: &str, app: &tempfile::TempDir) -> Container {
    let network = scope.network();
    let wsgi = serve_app(scope, "dmp/wsgi:latest", app, Some(&network));
    scope.run(Spec {
        image: nginx_image,
        name: "nginx",
        env: vec![format!("DM_BACKEND={}:8888", wsgi.name), "DM_APP_NAME=dmp-test-app".into()],
        binds: vec![format!("{}:/app:ro", app.path().display())],
        publish: vec![8080],
        network: Some(&network),
        ..Spec::default()
    })
}

#[test]
fn http_frontend_proxies_with_host_and_serves_static_files_gzipped_and_cached() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "frontend");
    let css = stylesheet();
    let app = shared_dir(&[("application.py", WSGI_APP), ("static/css/site.css", &css)], false);
    let nginx = proxied_stack(&scope, "dmp/http-frontend:latest", &app);

    // Proxied to the app, with the browser's Host.
    let response = nginx.get(8080, "/some/page", &[("Host", "shop.example.test")]);
    assert_eq!(response.status, 200, "{response:?}");
    let body: Value = serde_json::from_slice(&response.body).expect("the app's JSON");
    assert_eq!(body["path"], "/some/page");
    assert_eq!(body["host"], "shop.example.test");

    // Static files from /app/static, gzipped, with the cache header; also
    // under a path prefix.
    for path in ["/static/css/site.css", "/admin/static/css/site.css"] {
        let response = nginx.get(8080, path, &[("Accept-Encoding", "gzip")]);
        assert_eq!(response.status, 200, "{path}: {response:?}");
        assert_eq!(response.header("Content-Encoding"), Some("gzip"), "{path}");
        assert_eq!(response.header("Cache-Control"), Some("public, max-age=86400"), "{path}");
        let mut plain = String::new();
        flate2::read::GzDecoder::new(response.body.as_slice()).read_to_string(&mut plain).expect("gzip body");
        assert_eq!(plain, css, "{path}");
    }
    let missing = nginx.get(8080, "/static/css/nope.css", &[]);
    assert_eq!(missing.status, 404);

    // JSON access log on stdout, tagged with the app name.
    let logs = nginx.logs();
    let entry: Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["uri"] == "/some/page")
        .unwrap_or_else(|| panic!("no JSON access log line for /some/page in:\n{logs}"));
    assert_eq!(entry["app"], "dmp-test-app");
    assert_eq!(entry["status"], 200);

    nginx.wait_healthy(HEALTHY_WITHIN);
    nginx.assert_non_root();
}

#[test]
fn http_headless_proxies_static_paths_to_the_app_instead_of_serving_files() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "headless");
    let app = shared_dir(&[("application.py", WSGI_APP), ("static/css/site.css", &stylesheet())], false);
    let nginx = proxied_stack(&scope, "dmp/http-headless:latest", &app);

    let response = nginx.get(8080, "/static/css/site.css", &[("Host", "api.example.test")]);
    assert_eq!(response.status, 200, "{response:?}");
    let body: Value = serde_json::from_slice(&response.body).expect("the app's JSON, not the file");
    assert_eq!(body["path"], "/static/css/site.css");
    assert!(response.header("Cache-Control").is_none(), "{response:?}");
    // Headless passes the backend's name as Host, as the original did.
    assert_ne!(body["host"], "api.example.test");

    nginx.wait_healthy(HEALTHY_WITHIN);
    nginx.assert_non_root();
}

#[test]
fn http_buildstatic_compiles_scss_and_bundles_js_without_network() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "buildstatic");
    let app = shared_dir(
        &[
            ("assets/scss/_colours.scss", "$brand: #1d70b8;\n"),
            ("assets/scss/application.scss", "@import \"colours\";\n.header { a { color: $brand; } }\n"),
            ("assets/js/greet.js", "export function greet(name) { return `hello ${name}`; }\n"),
            ("assets/js/main.js", "import { greet } from './greet.js';\ndocument.title = greet('dmp');\n"),
        ],
        true,
    );
    let build = "mkdir -p static/css static/js \
        && sassc --style expanded assets/scss/application.scss static/css/application.css \
        && esbuild assets/js/main.js --bundle --outfile=static/js/main.js";
    let builder = scope.run(Spec {
        image: "dmp/http-buildstatic:latest",
        name: "build",
        cmd: Some(vec!["bash", "-c", build]),
        binds: vec![format!("{}:/app", app.path().display())],
        network: Some("none"),
        ..Spec::default()
    });
    assert_eq!(builder.wait_exit(Duration::from_secs(60)), 0, "{}", builder.logs());

    let css = std::fs::read_to_string(app.path().join("static/css/application.css")).expect("compiled CSS");
    assert!(css.contains(".header a"), "nesting not compiled: {css}");
    assert!(css.contains("#1d70b8"), "the partial's variable not used: {css}");
    let js = std::fs::read_to_string(app.path().join("static/js/main.js")).expect("bundled JS");
    assert!(js.contains("hello ${name}") && js.contains("greet(\"dmp\")"), "import not bundled: {js}");
    assert!(!js.contains("import "), "{js}");

    // The image's own command idles for execs, as a non-root user.
    let idle = scope.run(Spec { image: "dmp/http-buildstatic:latest", name: "idle", ..Spec::default() });
    std::thread::sleep(Duration::from_millis(300));
    idle.assert_non_root();
}

#[test]
fn a_failed_build_shows_the_step_and_its_output_and_keeps_the_earlier_tag() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "failbuild");
    let name = scope.name("img");
    let (label_key, label_value) = test_label();
    let good = format!(
        "FROM debian:bookworm-slim\nLABEL {label_key}={label_value} dev.dmp.test.image={name}\nRUN echo good > /marker\n"
    );
    let dir = shared_dir(&[("VERSION", "0.0.1\n"), (&format!("{name}/Dockerfile"), &good)], false);
    let tag = format!("dmp/{name}:0.0.1");
    scope.own_image(&tag);
    scope.own_image(&format!("dmp/{name}:latest"));
    let images_dir = dir.path().to_string_lossy().into_owned();

    let output = dmp(&["images", "build", "--images-dir", &images_dir, "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let good_id = engine.block_on(engine.docker.inspect_image(&tag)).expect("tagged").id;

    let bad = format!("{good}RUN echo before-the-failure && echo boom-marker >&2 && exit 7\n");
    std::fs::write(dir.path().join(&name).join("Dockerfile"), bad).expect("write");
    let output = dmp(&["images", "build", "--images-dir", &images_dir], &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("{tag} failed at Step 4/")), "{stderr}");
    assert!(stderr.contains(" : RUN echo before-the-failure"), "{stderr}");
    assert!(stderr.contains("boom-marker"), "the step's output is missing: {stderr}");
    assert!(stderr.contains("returned a non-zero code: 7"), "{stderr}");

    let id_after = engine.block_on(engine.docker.inspect_image(&tag)).expect("still tagged").id;
    assert_eq!(id_after, good_id, "a failed build must leave the earlier tag in place");
}

#[test]
fn the_build_context_honours_dockerignore_on_the_engine_and_no_cache_rebuilds() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "context");
    let name = scope.name("ctx");
    let (label_key, label_value) = test_label();
    let dockerfile =
        format!("FROM debian:bookworm-slim\nLABEL {label_key}={label_value} dev.dmp.test.image={name}\nCOPY . /ctx\n");
    let dir = shared_dir(
        &[
            ("VERSION", "0.0.1\n"),
            (&format!("{name}/Dockerfile"), &dockerfile),
            (".dockerignore", "**/*.md\nsecrets\n!secrets/public.pem\n*.log\n"),
            ("notes.md", "x"),
            ("docs/deep/guide.md", "x"),
            ("secrets/private.pem", "x"),
            ("secrets/public.pem", "x"),
            ("build.log", "x"),
            ("logs/keep.log", "x"),
            ("src/app.py", "x"),
        ],
        false,
    );
    let tag = format!("dmp/{name}:0.0.1");
    scope.own_image(&tag);
    scope.own_image(&format!("dmp/{name}:latest"));
    let images_dir = dir.path().to_string_lossy().into_owned();
    let output = dmp(&["images", "build", "--images-dir", &images_dir], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // --no-cache runs every step again.
    let output = dmp(&["images", "build", "--images-dir", &images_dir, "--no-cache", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json output");
    let report = report["images"].as_array().expect("images").clone();
    assert_eq!(report[0]["status"], "built", "{report:?}");
    assert_eq!(report[0]["cached_steps"], 0, "{report:?}");

    let lister = scope.run(Spec {
        image: &tag,
        name: "ls",
        cmd: Some(vec!["sh", "-c", "cd /ctx && find . -type f | sort"]),
        ..Spec::default()
    });
    assert_eq!(lister.wait_exit(Duration::from_secs(30)), 0);
    let files: Vec<String> = lister.logs().lines().map(str::to_owned).collect();
    let expected = [
        "./.dockerignore".to_owned(),
        "./VERSION".to_owned(),
        // dmp adds the host's CA bundle (empty without one) to base image contexts.
        "./dmp-ca-certificates.crt".to_owned(),
        format!("./{name}/Dockerfile"),
        "./logs/keep.log".to_owned(),
        "./secrets/public.pem".to_owned(),
        "./src/app.py".to_owned(),
    ];
    assert_eq!(files, expected);
}

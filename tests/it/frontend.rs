//! The real frontend loop: Node from the official binaries in buildstatic
//! (the project's `.nvmrc` major), npm through the host's CA, and the
//! GOV.UK demo styled in a real browser and restyled on a save.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{StackDir, base_images, dmp_in, images_version, repo_path, require_engine, text};
use crate::watch::{Watch, served};
use crate::workflow::demo;

fn buildstatic_stack() -> String {
    format!("services:\n  buildstatic:\n    image: dmp/http-buildstatic:{}\n", images_version())
}

/// Whether this machine names a CA bundle for dmp to hand on.
fn host_has_ca() -> bool {
    ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|p| Path::new(&p).is_file()))
}

const NPM_VIEW: &str = "timeout 90 npm view --fetch-retries=0 left-pad version 2>&1";

#[test]
fn npm_reaches_the_registry_in_buildstatic_through_the_host_ca_and_not_without_it() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "npm-ca", &buildstatic_stack(), &[]);
    stack.ok(&["up"]);
    let node = stack.ok(&["sh", "--", "node", "--version"]);
    assert!(node.starts_with("v24."), "the default Node: {node}");
    let view = stack.dmp(&["sh", "--", "sh", "-c", NPM_VIEW]);
    assert!(view.status.success(), "npm view with the host's CA: {}", text(&view.stdout));
    assert_eq!(text(&view.stdout).trim(), "1.3.0");

    if !host_has_ca() {
        eprintln!("SKIPPED the half without the CA: this host names no CA bundle");
        return;
    }
    // DMP_CA_CERTS=none: the container is recreated without the bundle.
    let up = dmp_in(stack.dir.path(), &["up"], &[("DMP_CA_CERTS", "none")]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let view = stack.dmp(&["sh", "--", "sh", "-c", NPM_VIEW]);
    assert!(!view.status.success(), "npm view worked without the CA: {}", text(&view.stdout));
}

#[test]
fn nvmrc_picks_the_node_major_of_buildstatic() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "nvmrc", &buildstatic_stack(), &[(".nvmrc", "22\n")]);
    let config = stack.ok(&["config"]);
    assert!(config.contains(&format!("dmp/http-buildstatic:{}-node22", images_version())), "{config}");
    stack.ok(&["up"]);
    let node = stack.ok(&["sh", "--", "node", "--version"]);
    assert!(node.starts_with("v22."), ".nvmrc asked for 22: {node}");
    let npm = stack.ok(&["sh", "--", "npm", "--version"]);
    assert!(npm.starts_with("11."), "npm for Node 22: {npm}");
}

/// A PNG screenshot of `url` by Debian's headless Chromium: width, height
/// and the RGB of every pixel.
fn screenshot(url: &str, path: &Path) -> (u32, u32, Vec<u8>) {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1024,1200",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", path.display()))
        .arg(url)
        .output()
        .expect("chromium (scripts/test.sh installs Debian's chromium)");
    assert!(path.is_file(), "no screenshot: {}", text(&output.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("open png")));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    pixels.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => pixels,
        png::ColorType::Rgba => pixels.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        other => panic!("a {other:?} screenshot"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{info:?}");
    (info.width, info.height, rgb)
}

#[test]
fn the_govuk_demo_looks_styled_in_a_browser() {
    let engine = require_engine!();
    base_images();
    let (stack, port) = demo(engine, "govuk-look", true);
    stack.ok(&["up"]);
    // The fonts and images nginx serves from /static/govuk/, and the admin's
    // own styles (collectstatic).
    served(port, "/static/govuk/fonts/bold-b542beb274-v2.woff2");
    served(port, "/static/govuk/images/govuk-crest.svg");
    assert!(served(port, "/static/admin/css/base.css").contains("body"));

    let dir: PathBuf = repo_path("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join("govuk-demo.png");
    let _ = std::fs::remove_file(&path);
    let (width, height, rgb) = screenshot(&format!("http://127.0.0.1:{port}/?error=1"), &path);
    let pixel = |x: u32, y: u32| {
        let i = ((y * width + x) * 3) as usize;
        (rgb[i], rgb[i + 1], rgb[i + 2])
    };
    let count = |colour: (u8, u8, u8)| {
        (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).filter(|&(x, y)| pixel(x, y) == colour).count()
    };
    // The header's brand blue at its left edge, the error summary's red
    // border, the green button: none of them exist on an unstyled page.
    assert_eq!(pixel(4, 10), (0x1d, 0x70, 0xb8), "the header is not GOV.UK blue; see {}", path.display());
    assert!(count((0xca, 0x35, 0x35)) > 500, "no error summary border; see {}", path.display());
    assert!(count((0x0f, 0x7a, 0x52)) > 500, "no green button; see {}", path.display());
}

#[test]
fn a_save_to_a_govuk_partial_is_served_restyled_and_a_sass_error_names_file_and_line() {
    let engine = require_engine!();
    base_images();
    let (stack, port) = demo(engine, "govuk-watch", false);
    stack.ok(&["up"]);
    let watch = Watch::start(&stack, &[]);

    let partial = std::fs::read_to_string(stack.dir.path().join("assets/scss/_notes.scss")).expect("partial");
    stack.write("assets/scss/_notes.scss", &format!("{partial}\n.app-restyled {{ color: #c0ffee; }}\n"));
    let build = watch.build_of("styles");
    assert_eq!(build["ok"], true, "{build}");
    let css = served(port, "/static/css/application.css");
    assert!(css.contains(".app-restyled{color:#c0ffee}") && css.contains(".govuk-header{"), "not restyled");

    let good = css;
    stack.write(
        "assets/scss/_notes.scss",
        &format!("{partial}\n\n.app-broken {{ color: govuk.no-such-function(1); }}\n"),
    );
    let failed = watch.build_of("styles");
    assert_eq!(failed["ok"], false, "{failed}");
    let output = failed["output"].as_str().expect("output");
    let line = partial.lines().count() + 3;
    assert!(output.contains(&format!("assets/scss/_notes.scss {line}:")), "no file:line in: {output}");
    assert_eq!(served(port, "/static/css/application.css"), good, "a failed build replaced the CSS");

    stack.write("assets/scss/_notes.scss", &partial);
    assert_eq!(watch.build_of("styles")["ok"], true);
    assert!(!served(port, "/static/css/application.css").contains("c0ffee"), "not rebuilt after the fix");
}

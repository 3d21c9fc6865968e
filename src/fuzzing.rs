//! Entry points for fuzzing (`fuzz/`) and for the fuzz smoke test: each
//! takes arbitrary bytes and must never panic or hang.

use std::collections::BTreeMap;
use std::path::Path;

/// The stack-file loader and interpolation on arbitrary text, including
/// rendering the error report (spans must stay inside the text).
pub fn stack_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = BTreeMap::from([("TAG".to_owned(), "1.0".to_owned()), ("EMPTY".to_owned(), String::new())]);
    if let Err(error) = crate::compose::load::load_str(text, Path::new("/nonexistent-dmp-fuzz"), &env) {
        let mut rendered = String::new();
        let _ = miette::GraphicalReportHandler::new().render_report(&mut rendered, &error);
    }
    let _ = crate::compose::interpolate::interpolate(text, &|name| env.get(name).cloned());
}

/// `.env` / `env_file:` reading on arbitrary bytes, as dmp reads them
/// (lossy UTF-8, a byte-order mark skipped), and the error as printed: a
/// problem's line must exist in the input, and its message must be short.
pub fn env_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let caller = BTreeMap::from([("TAG".to_owned(), "1.0".to_owned()), ("EMPTY".to_owned(), String::new())]);
    match crate::compose::env_file::parse(&text, &|name| caller.get(name).cloned()) {
        Ok(values) => {
            for (key, value) in &values {
                assert!(!value.contains('\0'), "a NUL byte passed in {key}");
            }
        }
        Err(error) => {
            let lines = text.strip_prefix('\u{feff}').unwrap_or(&text).split('\n').count();
            assert!((1..=lines).contains(&error.line), "line {} of {lines}", error.line);
            assert!(error.message.len() < 1024, "a long message: {} bytes", error.message.len());
        }
    }
}

/// `.dockerignore` patterns, then a NUL, then a path to match.
pub fn dockerignore(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (patterns, path) = text.split_once('\0').unwrap_or((text, "a/b/c.txt"));
    if let Ok(ignore) = crate::image::dockerignore::DockerIgnore::parse(patterns) {
        let excluded = ignore.is_excluded(path);
        let sent = ignore.sends(path);
        // A file sent must not be excluded.
        assert!(!(sent && excluded), "{path:?} both sent and excluded by {patterns:?}");
        let _ = ignore.may_reinclude_below(path);
    }
}

#[cfg(test)]
mod tests {
    /// A short, deterministic fuzz run for the test suite: every seed of
    /// `fuzz/corpus`, then byte-level mutations of them (the long runs use
    /// `cargo fuzz`, see docs/troubleshooting.md).
    fn smoke(target: &str, run: fn(&[u8]), rounds: usize) {
        // On a thread with the main thread's 8 MiB, where dmp loads files:
        // a test thread's 2 MiB is too little for 64 levels of YAML in a
        // debug build.
        let target = target.to_owned();
        let thread = std::thread::Builder::new().stack_size(8 << 20).spawn(move || smoke_on(&target, run, rounds));
        if let Err(panic) = thread.expect("a thread for the smoke run").join() {
            std::panic::resume_unwind(panic);
        }
    }

    fn smoke_on(target: &str, run: fn(&[u8]), rounds: usize) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .expect("the seed corpus")
            .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .filter(|s| s.len() < 64 * 1024)
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty());
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            run(seed);
        }
        let bytes = b"${}:-?+$[]!*/\\\n\t \"'#{}0123456789abc";
        for round in 0..rounds {
            let mut input = seeds[round % seeds.len()].clone();
            for _ in 0..=(next() % 8) {
                let at = usize::try_from(next()).unwrap_or(0) % (input.len() + 1);
                let byte = bytes[usize::try_from(next()).unwrap_or(0) % bytes.len()];
                match next() % 3 {
                    0 => input.insert(at, byte),
                    1 if at < input.len() => input[at] = byte,
                    _ if at < input.len() => {
                        input.remove(at);
                    }
                    _ => {}
                }
            }
            run(&input);
        }
    }

    #[test]
    fn stack_file_smoke() {
        smoke("stack_file", super::stack_file, 3000);
    }

    #[test]
    fn env_file_smoke() {
        smoke("env_file", super::env_file, 20_000);
    }

    #[test]
    fn dockerignore_smoke() {
        // Each input compiles a regex per pattern (slow in debug builds): a
        // few thousand mutations on top of the 1,700 seeds are plenty here.
        smoke("dockerignore", super::dockerignore, 2_000);
    }
}

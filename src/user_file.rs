//! Reading a user's file (a stack file, `.env`, an env file, a Dockerfile)
//! bounded: anything but a regular file is refused by its type before it is
//! opened (a named pipe would block the read forever, a device never end),
//! and a file larger than [`MAX_BYTES`] is refused by its size.

use std::io::{self, Read as _};
use std::os::unix::fs::FileTypeExt as _;
use std::path::Path;

/// The largest text file dmp reads: far above any real stack or env file.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// What `path` is when it is not a regular file, in a user's words.
fn not_a_file(kind: std::fs::FileType) -> Option<&'static str> {
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a named pipe")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

/// The bytes of the regular file at `path` (symbolic links followed). The
/// errors keep `NotFound` as it is, so "missing" still reads as missing; the
/// others say what the path is instead ("it is a named pipe, not a file").
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    check(path)?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Whether [`read`] would read `path`, by its type and size, without
/// opening it.
pub fn check(path: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if let Some(what) = not_a_file(meta.file_type()) {
        let kind = if meta.is_dir() { io::ErrorKind::IsADirectory } else { io::ErrorKind::InvalidInput };
        return Err(io::Error::new(kind, format!("it is {what}, not a file")));
    }
    if meta.len() > MAX_BYTES {
        return Err(too_big(meta.len()));
    }
    Ok(())
}

fn too_big(size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("it is {} MiB, more than the {} MiB dmp reads", size.div_ceil(1024 * 1024), MAX_BYTES / 1024 / 1024),
    )
}

/// As [`read`], as UTF-8 text; `InvalidData` when it is not.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x=1\n").expect("write");
        assert_eq!(read(&file).expect("a file"), b"x=1\n");
        let error = read(dir.path()).expect_err("a directory");
        assert_eq!(error.to_string(), "it is a directory, not a file");
        assert_eq!(read(Path::new("/dev/null")).expect_err("a device").to_string(), "it is a device, not a file");
        let fifo = dir.path().join("pipe");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
        assert_eq!(read(&fifo).expect_err("a pipe").to_string(), "it is a named pipe, not a file");
        assert_eq!(read(&dir.path().join("missing")).expect_err("missing").kind(), io::ErrorKind::NotFound);
        let big = dir.path().join("big");
        std::fs::File::create(&big).expect("create").set_len(MAX_BYTES + 1).expect("grow");
        assert!(read(&big).expect_err("too big").to_string().contains("more than the 16 MiB"));
    }
}

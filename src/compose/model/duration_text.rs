//! Durations as Compose writes them: `1m30s`, `500ms`.

use std::fmt::Write as _;

use serde::Serializer;

#[allow(clippy::ref_option)] // serde's `with` passes &Option
pub fn serialize<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(nanos) => serializer.serialize_str(&format(*nanos)),
        None => serializer.serialize_none(),
    }
}

pub fn format(nanos: u64) -> String {
    const UNITS: [(u64, &str); 6] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    if nanos == 0 {
        return "0s".into();
    }
    let mut rest = nanos;
    let mut out = String::new();
    for (size, unit) in UNITS {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

/// Parses `1h2m3s`, `1.5s`, `500ms`, `10us`/`10µs`, `7ns` into nanoseconds.
pub fn parse(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3.6e12,
            "m" => 6e10,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked non-negative, durations fit u64
    Some(total.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::{format, parse};

    #[test]
    fn durations_round_trip() {
        for (text, nanos) in [
            ("10s", 10_000_000_000),
            ("1m30s", 90_000_000_000),
            ("500ms", 500_000_000),
            ("1.5s", 1_500_000_000),
            ("1h", 3_600_000_000_000),
            ("250us", 250_000),
        ] {
            assert_eq!(parse(text), Some(nanos), "{text}");
        }
        assert_eq!(format(90_000_000_000), "1m30s");
        assert_eq!(format(1_500_000_000), "1s500ms");
        for bad in ["", "10", "10 s", "1x", "s"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}

#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dmp::fuzzing::env_file(data));

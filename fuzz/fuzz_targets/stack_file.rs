#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dmp::fuzzing::stack_file(data));

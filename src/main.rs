fn main() -> std::process::ExitCode {
    dmp::run()
}

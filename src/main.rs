//! Parse the command line, run, map the outcome to an exit code — nothing else.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = sdctl::cli::Cli::parse();
    sdctl::logging::init(cli.global.verbose, cli.is_runtime());
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(sdctl::THREAD_STACK).build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return std::process::ExitCode::from(1);
            }
        };
    let code = match runtime.block_on(sdctl::cli::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            sdctl::exit::code_of(&error)
        }
    };
    std::process::ExitCode::from(code.code() as u8)
}

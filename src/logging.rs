//! Diagnostic logs (tracing) on stderr; `-v` for debug, `-vv` for trace, or `RUST_LOG`. The
//! in-cluster components (`sdctl runtime ...`) log at info level by default: their logs are
//! what an operator reads.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, runtime: bool) {
    let default = match verbose {
        0 if runtime => "sdctl=info,warn",
        0 => "warn",
        1 => "sdctl=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    // One crypto stack for every TLS client (Google's SDK and kube-rs): aws-lc-rs.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

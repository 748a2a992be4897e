//! The emulator driven by Google's official Rust clients and kube-rs.

//! The image templates (`templates/images/`), compiled in and rendered with the pinned versions.

use minijinja::{Environment, context};

use super::context::Context;

const WEBUI_DOCKERFILE: &str = include_str!("../../templates/images/sd-webui/Dockerfile");
const WEBUI_START: &str = include_str!("../../templates/images/sd-webui/start.sh");
const RUNTIME_BINARY: &str = include_str!("../../templates/images/runtime/Dockerfile.binary");
const RUNTIME_SOURCE: &str = include_str!("../../templates/images/runtime/Dockerfile.source");

/// Versions of the WebUI image. A1111 1.10.1 was released for torch 2.1.2 (CUDA 12.1) and
/// xformers 0.0.23.post1; change them together.
pub mod pins {
    pub const CUDA_BASE: &str = "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04";
    pub const WEBUI_REPOSITORY: &str = "https://github.com/AUTOMATIC1111/stable-diffusion-webui.git";
    pub const WEBUI_VERSION: &str = "v1.10.1";
    pub const TORCH: &str = "2.1.2";
    pub const TORCHVISION: &str = "0.16.2";
    pub const TORCH_INDEX: &str = "https://download.pytorch.org/whl/cu121";
    pub const XFORMERS: &str = "0.0.23.post1";
    pub const PIP: &str = "24.2";
    pub const DISTROLESS: &str = "gcr.io/distroless/cc-debian12:nonroot";
    pub const RUST: &str = "rust:1.91-bookworm";
}

/// Where the WebUI container finds things (the Fleet mounts them there).
pub mod paths {
    pub const SHARED_DIR: &str = "/sd/shared";
    pub const OUTPUTS_DIR: &str = "/sd/outputs";
    pub const USER_FILE: &str = "/run/sdctl/user";
    pub const WEBUI_PORT: u16 = 7860;
}

fn render(name: &str, source: &str, values: minijinja::Value) -> anyhow::Result<String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.add_template(name, source).map_err(|e| anyhow::anyhow!("template {name}: {e}"))?;
    let template = env.get_template(name).map_err(|e| anyhow::anyhow!("template {name}: {e}"))?;
    template.render(values).map_err(|e| anyhow::anyhow!("cannot render {name}: {e}"))
}

/// The WebUI image's context: Dockerfile and start script.
pub fn webui() -> anyhow::Result<Context> {
    let values = context! {
        base_image => pins::CUDA_BASE,
        webui_repository => pins::WEBUI_REPOSITORY,
        webui_version => pins::WEBUI_VERSION,
        torch => pins::TORCH,
        torchvision => pins::TORCHVISION,
        torch_index => pins::TORCH_INDEX,
        xformers => pins::XFORMERS,
        pip => pins::PIP,
        port => paths::WEBUI_PORT,
        shared_dir => paths::SHARED_DIR,
        outputs_dir => paths::OUTPUTS_DIR,
        user_file => paths::USER_FILE,
    };
    let mut c = Context::default();
    c.add("Dockerfile", render("sd-webui/Dockerfile", WEBUI_DOCKERFILE, values.clone())?, false);
    c.add("start.sh", render("sd-webui/start.sh", WEBUI_START, values)?, true);
    Ok(c)
}

/// The runtime image around a linux x86-64 sdctl executable.
pub fn runtime_from_binary(binary: Vec<u8>) -> anyhow::Result<Context> {
    let mut c = Context::default();
    c.add(
        "Dockerfile",
        render("runtime/Dockerfile", RUNTIME_BINARY, context! { distroless_image => pins::DISTROLESS })?,
        false,
    );
    c.add("sdctl", binary, true);
    Ok(c)
}

/// The runtime image built from this version's source in a Rust builder stage.
pub fn runtime_from_source() -> anyhow::Result<Context> {
    let values = context! {
        rust_image => pins::RUST,
        distroless_image => pins::DISTROLESS,
        repository => env!("CARGO_PKG_REPOSITORY"),
        version => env!("CARGO_PKG_VERSION"),
    };
    let mut c = Context::default();
    c.add("Dockerfile", render("runtime/Dockerfile", RUNTIME_SOURCE, values)?, false);
    Ok(c)
}

/// Whether these bytes start a linux (System V / GNU ABI) x86-64 ELF executable.
pub fn is_linux_x86_64_elf(head: &[u8]) -> bool {
    head.len() >= 20
        && head[..4] == *b"\x7fELF"
        && head[4] == 2 // 64-bit
        && head[5] == 1 // little-endian
        && matches!(head[7], 0 | 3) // System V or GNU/Linux ABI
        && u16::from_le_bytes([head[18], head[19]]) == 0x3e // x86-64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_detection() {
        let mut h = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        h.resize(20, 0);
        h[18] = 0x3e;
        assert!(is_linux_x86_64_elf(&h));
        h[18] = 0xb7; // aarch64
        assert!(!is_linux_x86_64_elf(&h));
        assert!(!is_linux_x86_64_elf(b"\xcf\xfa\xed\xfe (a Mach-O file)"));
    }
}

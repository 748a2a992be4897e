//! The image templates (`templates/images/`), compiled in and rendered with the pinned versions.

use minijinja::{Environment, context};

use super::context::Context;

const WEBUI_DOCKERFILE: &str = include_str!("../../templates/images/sd-webui/Dockerfile");
const WEBUI_START: &str = include_str!("../../templates/images/sd-webui/start.sh");
const COMFYUI_DOCKERFILE: &str = include_str!("../../templates/images/sd-comfyui/Dockerfile");
const COMFYUI_START: &str = include_str!("../../templates/images/sd-comfyui/start.sh");
const COMFYUI_MODEL_PATHS: &str = include_str!("../../templates/images/sd-comfyui/extra_model_paths.yaml");
const COMFYUI_CONSTRAINTS: &str = include_str!("../../templates/images/sd-comfyui/constraints.txt");
const RUNTIME_BINARY: &str = include_str!("../../templates/images/runtime/Dockerfile.binary");
const RUNTIME_SOURCE: &str = include_str!("../../templates/images/runtime/Dockerfile.source");

/// Versions of the WebUI image. A1111 1.10.1 was released for torch 2.1.2 (CUDA 12.1) and
/// xformers 0.0.23.post1; change them together.
pub mod pins {
    pub const CUDA_BASE: &str = "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04";
    pub const WEBUI_REPOSITORY: &str = "https://github.com/AUTOMATIC1111/stable-diffusion-webui.git";
    /// Release v1.10.1 (its tag could move; the commit cannot).
    pub const WEBUI_VERSION: &str = "v1.10.1";
    pub const WEBUI_COMMIT: &str = "82a973c04367123ae98bd9abdf80d9eda9b910e2";
    pub const TORCH: &str = "2.1.2";
    pub const TORCHVISION: &str = "0.16.2";
    pub const TORCH_INDEX: &str = "https://download.pytorch.org/whl/cu121";
    pub const XFORMERS: &str = "0.0.23.post1";
    pub const PIP: &str = "24.2";
    /// A1111's own pin (requirements_versions.txt); the last with `pkg_resources` that CLIP needs.
    pub const SETUPTOOLS: &str = "69.5.1";
    pub const WHEEL: &str = "0.43.0";

    /// A repository A1111's launcher clones (`<prefix>_REPO` at `<prefix>_COMMIT_HASH`), with
    /// the commits of modules/launch_utils.py at v1.10.1.
    pub struct LauncherRepo {
        pub prefix: &'static str,
        pub url: &'static str,
        pub commit: &'static str,
    }

    pub const LAUNCHER_REPOS: [LauncherRepo; 5] = [
        LauncherRepo {
            prefix: "ASSETS",
            url: "https://github.com/AUTOMATIC1111/stable-diffusion-webui-assets.git",
            commit: "6f7db241d2f8ba7457bac5ca9753331f0c266917",
        },
        // github.com/Stability-AI/stablediffusion was deleted in December 2025 (A1111 #17204); A1111's
        // maintainer points to this fork of it (PR #17207), which holds the pinned commit (the old
        // repository's last commit on main).
        LauncherRepo {
            prefix: "STABLE_DIFFUSION",
            url: "https://github.com/w-e-w/stablediffusion.git",
            commit: "cf1d67a6fd5ea1aa600c4df58e5b47da45f6bdbf",
        },
        LauncherRepo {
            prefix: "STABLE_DIFFUSION_XL",
            url: "https://github.com/Stability-AI/generative-models.git",
            commit: "45c443b316737a4ab6e40413d7794a7f5657c19f",
        },
        LauncherRepo {
            prefix: "K_DIFFUSION",
            url: "https://github.com/crowsonkb/k-diffusion.git",
            commit: "ab527a9a6d347f364e3d185ba6d714e22d80cb3c",
        },
        LauncherRepo {
            prefix: "BLIP",
            url: "https://github.com/salesforce/BLIP.git",
            commit: "48211a1594f1321b00f14c9f7a5b4813144b2fb9",
        },
    ];
    pub const CLIP_PACKAGE: &str =
        "https://github.com/openai/CLIP/archive/d50d76daa670286dd6cacf3bcd80b5e4823fc8e1.zip";
    pub const OPENCLIP_PACKAGE: &str =
        "https://github.com/mlfoundations/open_clip/archive/bb6e834e9c70d9c27d0dc3ecedeebeaeb1ffad6b.zip";
    pub const DISTROLESS: &str = "gcr.io/distroless/cc-debian12:nonroot";

    /// ComfyUI: the release v0.3.64 (2025-10-08), by the commit that set its version
    /// (comfyui_version.py); the same CUDA 12.1 base as A1111 (Python 3.10, which ComfyUI's
    /// `requires-python = ">=3.9"` allows), torch 2.5.1 from PyTorch's cu121 index (its
    /// requirements.txt leaves torch unpinned), every other package in constraints.txt.
    pub const COMFYUI_REPOSITORY: &str = "https://github.com/comfyanonymous/ComfyUI.git";
    pub const COMFYUI_VERSION: &str = "v0.3.64";
    pub const COMFYUI_COMMIT: &str = "637221995f7424a561bd825de3e61ea117dfe1e3";
    pub const COMFYUI_TORCH: &str = "2.5.1";
    pub const COMFYUI_TORCHVISION: &str = "0.20.1";
    pub const COMFYUI_TORCHAUDIO: &str = "2.5.1";
    pub const RUST: &str = "rust:1.91-bookworm";
}

/// Where the WebUI container finds things (the Fleet mounts them there).
pub mod paths {
    pub const SHARED_DIR: &str = "/sd/shared";
    pub const OUTPUTS_DIR: &str = "/sd/outputs";
    pub const USER_FILE: &str = "/run/sdctl/user";
    /// The runtime image's user (distroless' `nonroot`).
    pub const RUNTIME_UID: u32 = 65532;
    /// The shared volume's `outputs/`, where the sidecar copies each user's outputs.
    pub const USER_OUTPUTS_DIR: &str = "/sd/user-outputs";
    pub const WEBUI_PORT: u16 = 7860;
    /// The user the WebUI and the sidecar run as (the image's `webui`).
    pub const WEBUI_UID: u32 = 1000;
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
        webui_commit => pins::WEBUI_COMMIT,
        launcher_repos => pins::LAUNCHER_REPOS.iter().map(|r| context! { prefix => r.prefix, url => r.url, commit => r.commit }).collect::<Vec<_>>(),
        clip_package => pins::CLIP_PACKAGE,
        openclip_package => pins::OPENCLIP_PACKAGE,
        setuptools => pins::SETUPTOOLS,
        wheel => pins::WHEEL,
        webui_uid => paths::WEBUI_UID,
        torch => pins::TORCH,
        torchvision => pins::TORCHVISION,
        torch_index => pins::TORCH_INDEX,
        xformers => pins::XFORMERS,
        pip => pins::PIP,
        port => paths::WEBUI_PORT,
        shared_dir => paths::SHARED_DIR,
        outputs_dir => paths::OUTPUTS_DIR,
    };
    let mut c = Context::default();
    c.add("Dockerfile", render("sd-webui/Dockerfile", WEBUI_DOCKERFILE, values.clone())?, false);
    c.add("start.sh", render("sd-webui/start.sh", WEBUI_START, values)?, true);
    Ok(c)
}

/// The ComfyUI image's context: Dockerfile, start script, model paths and constraints.
pub fn comfyui() -> anyhow::Result<Context> {
    let values = context! {
        base_image => pins::CUDA_BASE,
        comfyui_repository => pins::COMFYUI_REPOSITORY,
        comfyui_version => pins::COMFYUI_VERSION,
        comfyui_commit => pins::COMFYUI_COMMIT,
        torch => pins::COMFYUI_TORCH,
        torchvision => pins::COMFYUI_TORCHVISION,
        torchaudio => pins::COMFYUI_TORCHAUDIO,
        torch_index => pins::TORCH_INDEX,
        pip => pins::PIP,
        webui_uid => paths::WEBUI_UID,
        port => paths::WEBUI_PORT,
        shared_dir => paths::SHARED_DIR,
        outputs_dir => paths::OUTPUTS_DIR,
    };
    let mut c = Context::default();
    c.add("Dockerfile", render("sd-comfyui/Dockerfile", COMFYUI_DOCKERFILE, values.clone())?, false);
    c.add("start.sh", render("sd-comfyui/start.sh", COMFYUI_START, values.clone())?, true);
    c.add("extra_model_paths.yaml", render("sd-comfyui/extra_model_paths.yaml", COMFYUI_MODEL_PATHS, values)?, false);
    c.add("constraints.txt", COMFYUI_CONSTRAINTS, false);
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

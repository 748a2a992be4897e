//! The images sdctl runs: the WebUI of each engine (AUTOMATIC1111's, ComfyUI) and the sdctl
//! runtime (router, sidecar, reclaim), built by Cloud Build from contexts sdctl renders and uploads. Tags are
//! digests of the contexts, so an image already in Artifact Registry is not rebuilt.

pub mod build;
pub mod context;
pub mod templates;

use std::path::Path;

pub use context::Context;

/// Which image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ImageKind {
    /// The Stable Diffusion WebUI (AUTOMATIC1111) with CUDA.
    Webui,
    /// ComfyUI with CUDA (templates with `engine: comfyui`).
    Comfyui,
    /// sdctl itself, for the router, the sidecar and reclaim.
    Runtime,
}

impl ImageKind {
    pub const ALL: [ImageKind; 3] = [ImageKind::Webui, ImageKind::Comfyui, ImageKind::Runtime];

    /// The image name in the repository.
    pub fn image_name(self) -> &'static str {
        match self {
            ImageKind::Webui => "sd-webui",
            ImageKind::Comfyui => "sd-comfyui",
            ImageKind::Runtime => "sdctl-runtime",
        }
    }

    /// The output that publishes the image reference (`webuiImage`, `runtimeImage`).
    pub fn output_key(self) -> &'static str {
        match self {
            ImageKind::Webui => "webuiImage",
            ImageKind::Comfyui => "comfyuiImage",
            ImageKind::Runtime => "runtimeImage",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            ImageKind::Webui => "webui",
            ImageKind::Comfyui => "comfyui",
            ImageKind::Runtime => "runtime",
        }
    }

    /// The build context, rendered. `runtime_binary`: the executable to ship in the runtime
    /// image (default: this sdctl, when it is linux x86-64; else a build from source).
    pub fn context(self, runtime_binary: Option<&Path>) -> anyhow::Result<Context> {
        match self {
            ImageKind::Webui => templates::webui(),
            ImageKind::Comfyui => templates::comfyui(),
            ImageKind::Runtime => runtime_context(runtime_binary),
        }
    }
}

fn runtime_context(binary: Option<&Path>) -> anyhow::Result<Context> {
    let path = match binary {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe().map_err(|e| anyhow::anyhow!("cannot find the sdctl executable: {e}"))?,
    };
    let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    if templates::is_linux_x86_64_elf(&bytes) {
        templates::runtime_from_binary(bytes)
    } else if binary.is_some() {
        anyhow::bail!("{} is not a linux x86-64 executable; the runtime image needs one", path.display())
    } else {
        templates::runtime_from_source()
    }
}

#!/bin/sh
# Starts ComfyUI in a WebUI pod (or, as `start.sh prepare DIR`, prepares the share).
#
# Mounts (set up by sdctl):
#   {{ shared_dir }}/models, {{ shared_dir }}/embeddings   the share's model folders, read-only, in
#                  AUTOMATIC1111's layout (read through sdctl/extra_model_paths.yaml)
#   {{ outputs_dir }}   with runtime okg the user's own disk; with agones pod-local, and sdctl's
#                  sidecar copies it to the allocated user's own folder on the share
#
# Secure by default: no ComfyUI-Manager in the image and custom nodes off
# (--disable-all-custom-nodes), so nothing can be installed or loaded from the UI. The user's
# images, uploads, saved workflows and ComfyUI's database live under the outputs folder (output/,
# input/, user/; the database's default is in ComfyUI's own folder, lost with the pod).
set -eu

COMFYUI=${SDCTL_COMFYUI_DIR:-/opt/comfyui}
OUTPUTS=${SDCTL_OUTPUTS_DIR:-{{ outputs_dir }}}
# The WebUI's user: the owner of the share's outputs/ folder (where sidecars write).
WEBUI_UID={{ webui_uid }}

# `start.sh prepare DIR`: makes the share usable before the WebUI starts (an init container, with
# the whole share at DIR): an empty share (a new Filestore share; a bucket is never empty, sdctl
# makes its folders and the pods cannot write models/ there) gets AUTOMATIC1111's model folders;
# outputs/ is created and given to the WebUI's user (a new Filestore share's root is root's).
# Folders people added are never touched. As root it needs no capability but CHOWN.
if [ "${1:-}" = "prepare" ]; then
  target="${2:?usage: start.sh prepare DIR}"
  if [ -z "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "making the WebUI's model folders on the empty share $target"
    for dir in models/Stable-diffusion models/Lora models/VAE models/ControlNet models/ESRGAN embeddings; do
      mkdir -p "$target/$dir"
    done
  fi
  mkdir -p "$target/models" "$target/embeddings" "$target/outputs"
  if [ "$(id -u)" = 0 ] && [ "$(stat -c %u "$target/outputs")" != "$WEBUI_UID" ]; then
    chown "$WEBUI_UID:$WEBUI_UID" "$target/outputs"
    echo "outputs/ on the share now belongs to uid $WEBUI_UID"
  fi
  exit 0
fi

# ComfyUI refuses a user directory that does not exist.
mkdir -p "$OUTPUTS/output" "$OUTPUTS/input" "$OUTPUTS/user"

set -- --listen 0.0.0.0 --port {{ port }} --disable-auto-launch --disable-all-custom-nodes \
  --extra-model-paths-config "$COMFYUI/sdctl/extra_model_paths.yaml" \
  --output-directory "$OUTPUTS/output" --input-directory "$OUTPUTS/input" --user-directory "$OUTPUTS/user" \
  --database-url "sqlite:///$OUTPUTS/user/comfyui.db"
# SDCTL_WEBUI_EXTRA_ARGS is split into words on purpose.
# shellcheck disable=SC2086
exec "$COMFYUI/venv/bin/python" "$COMFYUI/main.py" "$@" ${SDCTL_WEBUI_EXTRA_ARGS:-}

#!/bin/sh
# Starts the WebUI in a GameServer pod (or, as `start.sh prepare DIR`, prepares the share).
#
# Mounts (set up by sdctl's Fleet):
#   {{ shared_dir }}/models, {{ shared_dir }}/embeddings   the share's model folders, read-only
#   {{ outputs_dir }}   pod-local and writable; sdctl's sidecar copies it to the allocated user's
#                  own folder on the share, which this container does not mount (with GCS
#                  storage, code in the pod can still use the pod's bucket access: README,
#                  "Security model")
#
# Secure by default: no --disable-safe-unpickle, no directory settings in the UI
# (--hide-ui-dir-config: no batch-from-directory, no output folder of one's choosing), and
# extension installs from the UI only when SDCTL_WEBUI_INSECURE_EXTENSION_ACCESS=1 (the
# configuration opts in).
set -eu

WEBUI=${SDCTL_WEBUI_DIR:-/opt/sd-webui}
SHARED=${SDCTL_SHARED_DIR:-{{ shared_dir }}}
OUTPUTS=${SDCTL_OUTPUTS_DIR:-{{ outputs_dir }}}
# The WebUI's user: the owner of the share's outputs/ folder (where sidecars write).
WEBUI_UID={{ webui_uid }}

# `start.sh prepare DIR`: the guide's manual "copy models to the share" step, automated, and the
# share made usable. Runs before the WebUI (an init container) with the whole share mounted at DIR:
# an empty share (a new Filestore share; a bucket is never empty, sdctl makes its folders and the
# pods cannot write models/ there) gets the image's model folders; outputs/ is created and given to the WebUI's
# user (a new Filestore share's root is root's, mode 0755: only root can write there). Folders
# people added are never touched. As root it needs no capability but CHOWN.
if [ "${1:-}" = "prepare" ]; then
  target="${2:?usage: start.sh prepare DIR}"
  if [ -z "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "seeding the empty share $target with the WebUI's model folders"
    cp -R "$WEBUI/models.seed" "$target/models"
    cp -R "$WEBUI/embeddings.seed" "$target/embeddings"
  fi
  mkdir -p "$target/models" "$target/embeddings" "$target/outputs"
  if [ "$(id -u)" = 0 ] && [ "$(stat -c %u "$target/outputs")" != "$WEBUI_UID" ]; then
    chown "$WEBUI_UID:$WEBUI_UID" "$target/outputs"
    echo "outputs/ on the share now belongs to uid $WEBUI_UID"
  fi
  exit 0
fi

# Models and embeddings from the share, read-only: each model folder the share has replaces the
# image's (folders it lacks stay local and writable, e.g. for upscaler downloads).
if [ -d "$SHARED/models" ]; then
  for dir in "$SHARED"/models/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    rm -rf "${WEBUI:?}/models/$name"
    ln -sfn "$SHARED/models/$name" "$WEBUI/models/$name"
  done
fi
if [ -d "$SHARED/embeddings" ]; then
  rm -rf "${WEBUI:?}/embeddings"
  ln -sfn "$SHARED/embeddings" "$WEBUI/embeddings"
fi

# Outputs go to the pod-local folder the sidecar copies from.
mkdir -p "$OUTPUTS"
rm -rf "${WEBUI:?}/outputs"
ln -sfn "$OUTPUTS" "$WEBUI/outputs"

set -- --listen --port {{ port }} --api --xformers --skip-prepare-environment --no-download-sd-model --hide-ui-dir-config
if [ "${SDCTL_WEBUI_INSECURE_EXTENSION_ACCESS:-0}" = "1" ]; then
  set -- "$@" --enable-insecure-extension-access
fi
# SDCTL_WEBUI_EXTRA_ARGS is split into words on purpose.
# shellcheck disable=SC2086
exec "$WEBUI/venv/bin/python" "$WEBUI/launch.py" "$@" ${SDCTL_WEBUI_EXTRA_ARGS:-}

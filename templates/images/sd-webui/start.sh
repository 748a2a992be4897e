#!/bin/sh
# Starts the WebUI in a GameServer pod (or, as `start.sh seed`, prepares an empty share).
#
# Mounts (set up by sdctl's Fleet):
#   {{ shared_dir }}   the shared volume, read-only: models/ and embeddings/ for everyone
#   {{ outputs_dir }}  the shared volume's outputs/, writable: one folder per user
#   {{ user_file }}    written by the sdctl sidecar once the GameServer is allocated to a user
#
# Secure by default: no --disable-safe-unpickle, and extension installs from the UI only when
# SDCTL_WEBUI_INSECURE_EXTENSION_ACCESS=1 (the configuration opts in).
set -eu

WEBUI=/opt/sd-webui
SHARED={{ shared_dir }}
OUTPUTS={{ outputs_dir }}
USER_FILE={{ user_file }}

# `start.sh seed DIR`: the guide's manual copy step, automated. Run with the share writable (an
# init container); only an empty share is seeded, so models people added are never touched.
if [ "${1:-}" = "seed" ]; then
  target="${2:-$SHARED}"
  if [ -z "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "seeding the empty share $target with the WebUI's model folders"
    cp -a "$WEBUI/models.seed" "$target/models"
    cp -a "$WEBUI/embeddings.seed" "$target/embeddings"
    mkdir -p "$target/outputs"
  else
    echo "share $target already has content: left as it is"
  fi
  exit 0
fi

# Models and embeddings from the share, read-only: each model folder the share has replaces the
# image's (folders it lacks stay local and writable, e.g. for upscaler downloads).
if [ -d "$SHARED/models" ]; then
  for dir in "$SHARED"/models/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    rm -rf "$WEBUI/models/$name"
    ln -sfn "$SHARED/models/$name" "$WEBUI/models/$name"
  done
fi
if [ -d "$SHARED/embeddings" ]; then
  rm -rf "$WEBUI/embeddings"
  ln -sfn "$SHARED/embeddings" "$WEBUI/embeddings"
fi

# Until a user is known, outputs stay in the pod; then they go to the user's folder on the share.
mkdir -p "$WEBUI/outputs.local"
ln -sfn "$WEBUI/outputs.local" "$WEBUI/outputs"
link_user_outputs() {
  while [ ! -s "$USER_FILE" ]; do sleep 2; done
  user=$(head -n 1 "$USER_FILE" | tr -cd 'a-zA-Z0-9._-')
  case "$user" in ""|.*) echo "ignoring unusable user name in $USER_FILE"; return ;; esac
  mkdir -p "$OUTPUTS/$user"
  ln -sfn "$OUTPUTS/$user" "$WEBUI/outputs.next"
  mv -T "$WEBUI/outputs.next" "$WEBUI/outputs"
  echo "outputs of $user go to $OUTPUTS/$user"
}
link_user_outputs &

set -- --listen --port {{ port }} --api --xformers --skip-prepare-environment --no-download-sd-model
if [ "${SDCTL_WEBUI_INSECURE_EXTENSION_ACCESS:-0}" = "1" ]; then
  set -- "$@" --enable-insecure-extension-access
fi
exec "$WEBUI/venv/bin/python" "$WEBUI/launch.py" "$@" ${SDCTL_WEBUI_EXTRA_ARGS:-}

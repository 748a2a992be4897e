#!/bin/bash
# sdctl image-cache builder: the startup script of a temporary Container-Optimized OS VM.
#
# It fills the attached data disk with the container images named in the instance metadata
# attribute `sdctl-images`, in the layout GKE's CONTAINER_IMAGE_CACHE secondary boot disks are
# read with. Google publishes no specification of that layout; the reference is the startup
# script of gke-disk-image-builder (ai-on-gke, tools/gke-disk-image-builder/script/startup.sh):
#   - ext4 on the whole device;
#   - every committed snapshot of containerd's `k8s.io` namespace copied to snapshots/<n>/fs,
#     <n> being the snapshot's directory number in containerd's overlayfs snapshotter;
#   - snapshots.metadata: one line per snapshot, "<key> snapshots/<n>/fs <md5 of its files>";
#   - images.metadata: the output of `ctr -n k8s.io images ls`.
#
# COS ships containerd, ctr, curl and e2fsprogs, so nothing is installed. Images are pulled from
# Artifact Registry with the VM service account's token (never printed). Progress goes to the
# first serial port as lines "sdctl-image-cache: ...", which sdctl follows; the last one is
# "sdctl-image-cache: done" or "sdctl-image-cache: failed: <why>". sdctl makes the image from
# the disk once the VM is gone, so the script unmounts the disk before it says done.
#
# Tests point the SDCTL_* variables at a scratch directory and put fakes of ctr, curl, mkfs.ext4,
# mount and umount first on PATH.
set -Eeuo pipefail

METADATA="${SDCTL_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
DEVICE="${SDCTL_CACHE_DEVICE:-/dev/disk/by-id/google-sdctl-image-cache}"
MOUNT="${SDCTL_CACHE_MOUNT:-/mnt/disks/container_layers}"
CONSOLE="${SDCTL_CONSOLE:-/dev/ttyS0}"

say() {
  local line="sdctl-image-cache: $*"
  if [ -w "$CONSOLE" ]; then
    echo "$line" >>"$CONSOLE"
  else
    echo "$line" >&2
  fi
}

fail() {
  say "failed: $*"
  exit 1
}

# Whatever stops the script early is reported, without the command itself (it may hold the token).
trap 'say "failed: unexpected error at line $LINENO (exit $?)"' ERR

metadata() {
  curl -sSf --retry 5 -H 'Metadata-Flavor: Google' "$METADATA/$1"
}

ctr_k8s() {
  ctr -n k8s.io "$@"
}

# A fresh access token of the VM's service account (tokens live an hour; a pull can be long).
access_token() {
  local token
  token=$(metadata instance/service-accounts/default/token | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p') ||
    fail "cannot get the service account's token from the metadata server"
  [ -n "$token" ] || fail "the metadata server returned no access token"
  echo "$token"
}

say "started"
images=$(metadata instance/attributes/sdctl-images) || fail "cannot read the image list from the metadata server"
[ -n "$images" ] || fail "the metadata attribute sdctl-images is empty"
ctr version >/dev/null 2>&1 || fail "containerd is not running"
# Views a run before a reboot left (their names would clash).
while read -r view _; do
  case "$view" in sdctl-view-*) ctr_k8s snapshot rm "$view" >/dev/null 2>&1 || true ;; esac
done < <(ctr_k8s snapshot ls 2>/dev/null | tail -n +2 || true)

[ -e "$DEVICE" ] || fail "the data disk is not attached at $DEVICE"
say "formatting the data disk"
mkfs.ext4 -q -F -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard "$DEVICE" ||
  fail "mkfs.ext4 failed on $DEVICE"
mkdir -p "$MOUNT"
mount -o discard,defaults "$DEVICE" "$MOUNT" || fail "cannot mount $DEVICE"

for image in $images; do
  say "pulling $image"
  token=$(access_token) || exit 1
  ctr_k8s image pull --user "oauth2accesstoken:$token" "$image" >/dev/null ||
    fail "cannot pull $image (does the builder's service account read the repository?)"
  unset token
done
ctr_k8s images ls >"$MOUNT/images.metadata" || fail "cannot list the pulled images"

# Committed snapshots are the unpacked layers. `ctr snapshot ls` prints KEY PARENT KIND, the
# PARENT column blank for a bottom layer.
committed=()
while read -r key rest; do
  case "$rest" in *Committed) committed+=("$key") ;; esac
done < <(ctr_k8s snapshot ls | tail -n +2)
[ "${#committed[@]}" -gt 0 ] || fail "containerd holds no unpacked layer after the pull"

: >"$MOUNT/snapshots.metadata"
done_layers=0
for key in "${committed[@]}"; do
  done_layers=$((done_layers + 1))
  say "copying layer $done_layers/${#committed[@]}"
  view="sdctl-view-$done_layers"
  ctr_k8s snapshot view "$view" "$key" >/dev/null || fail "cannot open a view of layer $key"
  # The view's mount names the layer's own directory first (bind source, or first lowerdir).
  layer_dir=$(ctr_k8s snapshot mount "/$view" "$view" | grep -oE '/[^ :,]+/snapshots/[0-9]+/fs' | head -n 1) || true
  ctr_k8s snapshot rm "$view" >/dev/null || true
  [ -n "$layer_dir" ] || fail "cannot find the directory of layer $key"
  relative=${layer_dir#"${layer_dir%/snapshots/*}"/}
  mkdir -p "$MOUNT/${relative%/fs}"
  cp -a "$layer_dir" "$MOUNT/${relative%/fs}/" || fail "cannot copy layer $key"
  checksum=$(cd "$MOUNT/$relative" && find . -type f -exec md5sum {} + | cut -d' ' -f1 | LC_ALL=C sort | md5sum | cut -d' ' -f1)
  echo "$key $relative $checksum" >>"$MOUNT/snapshots.metadata"
done

sync
umount "$MOUNT" || fail "cannot unmount the data disk"
say "done: ${#committed[@]} layers"

#!/usr/bin/env sh
# `npm start`: creates a software SKS with a device identity under ./.airtight
# (once), shows it, and checks it byte for byte against the openkeystore
# interop vectors in ../shared/interop.
set -e
cd "$(dirname "$0")/.."
export AIRTIGHT_HOME="${AIRTIGHT_HOME:-$PWD/.airtight}"
cli="node dist/cli/main.js"
if ! $cli device info >/dev/null 2>&1; then
  $cli device init --key "${AIRTIGHT_DEVICE_KEY:-ec-p256}"
fi
$cli device info
$cli interop ../shared/interop/*.json | tail -n 1

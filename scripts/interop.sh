#!/usr/bin/env sh
# `npm run interop`: creates a software SKS with a device identity in the one home
# every `airtight` command uses ($AIRTIGHT_HOME/device, else ~/.airtight/device;
# once), shows it, and checks it byte for byte against the openkeystore interop
# vectors in ../shared/interop. Afterwards `airtight keys list` and
# `airtight enroll` work on this same device.
# AIRTIGHT_CLI overrides the command (default: the build in dist/), e.g.
# AIRTIGHT_CLI="node --import tsx src/cli/main.ts" to run from source.
set -e
cd "$(dirname "$0")/.."
cli="${AIRTIGHT_CLI:-node dist/cli/main.js}"
if ! $cli device info >/dev/null 2>&1; then
  $cli device init --key "${AIRTIGHT_DEVICE_KEY:-ec-p256}"
fi
$cli device info
$cli interop ../shared/interop/*.json | tail -n 1

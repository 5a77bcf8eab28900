#!/usr/bin/env sh
# `npm start`: `airtight demo`, the whole job once in a temporary directory
# (an issuer on a free port of 127.0.0.1, a fresh device, an enrollment over
# HTTP, a signature verified against the issued chain, a remote delete); it
# leaves nothing behind. Extra arguments go to the demo (`npm start -- --keep`).
# `npm run interop` (scripts/interop.sh) sets up the device in $AIRTIGHT_HOME
# and replays the openkeystore vectors of ../shared/interop.
# AIRTIGHT_CLI overrides the command (default: the build in dist/), e.g.
# AIRTIGHT_CLI="node --import tsx src/cli/main.ts" to run from source.
set -e
cd "$(dirname "$0")/.."
cli="${AIRTIGHT_CLI:-node dist/cli/main.js}"
exec $cli demo "$@"

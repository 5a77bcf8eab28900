// tsc writes dist/cli/main.js without the execute bit: npm links the bin of a
// dependency executable, but `npx airtight` in this checkout (after `npm ci`)
// runs the file itself and got "Permission denied".
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);

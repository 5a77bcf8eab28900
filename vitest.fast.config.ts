/**
 * `npm run test:fast`: the inner-loop subset, in-process unit and protocol tests only.
 * Left out (all run by `npm test`): test files that start child processes (the CLI via tsx,
 * openssl, crash workers killed with SIGKILL, the 30-process concurrency and PIN-attack
 * tests), that listen on real sockets or need PostgreSQL, the Wycheproof vector run and the
 * interop vector replays, and the end-to-end SKS scenarios (test/scenarios).
 */
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [
        '**/node_modules/**',
        'test/cli/**', // every CLI test runs `airtight` as a child process
        'test/crash/**', // SIGKILL crash workers
        'test/package/**', // builds and imports the package entry points
        'test/issuer/db/**', // SQLite/PostgreSQL conformance, multi-process races
        'test/issuer/ca/**', // openssl verification of issued certificates
        'test/wycheproof/**', // the full Wycheproof run (ECDH P-521 and RSA vectors)
        'test/interop/**', // replays every vector file, and through the CLI
        'test/errors/errors.test.ts', // one test type-checks a probe with tsx
        'test/device/**', // openssl verification of the device certificate
        'test/keygen2/http/**', // real HTTP servers and issuers on 127.0.0.1, TLS via openssl
        'test/keygen2/client/lookup.test.ts', // openssl
        'test/store/sqlite-at-rest.test.ts', // reopens the store in a child process
        // End-to-end SKS scenarios: full provisioning sessions with RSA key generation (~40 s of CPU together);
        // pin-durability also kills a child process mid-PIN-check.
        'test/scenarios/**',
      ],
    },
  }),
);

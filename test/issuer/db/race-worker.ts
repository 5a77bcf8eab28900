/**
 * A separate issuer process for the conformance suite's cross-process race:
 * opens the store named by argv, prints `ready`, waits for `go` on stdin, then
 * tries (concurrently, on its own pool or connection) to consume one token and
 * to advance one session from step 0, and prints how many of each it won as
 * one JSON line.
 *
 * argv: target (file path or postgres URL), schema ('' for none), token, session id, attempts
 */
import { openIssuerDatabase } from '../../../src/issuer/db/index.js';

const [target = '', schema = '', token = '', sessionId = '', attemptsArg = '5'] = process.argv.slice(2);
const attempts = Number(attemptsArg);
const db = await openIssuerDatabase(target, schema === '' ? {} : { schema });
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const consumed = await Promise.all(Array.from({ length: attempts }, (_, i) => db.consumeEnrollment(token, `${sessionId}-${process.pid}-${i}`)));
const advanced = await Promise.allSettled(
  Array.from({ length: attempts }, (_, i) =>
    db.advanceSession(sessionId, 0, {
      state: `{"by":${process.pid}}`,
      requestHash: `${process.pid}-${i}`,
      response: { kind: 'body', contentType: 'application/json', body: `{"by":${process.pid}}` },
    }),
  ),
);
await db.close();
process.stdout.write(
  `${JSON.stringify({
    consumed: consumed.filter((r) => r.kind === 'consumed').length,
    advanced: advanced.filter((r) => r.status === 'fulfilled').length,
    errors: advanced.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error && 'code' in r.reason ? String(r.reason.code) : 'other'] : [])),
  })}\n`,
);
process.stdin.destroy();

/** The data operand of `keys sign` and `keys decrypt`: a file, or `-` for stdin. */
import { readFileSync } from 'node:fs';

export const STDIN = '-';

/** Reads a named file now; `-` is read later (after any PIN prompt on the same terminal). */
export const readFileOperand = (file: string): Buffer | undefined => (file === STDIN ? undefined : readFileSync(file));

export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

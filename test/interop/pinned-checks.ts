/**
 * The number of checks each known vector file yields, pinned as noble-curves
 * pins its vector counts: a check that silently stops running (a skipped
 * branch, a loop over a renamed member) changes the count and fails the suite.
 *
 * A pin is keyed on the file's SHA-256, not on its name alone: a regenerated
 * recording under the same name (other algorithms, keys or options) is a new
 * file and runs unpinned, held only to the content-derived coverage rule of
 * ./coverage.ts. To pin a new recording, run the suite, read the count from the
 * "runs every check" test name and add a row.
 */
export interface PinnedVectorFile {
  readonly file: string;
  readonly sha256: string;
  readonly checks: number;
}

export const PINNED_VECTOR_FILES: readonly PinnedVectorFile[] = [
  { file: 'keygen2-session-01-ec-p256.json', sha256: '001df01d62e2299b98b77261e84f016ece444219b99a23812ba4b41003406be2', checks: 49 },
  { file: 'keygen2-session-02-rsa2048.json', sha256: 'c29417713c2eeb53e36a5177ba764e7e29ac75b37e58314714fa19610ee6cc61', checks: 46 },
  { file: 'keygen2-session-03-privacy-enabled.json', sha256: 'ab92828bb89295dcd1b5853a655f6f73dc74639a1c775c2abe75b2c00fc0cf7a', checks: 49 },
  { file: 'keygen2-session-04-imported-keys.json', sha256: '4fe592edc8770c77fff392275e3cf4749258b748c9d2ae2c558b7ec6d1052e87', checks: 105 },
  { file: 'keygen2-session-05-puk-preset-pin.json', sha256: '9eacd38034df233541d955cbfd46be27b3785a5f1b615f5d9351b8f50e550c0c', checks: 70 },
  { file: 'keygen2-session-06-extensions.json', sha256: '7fb028cb377326f2c6c41e11f05ebf8d5ca7343767a95c3bc25bd8841a0212d3', checks: 68 },
  { file: 'keygen2-session-07-post-operations.json', sha256: '5e738c7b8758dfa51ef98e0c2ba2e19e27d165478826f7441cfa67bd79a8c754', checks: 150 },
  { file: 'keygen2-session-08-update-kmk.json', sha256: '9cbaa61ec89752ca3cced9e0b67cf22c064339822f1d993d75ac32829286e21c', checks: 102 },
  { file: 'sks-primitives.json', sha256: '3aff0123a8b038afd7796e9028c92218c35e16ed796e91b261e487eea7e3627e', checks: 134 },
];

// Imports one module in a fresh process and reports, as one JSON line, what the
// import did to the process: packages it loaded, globals it defined, time taken.
// Plain JS so that the probe itself loads nothing but node built-ins.
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const target = process.argv[2];
if (target === undefined) throw new TypeError('usage: probe-import.mjs <module path>');

// ESM resolutions are seen by a loader hook (it runs on the loader thread, so it
// reports through a port); CommonJS packages show up in require.cache.
const { port1, port2 } = new MessageChannel();
const resolved = new Set();
port1.on('message', (url) => resolved.add(url));
port1.unref();
const hook = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { port: port2 }, transferList: [port2] });

const globalsBefore = new Set(Reflect.ownKeys(globalThis));
const reflectBefore = new Set(Reflect.ownKeys(Reflect));
const started = performance.now();
await import(pathToFileURL(target).href);
const importMs = performance.now() - started;
await new Promise((settle) => setTimeout(settle, 50));

const packageOf = (path) => {
  const m = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(path);
  return m ? m[1].replace('\\', '/') : undefined;
};
const packages = new Set();
for (const path of Object.keys(createRequire(import.meta.url).cache)) {
  const p = packageOf(path);
  if (p !== undefined) packages.add(p);
}
for (const url of resolved) {
  if (!url.startsWith('file:')) continue;
  const p = packageOf(decodeURIComponent(url));
  if (p !== undefined) packages.add(p);
}
// tsx runs the TypeScript sources; it is the harness, not the module under test.
packages.delete('tsx');
packages.delete('get-tsconfig');
packages.delete('resolve-pkg-maps');
packages.delete('esbuild');

console.log(
  JSON.stringify({
    importMs: Math.round(importMs),
    packages: [...packages].sort(),
    newGlobals: Reflect.ownKeys(globalThis)
      .filter((k) => !globalsBefore.has(k))
      .map(String),
    newReflectMembers: Reflect.ownKeys(Reflect)
      .filter((k) => !reflectBefore.has(k))
      .map(String),
  }),
);

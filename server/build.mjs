// Bundles every entry point with esbuild and copies the tree-sitter wasm files next to them.
// `node server/build.mjs` (dev, with sourcemaps) or `node server/build.mjs --production` (minified).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const production = process.argv.includes('--production');
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(join(root, 'package.json'));
const out = join(root, 'dist');
mkdirSync(out, { recursive: true });

const entries = {
  cli: 'server/cli/main.ts',
  server: 'server/lsp/main.ts',
  debugAdapter: 'server/dap/main.ts',
  extension: 'client/extension.ts',
  // the language client library, loaded when the server starts (activation never compiles it)
  'lsp-client': 'client/lsp-client.ts',
  bench: 'test/bench/bench.ts',
  fuzz: 'test/fuzz/main.ts',
  // tree-sitter runs here, off the main thread, and is restarted to give its wasm heap back
  'parse-worker': 'server/analysis/parse-worker.ts',
  // the sweep explores each (file blob, arch) on a worker thread, every core at once
  'sweep-worker': 'server/evolution/sweep-worker.ts',
  // the annotation store on its own, for the test that kills a writer mid-save
  'notes-test-helper': 'server/evolution/notes.ts',
};
await build({
  entryPoints: Object.fromEntries(Object.entries(entries).filter(([, f]) => existsSync(join(root, f))).map(([k, f]) => [k, join(root, f)])),
  outdir: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  sourcemap: !production,
  minify: production,
  // no keepNames: it wraps every function made at run time in a defineProperty call, and the
  // explorer makes closures on its hot path (measured ~20% slower exploration with it)
  keepNames: false,
  logLevel: 'warning',
  // web-tree-sitter's ESM build asks import.meta.url where it lives; in a CJS bundle, tell it
  define: { 'import.meta.url': '__import_meta_url' },
  banner: { js: "const __import_meta_url = require('url').pathToFileURL(__filename).href;" },
});
for (const [pkg, file] of [['web-tree-sitter', 'web-tree-sitter.wasm'], ['tree-sitter-c', 'tree-sitter-c.wasm']]) {
  // the package folder under node_modules, whatever its entry point resolves to
  let dir = join(root, 'node_modules', pkg);
  if (!existsSync(join(dir, file))) dir = dirname(require.resolve(`${pkg}/${file}`));
  copyFileSync(join(dir, file), join(out, file));
}

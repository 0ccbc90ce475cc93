// Build the prebuilt lab extension into ../jupyter_amlpipe/labextension with the
// installed JupyterLab's own core package file (no metadata download needed).
// Usage: node build-labextension.mjs [--development]; PYTHON picks the interpreter.
// Without a JupyterLab in that Python, core/package.json (a copy of JupyterLab 4.6's
// staging/package.json) stands in, and the build runs @jupyterlab/builder directly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const candidates = [process.env.PYTHON, 'python', 'python3'].filter(Boolean);
const locate =
  'import os, jupyterlab; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging", "package.json"))';
let python = null;
let corePackage = null;
for (const candidate of candidates) {
  const found = spawnSync(candidate, ['-c', locate], { encoding: 'utf-8' });
  if (found.status === 0) {
    python = candidate;
    corePackage = found.stdout.trim();
    break;
  }
}
const development = process.argv.includes('--development');
if (!python) {
  const builder = join(
    here,
    'node_modules',
    '@jupyterlab',
    'builder',
    'lib',
    'build-labextension.js'
  );
  if (!existsSync(builder)) {
    console.error('Run `npm ci` in labextension/ first.');
    process.exit(1);
  }
  console.warn(
    'No Python with JupyterLab found (set PYTHON=...): building against core/package.json.'
  );
  const args = [builder, '--core-path', join(here, 'core')];
  if (development) {
    args.push('--development');
  }
  args.push(here);
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
const args = ['-m', 'jupyter', 'labextension', 'build'];
if (development) {
  args.push('--development', 'True');
}
args.push('--core-package-file', corePackage, '.');
const result = spawnSync(python, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);

// Where the package's own files are (README.md, src/server/public): found by walking up from
// this module, as core/templates/samples.ts finds templates/, so it works from src/ (tsx, tests)
// and from dist/ (the built CLI) alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return (root = dir);
    dir = dirname(dir);
  }
  return (root = process.cwd());
}

/** The dashboard's static files: always the source folder (there is no build step for them). */
export function publicDir(): string {
  return join(packageRoot(), 'src', 'server', 'public');
}

// `campaign --version` prints src/version.ts's VERSION (a constant, so start-up reads no file);
// it must follow package.json's version.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

it("VERSION equals package.json's version", () => {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  expect(VERSION).toBe(pkg.version);
});

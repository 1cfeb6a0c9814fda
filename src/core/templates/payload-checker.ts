// A small collector for template problems: errors stop the template, warnings are shown and kept.
// Paths are JSON paths into the template document (`payload.buttons[1].url`) so an operator can
// find the field in their file.
import type { Issue } from '../errors.js';

export class PayloadChecker {
  readonly issues: Issue[] = [];
  readonly warnings: Issue[] = [];

  error(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  isObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  object(v: unknown, path: string): Record<string, unknown> | undefined {
    if (this.isObject(v)) return v;
    this.error(path, v === undefined ? 'is required (an object)' : 'must be an object');
    return undefined;
  }

  /** Rejects fields outside the allowlist, naming the allowed ones. */
  onlyKeys(o: Record<string, unknown>, path: string, allowed: readonly string[], what: string): void {
    for (const k of Object.keys(o)) {
      if (this.issues.some((i) => i.path === join(path, k))) continue;
      if (!allowed.includes(k)) this.error(join(path, k), `is not a known field of ${what} (allowed: ${allowed.join(', ')})`);
    }
  }

  string(o: Record<string, unknown>, key: string, path: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (opts.required) this.error(join(path, key), 'is required (text)');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.error(join(path, key), 'must be text');
      return undefined;
    }
    if ((opts.required || opts.nonEmpty) && v.trim() === '') this.error(join(path, key), 'must not be empty');
    return v;
  }

  boolean(o: Record<string, unknown>, key: string, path: string): boolean | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.error(join(path, key), 'must be true or false');
    return v as boolean;
  }

  number(o: Record<string, unknown>, key: string, path: string, min: number, max: number): number | undefined {
    const v = o[key];
    if (v === undefined || v === null || v === '') {
      this.error(join(path, key), `is required (a number from ${min} to ${max})`);
      return undefined;
    }
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
      this.error(join(path, key), `must be a number from ${min} to ${max}`);
      return undefined;
    }
    return n;
  }

  array(o: Record<string, unknown>, key: string, path: string, min: number, max: number, what: string): unknown[] | undefined {
    const v = o[key];
    if (!Array.isArray(v)) {
      this.error(join(path, key), v === undefined ? `is required (a list of ${min}–${max} ${what})` : `must be a list of ${min}–${max} ${what}`);
      return undefined;
    }
    if (v.length < min || v.length > max) this.error(join(path, key), `has ${v.length} ${what}; it needs ${min}–${max}`);
    return v;
  }
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

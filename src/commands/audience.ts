// `campaign audience brands|preview|import`: the live CRM audience (Supabase, read only).
// Flags are parsed here; the rules live in core/audience. The CRM source (and supabase-js with
// it) is loaded only when one of these commands runs.
import type { Command } from 'commander';
import type { BrandsResult, ImportProgress, ImportResult, PreviewResult } from '../core/audience/audience.service.js';
import type { CrmSource } from '../core/audience/crm-source.js';
import { CampaignError } from '../core/errors.js';
import { type CliKit, intArg, type Run } from './kit.js';
import { keyValue, paint, table } from './render.js';

async function crm(run: Run, command: string): Promise<CrmSource> {
  const { openCrmSource } = await import('../core/audience/supabase-crm-source.js');
  return openCrmSource(run.config(), command);
}

function parseIds(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const ids = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0) throw new CampaignError('USAGE', '--ids needs at least one CRM id, comma-separated (for example --ids 12,57,301).');
  return ids;
}

const n = (x: number): string => x.toLocaleString('en-US');

// ----------------------------------------------------------------------------------------------
// presenters

function presentBrands(r: BrandsResult): string {
  return table(
    ['brand', 'users'],
    r.brands.map((b) => [b.brand, n(b.users)]),
    { empty: 'The CRM has no brand with a non-banned user.' },
  );
}

const SYNC_LABEL: Record<string, string> = { new: 'new', changed: 'changed', up_to_date: 'up to date', unusable: 'unusable' };

function presentPreview(r: PreviewResult): string {
  const rows = r.rows.map((row) => [
    row.crmId ?? '',
    row.name ?? '',
    row.phone ?? '',
    row.phoneValid ? row.chatId : paint('yellow', `invalid: ${row.phoneInvalidReason ?? ''}`),
    [row.city, row.source].filter(Boolean).join(' / '),
    row.brands.join(', '),
    SYNC_LABEL[row.sync] + (row.optedOut ? ' (opted out)' : row.suppressed ? ' (suppressed)' : ''),
    row.crmUpdatedAt ? row.crmUpdatedAt.slice(0, 16).replace('T', ' ') : '',
  ]);
  const shown = r.rows.length ? `${n(r.offset + 1)}-${n(r.offset + r.rows.length)} of ${n(r.total)}` : `0 of ${n(r.total)}`;
  const filters = [r.filters.search ? `search "${r.filters.search}"` : '', r.filters.city ? `city "${r.filters.city}"` : ''].filter(Boolean).join(', ');
  const lines = [
    `${r.brand}${filters ? ` (${filters})` : ''}: ${shown} users${r.bannedExcluded ? `, ${n(r.bannedExcluded)} banned excluded` : ''}`,
    table(['crm id', 'name', 'phone', 'chat id / validity', 'city / source', 'brands', 'sync', 'CRM updated'], rows, { empty: 'No CRM user matches.' }),
    `this page: ${r.page.new} new, ${r.page.changed} changed, ${r.page.upToDate} up to date, ${r.page.invalidPhone} invalid phone`,
  ];
  if (r.offset + r.rows.length < r.total) lines.push(paint('dim', `next page: --offset ${r.offset + r.rows.length}`));
  return lines.join('\n');
}

function presentImport(r: ImportResult): string {
  const head = r.complete ? `imported ${r.brand}` : `import of ${r.brand} stopped early: run the same command again to finish it`;
  return [
    head,
    keyValue([
      ['matched', n(r.matched)],
      ['new', n(r.new)],
      ['updated', n(r.updated)],
      ['unchanged', n(r.unchanged)],
      ['invalid phone', `${n(r.invalidPhone)} (kept with the reason; never queued)`],
      ['banned skipped', n(r.bannedSkipped)],
      ...(r.unusable ? ([['unusable rows', `${n(r.unusable)} (no usable CRM id)`]] as Array<[string, unknown]>) : []),
      ...(r.notMatched.length ? ([['ids not matched', r.notMatched.slice(0, 20).join(', ') + (r.notMatched.length > 20 ? `, … (${r.notMatched.length})` : '')]] as Array<[string, unknown]>) : []),
      ['time', `${(r.durationMs / 1000).toFixed(1)} s`],
    ]),
  ].join('\n');
}

// ----------------------------------------------------------------------------------------------
// progress

/** `importing vaseline ▕████░░░░▏ 4,000/10,000` on stderr, redrawn in place, at most ~10 times a second. */
function progressBar(run: Run): { update(p: ImportProgress): void; done(): void } | undefined {
  const err = process.stderr;
  if (run.json || !err.isTTY) return undefined;
  let last = 0;
  let drawn = false;
  const draw = (p: ImportProgress) => {
    const width = 24;
    const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const full = Math.round(ratio * width);
    err.write(`\r\u001b[2Kimporting ${p.brand} ▕${'█'.repeat(full)}${'░'.repeat(width - full)}▏ ${n(p.done)}/${n(p.total)}`);
    drawn = true;
  };
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      draw(p);
    },
    done() {
      if (drawn) err.write('\n');
    },
  };
}

/** First Ctrl-C: stop after the page being written. Second: quit at once (committed pages stay). */
function interruptible(run: Run): AbortController {
  const controller = new AbortController();
  const onSigint = () => {
    if (!controller.signal.aborted) {
      run.note('\nstopping after the current page… (Ctrl-C again to quit now; committed pages stay)');
      controller.abort();
      return;
    }
    process.off('SIGINT', onSigint);
    process.kill(process.pid, 'SIGINT');
  };
  process.on('SIGINT', onSigint);
  run.onClose(() => {
    process.off('SIGINT', onSigint);
  });
  return controller;
}

// ----------------------------------------------------------------------------------------------

export function register(program: Command, k: CliKit): void {
  const audience = program
    .command('audience')
    .description('The live CRM audience (Supabase, read only): brands, preview, import')
    .addHelpText('after', '\nNeeds SUPABASE_URL and SUPABASE_SERVICE_KEY; CRM_SCHEMA renames tables and columns (docs/crm-shape.md).');

  audience
    .command('brands')
    .description('Brands with their number of non-banned CRM users')
    .action(
      k.action(async (run): Promise<BrandsResult> => {
        const source = await crm(run, 'audience brands');
        const { listBrands } = await import('../core/audience/audience.service.js');
        return listBrands(source);
      }, presentBrands),
    );

  audience
    .command('preview')
    .description('Live CRM users of a brand, compared with the imported contacts (writes nothing)')
    .requiredOption('--brand <brand>', 'required: the brand (see `campaign audience brands`)')
    .option('--search <text>', 'name or phone contains')
    .option('--city <city>', 'city equals (case-insensitive)')
    .option('--limit <n>', 'rows to show, 1-1000', '50')
    .option('--offset <n>', 'rows to skip', '0')
    .action(
      k.action(async (run): Promise<PreviewResult> => {
        const o = run.opts;
        const limit = intArg(o.limit, '--limit', { min: 1, max: 1000 })!;
        const offset = intArg(o.offset, '--offset', { min: 0 })!;
        const source = await crm(run, 'audience preview');
        const { previewAudience } = await import('../core/audience/audience.service.js');
        return previewAudience(await run.ctx(), source, { brand: o.brand, search: o.search, city: o.city, limit, offset });
      }, presentPreview),
    );

  audience
    .command('import')
    .description('Import CRM users of a brand into contacts (a page of 1,000 at a time; safe to re-run)')
    .requiredOption('--brand <brand>', 'required: the brand (see `campaign audience brands`)')
    .option('--ids <ids>', 'only these CRM user ids, comma-separated')
    .option('--all', 'every matching user (narrow with --search and --city)')
    .option('--search <text>', 'with --all: name or phone contains')
    .option('--city <city>', 'with --all: city equals (case-insensitive)')
    .action(
      k.action(async (run): Promise<ImportResult> => {
        const o = run.opts;
        const ids = parseIds(o.ids);
        if (Boolean(ids) === Boolean(o.all)) throw new CampaignError('USAGE', 'Say which users to import: --ids <id,...> or --all (with --search/--city to narrow it).');
        const source = await crm(run, 'audience import');
        const { importAudience } = await import('../core/audience/audience.service.js');
        const ctx = await run.ctx();
        const bar = progressBar(run);
        const controller = interruptible(run);
        try {
          const result = await importAudience(ctx, source, {
            brand: o.brand,
            ids,
            all: Boolean(o.all),
            search: o.search,
            city: o.city,
            signal: controller.signal,
            onProgress: bar?.update,
          });
          if (!result.complete) run.exitCode = 130;
          return result;
        } finally {
          bar?.done();
        }
      }, presentImport),
    );
}

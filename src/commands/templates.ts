// `campaign templates list | show <sample> | validate <file> | render <file> [--vars <json>]`
// A file may be a template or a whole campaign file (its "template" and "mediaAssetId" are used).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CampaignError } from '../core/errors.js';
import type { MediaRef } from '../core/media/media.repository.js';
import { compileTemplate, getSample, listSamples, parseTemplateVars, type TemplateSample } from '../core/templates/index.js';
import { intArg, type CliKit, type Run } from './kit.js';
import { readJsonFile } from './read-json-file.js';
import { keyValue, paint, table } from './render.js';

const DEMO_VARS = { first_name: 'Amani', brand: 'vaseline', city: 'Kinshasa', source: 'store', store_id: 'KIN-01' };

interface Loaded {
  template: unknown;
  mediaAssetId?: number;
  source: string;
}

/** A sample name, a template file, or a campaign file. */
function load(ref: string): Loaded {
  // Anything on disk is a file (or a directory, which then says so), whatever its name.
  const looksLikeFile = ref === '-' || ref.includes('/') || ref.endsWith('.json') || existsSync(ref);
  if (!looksLikeFile) {
    try {
      return { template: getSample(ref).template, source: `sample ${ref}` };
    } catch (e) {
      if (!(e instanceof CampaignError) || e.code !== 'TEMPLATE_NOT_FOUND') throw e;
      throw new CampaignError('FILE_UNREADABLE', `${e.message} To check a file, give its path (for example ./${ref}.json).`, { ref });
    }
  }
  const doc = readJsonFile(ref);
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && 'template' in doc && !('type' in doc)) {
    const d = doc as { template: unknown; mediaAssetId?: unknown };
    return { template: d.template, mediaAssetId: typeof d.mediaAssetId === 'number' ? d.mediaAssetId : undefined, source: `${ref} (campaign file)` };
  }
  return { template: doc, source: ref };
}

async function mediaFor(run: Run, id: number | undefined): Promise<MediaRef | undefined> {
  if (id === undefined) return undefined;
  const { getMediaRef } = await import('../core/media/media.repository.js');
  return getMediaRef((await run.ctx()).db, id);
}

function compile(loaded: Loaded, media: MediaRef | undefined) {
  return compileTemplate(loaded.template, media ? { media } : { mediaPlaceholder: true });
}

export function register(program: Command, k: CliKit): void {
  const templates = program.command('templates').description('Template samples: list, show, validate, render');
  templates
    .command('list')
    .description('List the samples in templates/ with their type and endpoint')
    .action(
      k.action(
        async () =>
          listSamples().map((s: TemplateSample) => {
            const c = compileTemplate(s.template, { mediaPlaceholder: true });
            return { name: s.name, type: c.messageType, endpoint: c.endpoint, experimental: c.experimental, usesMedia: s.usesMedia, description: s.description };
          }),
        (rows) => table(['sample', 'type', 'endpoint', 'description'], rows.map((r) => [r.name, r.type, r.endpoint, r.description])),
      ),
    );
  templates
    .command('show')
    .description('Print a sample template as JSON, ready to copy into a campaign file')
    .argument('<sample>', 'sample name, e.g. text_basic')
    .action(k.action(async (_run, [name]) => getSample(name!).template, (t) => JSON.stringify(t, null, 2)));
  templates
    .command('validate')
    .description('Check a template (or a campaign file\'s template) against every rule; exit 3 when invalid')
    .argument('<file>', 'template or campaign JSON file, or a sample name')
    .option('--media <id>', 'a Media Gallery asset id to check media templates with')
    .action(
      k.action(async (run, [ref]) => {
        const loaded = load(ref!);
        const media = await mediaFor(run, intArg(run.opts.media, '--media', { min: 1 }) ?? loaded.mediaAssetId);
        const c = compile(loaded, media);
        for (const w of c.warnings) run.log.warn(w);
        return { valid: true, source: loaded.source, mode: c.mode, type: c.messageType, endpoint: c.endpoint, fallback: c.fallback ? { type: c.fallback.messageType, endpoint: c.fallback.endpoint } : null, variables: c.variables, warnings: c.warnings };
      }, (r) => keyValue([
        ['valid', paint('green', 'yes')],
        ['source', r.source],
        ['type', `${r.type} (${r.mode})`],
        ['endpoint', r.endpoint],
        ['fallback', r.fallback ? `${r.fallback.type} ${r.fallback.endpoint}` : '-'],
        ['variables', r.variables.map((v) => `{{${v}}}`).join(' ') || '-'],
        ['warnings', r.warnings.length],
      ])),
    );
  templates
    .command('render')
    .description('Render a template for one recipient: the endpoint and the exact JSON body sent to WAHA')
    .argument('<file>', 'template or campaign JSON file, or a sample name')
    .option('--vars <json>', `variable values as JSON (default ${JSON.stringify(DEMO_VARS)})`)
    .option('--session <name>', 'WAHA session', 'default')
    .option('--chat-id <id>', 'chat id', '243812345678@c.us')
    .option('--media <id>', 'a Media Gallery asset id for media templates')
    .action(
      k.action(async (run, [ref]) => {
        let raw: unknown = DEMO_VARS;
        if (run.opts.vars !== undefined) {
          try {
            raw = JSON.parse(run.opts.vars);
          } catch {
            throw new CampaignError('USAGE', `--vars must be JSON such as '{"first_name":"Amani"}'; got ${run.opts.vars}`, {});
          }
        }
        const vars = parseTemplateVars(raw);
        const loaded = load(ref!);
        const media = await mediaFor(run, intArg(run.opts.media, '--media', { min: 1 }) ?? loaded.mediaAssetId);
        const c = compile(loaded, media);
        for (const w of c.warnings) run.log.warn(w);
        const target = { session: run.opts.session as string, chatId: run.opts.chatId as string };
        const fallback = c.renderFallback(vars, target);
        return { type: c.messageType, endpoint: c.endpoint, payload: c.render(vars, target), fallback: fallback ? { type: c.fallback!.messageType, endpoint: c.fallback!.endpoint, payload: fallback } : null, warnings: c.warnings };
      }, (r) => [`POST ${r.endpoint}`, JSON.stringify(r.payload, null, 2), ...(r.fallback ? ['', `fallback on 501: POST ${r.fallback.endpoint}`, JSON.stringify(r.fallback.payload, null, 2)] : [])].join('\n')),
    );
}

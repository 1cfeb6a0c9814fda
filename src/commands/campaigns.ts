// Campaign commands: create, apply, edit, show, list, approve, duplicate, archive, delete.
import type { Command } from 'commander';
import type { Campaign } from '../core/campaigns/campaign.repository.js';
import {
  type ApplyResult,
  applyCampaign,
  approveCampaign,
  archiveCampaign,
  type CampaignDetail,
  type CampaignResult,
  createCampaign,
  deleteCampaign,
  duplicateCampaign,
  editCampaign,
  listCampaigns,
  showCampaign,
  type CampaignListItem,
} from '../core/campaigns/campaign.service.js';
import { CAMPAIGN_STATES, type CampaignState } from '../core/db/schema.js';
import { CampaignError } from '../core/errors.js';
import { type CliKit, intArg, type Run } from './kit.js';
import { readJsonFile } from './read-json-file.js';
import { keyValue, paint, table } from './render.js';

function summary(c: Campaign): string {
  return keyValue([
    ['id', c.id],
    ['name', c.name],
    ['status', `${c.status}${c.archived ? ' (archived)' : ''}`],
    ['brand', c.brand],
    ['session', c.session],
    ['type', `${c.messageType} (${c.templateMode})`],
    ['media asset', c.mediaAssetId ?? ''],
    ['content', c.contentFrozen ? `frozen since ${c.contentFrozenAt}` : 'editable'],
    ['content hash', c.contentHash.slice(0, 16)],
    ['approved', c.approvedAt ? `${c.approvedAt} by ${c.approvedBy}` : ''],
    ['updated', `${c.updatedAt} by ${c.updatedBy ?? ''}`],
  ]);
}

function warn(run: Run, warnings: string[]): void {
  for (const w of warnings) run.log.warn(w);
}

function presentResult(r: CampaignResult | ApplyResult): string {
  const head = 'action' in r ? `${r.action}: campaign ${r.campaign.id}` : `campaign ${r.campaign.id}`;
  return `${head}\n${summary(r.campaign)}`;
}

function presentDetail(d: CampaignDetail): string {
  const queue = Object.entries(d.queue);
  return [
    summary(d),
    '',
    `queue: ${queue.length ? queue.map(([s, n]) => `${s} ${n}`).join(', ') : 'not built'}`,
    `test runs: ${d.testRuns}`,
    '',
    paint('dim', 'template:'),
    JSON.stringify(d.template, null, 2),
  ].join('\n');
}

function presentList(r: { campaigns: CampaignListItem[] }): string {
  return table(
    ['id', 'name', 'status', 'brand', 'session', 'type', 'content', 'updated'],
    r.campaigns.map((c) => [c.id, c.name, c.status, c.brand, c.session, c.messageType, c.contentFrozen ? 'frozen' : 'editable', c.updatedAt.slice(0, 16).replace('T', ' ')]),
    { empty: 'No campaigns yet. Create one with `campaign create --file campaign.json` (see `campaign templates list`).' },
  );
}

function parseStatuses(v: string | undefined): CampaignState[] | undefined {
  if (!v) return undefined;
  const list = v.split(',').map((s) => s.trim().toUpperCase());
  for (const s of list) {
    if (!(CAMPAIGN_STATES as readonly string[]).includes(s)) {
      throw new CampaignError('USAGE', `--status ${s} is not a campaign state; use one or more of ${CAMPAIGN_STATES.join(', ')} (comma-separated).`);
    }
  }
  return list as CampaignState[];
}

export function register(program: Command, k: CliKit): void {
  program
    .command('create')
    .description('Create a DRAFT campaign from a JSON file')
    .requiredOption('--file <path>', 'required: campaign JSON: {name?, brand, session?, template, mediaAssetId?}')
    .action(
      k.action(async (run) => {
        const input = readJsonFile(run.opts.file);
        const r = await createCampaign(await run.ctx(), input);
        warn(run, r.warnings);
        return r;
      }, presentResult),
    );

  program
    .command('apply')
    .description('Create or update the DRAFT of the name in a JSON file (idempotent, for CI)')
    .requiredOption('--file <path>', 'required: campaign JSON with a name')
    .action(
      k.action(async (run) => {
        const input = readJsonFile(run.opts.file);
        const r = await applyCampaign(await run.ctx(), input);
        warn(run, r.warnings);
        return r;
      }, presentResult),
    );

  program
    .command('edit')
    .description('Replace a DRAFT campaign from a JSON file')
    .argument('<campaign>', 'id or name')
    .requiredOption('--file <path>', 'required: campaign JSON')
    .action(
      k.action(async (run, [ref]) => {
        const input = readJsonFile(run.opts.file);
        const r = await editCampaign(await run.ctx(), ref!, input);
        warn(run, r.warnings);
        return r;
      }, presentResult),
    );

  program
    .command('show')
    .description('Show one campaign')
    .argument('<campaign>', 'id or name')
    .action(k.action(async (run, [ref]) => showCampaign(await run.ctx(), ref!), presentDetail));

  program
    .command('list')
    .description('List campaigns')
    .option('--status <states>', 'only these states, comma-separated (DRAFT,APPROVED,RUNNING,PAUSED,COMPLETED,CANCELLED)')
    .option('--archived', 'list archived campaigns instead')
    .option('--search <text>', 'name or brand contains')
    .option('--limit <n>', 'at most this many', '200')
    .action(
      k.action(async (run) => {
        const o = run.opts;
        return listCampaigns(await run.ctx(), {
          status: parseStatuses(o.status),
          archived: Boolean(o.archived),
          search: o.search,
          limit: intArg(o.limit, '--limit', { min: 1, max: 10000 }),
        });
      }, presentList),
    );

  program
    .command('approve')
    .description('Approve a DRAFT: records who, when and a content hash, and freezes content')
    .argument('<campaign>', 'id or name')
    .action(k.action(async (run, [ref]) => ({ campaign: await approveCampaign(await run.ctx(), ref!) }), (r) => `approved\n${summary(r.campaign)}`));

  program
    .command('duplicate')
    .description('Copy a campaign into a new editable DRAFT')
    .argument('<campaign>', 'id or name')
    .option('--name <name>', 'name of the copy (default: "<name> (copy)")')
    .action(
      k.action(async (run, [ref]) => ({ campaign: await duplicateCampaign(await run.ctx(), ref!, { name: run.opts.name }) }), (r) => `new draft\n${summary(r.campaign)}`),
    );

  program
    .command('archive')
    .description('Archive a campaign (hidden from lists, kept for reports)')
    .argument('<campaign>', 'id or name')
    .option('--undo', 'unarchive instead')
    .action(
      k.action(
        async (run, [ref]) => ({ campaign: await archiveCampaign(await run.ctx(), ref!, !run.opts.undo) }),
        (r) => `${r.campaign.archived ? 'archived' : 'unarchived'}: campaign ${r.campaign.id} "${r.campaign.name}"`,
      ),
    );

  program
    .command('delete')
    .description('Delete an empty DRAFT')
    .argument('<campaign>', 'id or name')
    .action(k.action(async (run, [ref]) => deleteCampaign(await run.ctx(), ref!), (r) => `deleted: campaign ${r.deleted.id} "${r.deleted.name}"`));
}

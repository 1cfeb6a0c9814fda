// Which action is allowed in which campaign state, and what to say when it is not. Pure, so
// every transition is unit-tested without a database; services call it inside their transaction.
import type { CampaignState } from '../db/schema.js';
import { CampaignError } from '../errors.js';

export type CampaignAction = 'edit' | 'approve' | 'build_queue' | 'start' | 'pause' | 'resume' | 'cancel' | 'complete' | 'delete' | 'test_run' | 'preview';

const ALLOWED: Record<CampaignAction, readonly CampaignState[]> = {
  edit: ['DRAFT'],
  approve: ['DRAFT'],
  build_queue: ['APPROVED', 'PAUSED', 'RUNNING'],
  start: ['APPROVED'],
  pause: ['RUNNING'],
  resume: ['PAUSED'],
  cancel: ['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED'],
  complete: ['RUNNING'],
  delete: ['DRAFT'],
  test_run: ['DRAFT', 'APPROVED', 'PAUSED'],
  preview: ['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED'],
};

export function canDo(state: CampaignState, action: CampaignAction): boolean {
  return ALLOWED[action].includes(state);
}

/** The way out, said as a command the operator can run. */
function wayOut(id: number, state: CampaignState, action: CampaignAction): string {
  switch (action) {
    case 'edit':
      return state === 'CANCELLED' || state === 'COMPLETED'
        ? `run \`campaign duplicate ${id}\` for a new editable draft`
        : `approved content is frozen: run \`campaign duplicate ${id}\` for a new editable draft`;
    case 'approve':
      return `only a DRAFT can be approved; run \`campaign duplicate ${id}\` to approve new content`;
    case 'start':
      return state === 'DRAFT'
        ? `approve it first (\`campaign approve ${id}\`), then build the queue (\`campaign queue build ${id}\`)`
        : state === 'PAUSED'
          ? `it is paused: run \`campaign resume ${id}\``
          : state === 'CANCELLED'
            ? `it was cancelled; run \`campaign duplicate ${id}\` for a new draft to send`
            : 'it has already run';
    case 'pause':
      return state === 'PAUSED' ? 'it is already paused' : 'only a RUNNING campaign can be paused';
    case 'resume':
      return state === 'RUNNING' ? 'it is already running' : state === 'APPROVED' ? `run \`campaign start ${id}\`` : 'only a PAUSED campaign can be resumed';
    case 'cancel':
      return 'it has already finished';
    case 'delete':
      return `only an empty DRAFT can be deleted; run \`campaign archive ${id}\` to hide it instead`;
    case 'build_queue':
      return state === 'DRAFT' ? `approve it first: \`campaign approve ${id}\`` : 'a finished campaign has no queue to build';
    case 'test_run':
      return `duplicate it for a new test: \`campaign duplicate ${id}\``;
    default:
      return 'check `campaign show` for its state';
  }
}

export function assertCanDo(campaign: { id: number; status: CampaignState }, action: CampaignAction): void {
  if (canDo(campaign.status, action)) return;
  const code = action === 'edit' && campaign.status !== 'DRAFT' ? 'CONTENT_FROZEN' : 'INVALID_TRANSITION';
  throw new CampaignError(
    code,
    `Campaign ${campaign.id} is ${campaign.status}, so it cannot ${action.replace('_', ' ')}: ${wayOut(campaign.id, campaign.status, action)}.`,
    { campaignId: campaign.id, status: campaign.status, action, allowedFrom: ALLOWED[action] },
  );
}

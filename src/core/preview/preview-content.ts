// What a preview sends: the campaign's saved content, or a draft given with `--file` (either a
// whole campaign file, as `campaign edit --file` takes, or a bare template document). A draft is
// only rendered for this one send; nothing of it is saved, so a DRAFT stays what it was.
import type { Campaign } from '../campaigns/campaign.repository.js';
import { parseCampaignFile } from '../campaigns/campaign.schema.js';

export interface PreviewContent {
  template: Record<string, unknown>;
  brand: string;
  session: string;
  mediaAssetId: number | null;
  source: 'campaign' | 'file';
}

/** A campaign file has a `template` object beside its other fields; a template has a `type`. */
function isCampaignFile(input: unknown): boolean {
  return input !== null && typeof input === 'object' && !Array.isArray(input) && 'template' in input && typeof (input as { template: unknown }).template === 'object';
}

export function previewContent(campaign: Campaign, draft: unknown): PreviewContent {
  if (draft === undefined) {
    return { template: campaign.template, brand: campaign.brand, session: campaign.session, mediaAssetId: campaign.mediaAssetId, source: 'campaign' };
  }
  if (isCampaignFile(draft)) {
    // Same meaning as `campaign edit --file`: the file decides brand, session and media.
    const file = parseCampaignFile(draft, 'draft file');
    return { template: file.template, brand: file.brand, session: file.session, mediaAssetId: file.mediaAssetId ?? null, source: 'file' };
  }
  // A bare template is checked by compileTemplate, which names every broken field.
  return { template: draft as Record<string, unknown>, brand: campaign.brand, session: campaign.session, mediaAssetId: campaign.mediaAssetId, source: 'file' };
}

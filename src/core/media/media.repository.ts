// Media Gallery rows, as far as templates need them (the gallery itself grows in the sending work).
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { CampaignError } from '../errors.js';

export interface MediaRef {
  id: number;
  kind: 'image' | 'audio' | 'video' | 'document';
  mimetype: string;
  filename: string;
}

export async function getMediaRef(db: Kysely<Database> | Transaction<Database>, id: number): Promise<MediaRef> {
  const row = await db.selectFrom('media_assets').select(['id', 'kind', 'mimetype', 'name', 'original_filename']).where('id', '=', id).executeTakeFirst();
  if (!row) {
    throw new CampaignError('MEDIA_NOT_FOUND', `No media asset has id ${id}. \`campaign media list\` shows the gallery; upload with \`campaign media upload <file>\`.`, { id });
  }
  return { id: row.id, kind: row.kind, mimetype: row.mimetype, filename: row.original_filename ?? row.name };
}

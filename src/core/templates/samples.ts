// The template samples shipped in `templates/` (the seed's samples, as files operators copy and
// edit). Found by walking up from this module, so it works from src (tsx) and from dist.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closest } from '../did-you-mean.js';
import { CampaignError } from '../errors.js';

export interface TemplateSample {
  name: string;
  description: string;
  /** Whether it needs the campaign's Media Gallery asset. */
  usesMedia: boolean;
  template: Record<string, unknown>;
}

const DESCRIPTIONS: Record<string, [string, boolean]> = {
  text_basic: ['Personalised plain text; the safest message type', false],
  text_link_preview: ['Text with a link and WAHA link preview fields', false],
  text_reply_or_mentions: ['Text showing the optional reply_to and mentions fields', false],
  image_url: ['Image from a public JPEG URL with a caption', false],
  image_media_gallery: ['Image from the campaign\'s Media Gallery asset with a caption', true],
  voice_media_gallery: ['Voice note from the campaign\'s Media Gallery audio (OGG/Opus)', true],
  video_media_gallery: ['Video from the campaign\'s Media Gallery asset with a caption', true],
  file_media_gallery: ['Document from the Media Gallery with a caption and file name', true],
  poll: ['Poll with 2–12 options; the recommended interactive message', false],
  location: ['Store location with coordinates and a title', false],
  contact_vcard: ['A support or sales contact card (structured)', false],
  message_buttons_experimental: ['Experimental: header, body, footer and reply buttons, with a text fallback on 501', false],
  image_buttons_experimental: ['Experimental: a Media Gallery JPEG header plus buttons, with a text fallback on 501', true],
  buttons_experimental: ['Experimental: the legacy message-buttons sample, kept for compatibility', false],
  list_experimental: ['Experimental: a list menu (advanced only), with a poll fallback on 501', false],
};

let dirCache: string | undefined;

function samplesDir(): string {
  if (dirCache) return dirCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'templates', 'text_basic.json')) && existsSync(join(dir, 'package.json'))) return (dirCache = join(dir, 'templates'));
    dir = dirname(dir);
  }
  throw new CampaignError('INTERNAL', 'The templates/ folder of samples is missing from this installation; reinstall the package.');
}

export const SAMPLE_NAMES = Object.keys(DESCRIPTIONS);

export function getSample(name: string): TemplateSample {
  const clean = name.replace(/\.json$/, '');
  const entry = DESCRIPTIONS[clean];
  if (!entry) {
    const near = closest(clean, SAMPLE_NAMES);
    throw new CampaignError('TEMPLATE_NOT_FOUND', `No template sample is named "${name}"${near ? ` (did you mean ${near}?)` : ''}. \`campaign templates list\` shows them all.`, { name });
  }
  const template = JSON.parse(readFileSync(join(samplesDir(), `${clean}.json`), 'utf8')) as Record<string, unknown>;
  return { name: clean, description: entry[0], usesMedia: entry[1], template };
}

export function listSamples(): TemplateSample[] {
  return SAMPLE_NAMES.map(getSample);
}

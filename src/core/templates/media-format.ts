// Which voice and video files WhatsApp plays as they are. A voice note must be OGG/Opus and a
// video MP4 (H.264); anything else reaches the phone as a file it cannot play, unless WAHA
// converts it first with ffmpeg (`convert: true`, the same DTO field on WEBJS, NOWEB and GOWS:
// waha-contract.md §3.1, §4.4, §4.5). Decided when the template is compiled, from the mimetype
// of the actual file (a Media Gallery asset's detected mimetype, or the template's), so the
// payload stored on a queue row is the one sent (promise 3).

export type ConvertibleType = 'voice' | 'video';

export interface FormatDecision {
  /** What `convert` must be for WhatsApp to play the file. */
  convert: boolean;
  /** Why WAHA converts it, for templates validate, campaign create/apply and preview. */
  reason: string | null;
}

const NATIVE: Record<ConvertibleType, { label: string; test: (base: string, params: string) => boolean }> = {
  // audio/ogg without codecs=opus may be Vorbis, which WhatsApp does not play as a voice note.
  voice: { label: 'OGG/Opus', test: (base, params) => base === 'audio/ogg' && /(^|;)\s*codecs\s*=\s*"?opus"?\s*($|;)/.test(params) },
  video: { label: 'MP4', test: (base) => base === 'video/mp4' },
};

export function mediaFormat(type: ConvertibleType, mimetype: string | undefined): FormatDecision {
  const mime = String(mimetype ?? '').trim().toLowerCase();
  const [base = '', ...rest] = mime.split(';');
  const native = NATIVE[type];
  if (native.test(base.trim(), rest.join(';'))) return { convert: false, reason: null };
  return { convert: true, reason: `${type} is ${mime || 'of an unknown type'}: WAHA will convert it to ${native.label} (convert: true)` };
}

// What a file is, decided from its first bytes and never from its name: an upload called
// `photo.jpg` that is really a PDF must go out through sendFile as a PDF, not as a broken image.
// Only the signatures WhatsApp accepts for each kind map to image/audio/video; everything else
// that can be sent at all is a document (WAHA's sendFile takes any mimetype).

export type MediaKind = 'image' | 'audio' | 'video' | 'document';

export interface DetectedMedia {
  kind: MediaKind;
  mimetype: string;
  /** The extension the stored file gets (without the dot). */
  ext: string;
  /** A short human name of the format, for messages (`PDF`, `JPEG image`). */
  format: string;
}

/** How many leading bytes `detectMediaKind` wants: enough for ZIP member names and text sniffing. */
export const SNIFF_BYTES = 64 * 1024;

const MB = 1024 * 1024;

/** WhatsApp's limits per kind (issue 4): image 5 MB, audio and video 16 MB, document 100 MB. */
export const MEDIA_SIZE_LIMITS: Record<MediaKind, number> = {
  image: 5 * MB,
  audio: 16 * MB,
  video: 16 * MB,
  document: 100 * MB,
};

export function formatLimit(bytes: number): string {
  return bytes % MB === 0 ? `${bytes / MB} MB` : `${(bytes / MB).toFixed(1)} MB`;
}

const ascii = (b: Buffer, start: number, end: number): string => b.subarray(start, end).toString('latin1');
const starts = (b: Buffer, bytes: number[], offset = 0): boolean => b.length >= offset + bytes.length && bytes.every((x, i) => b[offset + i] === x);

const media = (kind: MediaKind, mimetype: string, ext: string, format: string): DetectedMedia => ({ kind, mimetype, ext, format });

export function detectMediaKind(head: Buffer): DetectedMedia {
  // Images.
  if (starts(head, [0xff, 0xd8, 0xff])) return media('image', 'image/jpeg', 'jpg', 'JPEG image');
  if (starts(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return media('image', 'image/png', 'png', 'PNG image');
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return media('image', 'image/gif', 'gif', 'GIF image');
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return media('image', 'image/webp', 'webp', 'WEBP image');

  // Audio.
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE') return media('audio', 'audio/wav', 'wav', 'WAV audio');
  if (ascii(head, 0, 4) === 'OggS') return detectOgg(head);
  if (ascii(head, 0, 3) === 'ID3') return media('audio', 'audio/mpeg', 'mp3', 'MP3 audio');
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xf6) === 0xf0) return media('audio', 'audio/aac', 'aac', 'AAC audio (ADTS)');
  // An MPEG audio frame header: 11 sync bits, then a version and a layer that are not "reserved".
  if (head.length >= 3 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0 && ((head[1]! >> 3) & 3) !== 1 && ((head[1]! >> 1) & 3) !== 0 && head[2]! >> 4 !== 0xf) {
    return media('audio', 'audio/mpeg', 'mp3', 'MP3 audio');
  }

  // ISO base media (MP4, M4A, 3GP, MOV): an `ftyp` box first, its major brand says which.
  if (ascii(head, 4, 8) === 'ftyp') return detectIsoMedia(head);
  // Matroska / WebM (EBML header); the DocType says which.
  if (starts(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    const probe = ascii(head, 0, Math.min(head.length, 64));
    return probe.includes('webm') ? media('video', 'video/webm', 'webm', 'WebM video') : media('video', 'video/x-matroska', 'mkv', 'Matroska video');
  }

  // Documents.
  if (ascii(head, 0, 5) === '%PDF-') return media('document', 'application/pdf', 'pdf', 'PDF');
  if (starts(head, [0x50, 0x4b, 0x03, 0x04])) return detectZip(head);
  if (starts(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return media('document', 'application/x-ole-storage', 'doc', 'legacy Office document');
  if (ascii(head, 0, 5) === '{\\rtf') return media('document', 'application/rtf', 'rtf', 'RTF document');
  if (looksLikeText(head)) return media('document', 'text/plain', 'txt', 'plain text');
  return media('document', 'application/octet-stream', 'bin', 'binary file');
}

function detectOgg(head: Buffer): DetectedMedia {
  // The first page carries the codec's identification header.
  const first = ascii(head, 0, Math.min(head.length, 128));
  if (first.includes('OpusHead')) return media('audio', 'audio/ogg; codecs=opus', 'ogg', 'Ogg Opus audio');
  if (first.includes('theora')) return media('video', 'video/ogg', 'ogv', 'Ogg Theora video');
  return media('audio', 'audio/ogg', 'ogg', 'Ogg audio');
}

function detectIsoMedia(head: Buffer): DetectedMedia {
  const brand = ascii(head, 8, 12);
  if (brand === 'M4A ' || brand === 'M4B ' || brand === 'M4P ' || brand === 'F4A ') return media('audio', 'audio/mp4', 'm4a', 'M4A audio');
  if (brand.startsWith('3g2')) return media('video', 'video/3gpp2', '3g2', '3GPP2 video');
  if (brand.startsWith('3gp') || brand.startsWith('3ge') || brand.startsWith('3gg')) return media('video', 'video/3gpp', '3gp', '3GPP video');
  if (brand === 'qt  ') return media('video', 'video/quicktime', 'mov', 'QuickTime video');
  // Still images in an ISO container (HEIC, AVIF) are not images WhatsApp shows inline.
  if (['heic', 'heix', 'mif1', 'msf1', 'avif', 'avis'].includes(brand)) return media('document', brand.startsWith('avi') ? 'image/avif' : 'image/heic', brand.startsWith('avi') ? 'avif' : 'heic', 'HEIF image');
  return media('video', 'video/mp4', 'mp4', 'MP4 video');
}

/** A ZIP is an Office/OpenDocument file when its member names say so; they sit in local headers near the start. */
function detectZip(head: Buffer): DetectedMedia {
  // ODF stores an uncompressed `mimetype` member first, so the mimetype itself is readable at offset 38.
  if (ascii(head, 30, 38) === 'mimetype') {
    const declared = ascii(head, 38, Math.min(head.length, 38 + 80)).match(/^application\/vnd\.oasis\.opendocument\.[a-z.-]+/);
    if (declared) return media('document', declared[0], odfExt(declared[0]), 'OpenDocument file');
  }
  const names = ascii(head, 0, head.length);
  if (names.includes('word/')) return media('document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx', 'Word document');
  if (names.includes('xl/')) return media('document', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx', 'Excel workbook');
  if (names.includes('ppt/')) return media('document', 'application/vnd.openxmlformats-officedocument.presentationml.presentation', 'pptx', 'PowerPoint presentation');
  return media('document', 'application/zip', 'zip', 'ZIP archive');
}

function odfExt(mimetype: string): string {
  if (mimetype.endsWith('.text')) return 'odt';
  if (mimetype.endsWith('.spreadsheet')) return 'ods';
  if (mimetype.endsWith('.presentation')) return 'odp';
  return 'odf';
}

/** Valid UTF-8 without NUL or other control bytes (tab, CR, LF and form feed aside). */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const byte of head) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c && byte !== 0x1b) return false;
  }
  // The sniffed window may end inside a multi-byte character: drop up to 3 trailing bytes before decoding.
  for (let cut = 0; cut <= 3 && cut < head.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try a shorter window
    }
  }
  return false;
}

/** Extensions a person would expect for a mimetype, so a sent filename matches its content. */
export function extensionsFor(mimetype: string): string[] {
  const base = mimetype.split(';')[0]!.trim();
  const table: Record<string, string[]> = {
    'image/jpeg': ['jpg', 'jpeg', 'jpe', 'jfif'],
    'image/png': ['png'],
    'image/gif': ['gif'],
    'image/webp': ['webp'],
    'audio/wav': ['wav'],
    'audio/ogg': ['ogg', 'oga', 'opus'],
    'audio/mpeg': ['mp3'],
    'audio/aac': ['aac'],
    'audio/mp4': ['m4a', 'm4b', 'mp4'],
    'video/mp4': ['mp4', 'm4v'],
    'video/3gpp': ['3gp'],
    'video/3gpp2': ['3g2'],
    'video/quicktime': ['mov'],
    'video/webm': ['webm'],
    'video/ogg': ['ogv', 'ogg'],
    'application/pdf': ['pdf'],
    'application/zip': ['zip'],
    'text/plain': ['txt', 'csv', 'tsv', 'md', 'log', 'json', 'xml', 'html', 'htm', 'vcf', 'ics'],
  };
  return table[base] ?? [];
}

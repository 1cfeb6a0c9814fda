// Templates: every type in both modes, every sample, and the bad examples of the seed manual.
import { describe, expect, it } from 'vitest';
import { CampaignError } from '../../src/core/errors.js';
import { compileTemplate, contentHash, getSample, listSamples, parseTemplateVars } from '../../src/core/templates/index.js';

const target = { session: 'default', chatId: '243812345678@c.us' };
const vars = { first_name: 'Amani', brand: 'vaseline', city: 'Goma', source: 'store', store_id: 'GOM-12' };
const jpeg = { id: 7, kind: 'image' as const, mimetype: 'image/jpeg', filename: 'promo.jpg' };

function issuesOf(doc: unknown, options = {}): string[] {
  try {
    compileTemplate(doc, options);
  } catch (e) {
    expect(e).toBeInstanceOf(CampaignError);
    expect((e as CampaignError).code).toBe('TEMPLATE_INVALID');
    return ((e as CampaignError).details.issues as Array<{ path: string; message: string }>).map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the template to be rejected');
}

describe('simple mode renders every type to its WAHA endpoint', () => {
  const cases: Array<[string, Record<string, unknown>, string, Record<string, unknown>]> = [
    ['text', { text: 'Hi {{first_name}} from {{brand}}' }, '/api/sendText', { text: 'Hi Amani from vaseline' }],
    ['image', { url: 'https://x.test/{{brand}}.jpg', caption: '{{city}}' }, '/api/sendImage', { file: { url: 'https://x.test/vaseline.jpg', mimetype: 'image/jpeg' }, caption: 'Goma' }],
    ['voice', {}, '/api/sendVoice', { file: { url: 'media-asset://7', mimetype: 'audio/ogg; codecs=opus', filename: 'note.ogg' }, convert: false }],
    ['video', { url: 'https://x.test/a.mp4' }, '/api/sendVideo', { file: { url: 'https://x.test/a.mp4', mimetype: 'video/mp4' }, caption: '', convert: false }],
    ['file', { url: 'https://x.test/a.pdf', filename: 'offer-{{brand}}.pdf' }, '/api/sendFile', { file: { url: 'https://x.test/a.pdf', mimetype: 'application/pdf', filename: 'offer-vaseline.pdf' } }],
    ['poll', { question: 'Best {{brand}}?', options: ['A', 'B'] }, '/api/sendPoll', { poll: { name: 'Best vaseline?', options: ['A', 'B'], multipleAnswers: false } }],
    ['location', { latitude: -1.68, longitude: 29.22, title: '{{brand}} Goma' }, '/api/sendLocation', { latitude: -1.68, longitude: 29.22, title: 'vaseline Goma' }],
    ['contact', { fullName: 'Support', phoneNumber: '+243 81 234 5678' }, '/api/sendContactVcard', { contacts: [{ fullName: 'Support', phoneNumber: '+243 81 234 5678' }] }],
    ['buttons', { body: 'Hi {{first_name}}', buttons: [{ type: 'reply', text: 'Yes' }], fallbackText: 'Hi {{first_name}}, reply YES' }, '/api/sendButtons', { body: 'Hi Amani', buttons: [{ type: 'reply', text: 'Yes' }] }],
  ];
  for (const [type, fields, endpoint, expected] of cases) {
    it(type, () => {
      const media = type === 'voice' ? { id: 7, kind: 'audio' as const, mimetype: 'audio/ogg; codecs=opus', filename: 'note.ogg' } : undefined;
      const c = compileTemplate({ mode: 'simple', type, ...fields }, { media });
      expect(c.endpoint).toBe(endpoint);
      expect(c.mode).toBe('simple');
      expect(c.render(vars, target)).toEqual({ ...target, ...expected });
    });
  }

  it('buttons carry their fallback; a poll fallback works too', () => {
    const c = compileTemplate({ mode: 'simple', type: 'buttons', body: 'b', buttons: [{ text: 'x' }], fallbackPoll: { question: 'Q {{city}}', options: ['a', 'b'] } });
    expect(c.fallback).toMatchObject({ messageType: 'poll', endpoint: '/api/sendPoll' });
    expect(c.renderFallback(vars, target)).toEqual({ ...target, poll: { name: 'Q Goma', options: ['a', 'b'], multipleAnswers: false } });
  });

  it('list is advanced only', () => {
    expect(issuesOf({ mode: 'simple', type: 'list' }).join()).toMatch(/advanced mode only/);
  });
});

describe('voice and video WhatsApp cannot play as they are get convert: true, with a warning', () => {
  const mp3 = { id: 9, kind: 'audio' as const, mimetype: 'audio/mpeg', filename: 'jingle.mp3' };
  it('the rule: OGG/Opus voice and MP4 video as they are; anything else converted', async () => {
    const { mediaFormat } = await import('../../src/core/templates/media-format.js');
    expect(mediaFormat('voice', 'audio/ogg; codecs=opus')).toEqual({ convert: false, reason: null });
    expect(mediaFormat('voice', 'Audio/OGG;codecs="opus"').convert).toBe(false);
    expect(mediaFormat('voice', 'audio/mpeg')).toEqual({ convert: true, reason: 'voice is audio/mpeg: WAHA will convert it to OGG/Opus (convert: true)' });
    expect(mediaFormat('voice', 'audio/ogg').convert).toBe(true); // may be Vorbis
    expect(mediaFormat('voice', 'audio/mp4').convert).toBe(true);
    expect(mediaFormat('video', 'video/mp4').convert).toBe(false);
    expect(mediaFormat('video', 'video/quicktime')).toEqual({ convert: true, reason: 'video is video/quicktime: WAHA will convert it to MP4 (convert: true)' });
    expect(mediaFormat('video', 'video/webm').convert).toBe(true);
  });

  it('an MP3 Media Gallery voice asset: convert true in the payload and a warning line', () => {
    const c = compileTemplate({ mode: 'simple', type: 'voice' }, { media: mp3 });
    expect(c.payload).toEqual({ file: { url: 'media-asset://9', mimetype: 'audio/mpeg', filename: 'jingle.mp3' }, convert: true });
    expect(JSON.parse(c.payloadJson).convert).toBe(true);
    expect(c.warnings).toContain('payload.file: voice is audio/mpeg: WAHA will convert it to OGG/Opus (convert: true)');
  });

  it('URLs decide from the template mimetype or the extension; an OGG/Opus URL and an MP4 stay as they are', () => {
    expect(compileTemplate({ mode: 'simple', type: 'voice', url: 'https://x.test/a.mp3' }).payload.convert).toBe(true);
    expect(compileTemplate({ mode: 'simple', type: 'voice', url: 'https://x.test/a', mimetype: 'audio/aac' }).payload.convert).toBe(true);
    const ogg = compileTemplate({ mode: 'simple', type: 'voice', url: 'https://x.test/a.ogg' });
    expect(ogg.payload.convert).toBe(false);
    expect(ogg.warnings).toEqual([]);
    const mov = compileTemplate({ mode: 'advanced', type: 'video', payload: { file: { url: 'https://x.test/v.mov', mimetype: 'video/quicktime' } } });
    expect(mov.payload.convert).toBe(true);
    expect(mov.warnings.join()).toMatch(/video is video\/quicktime: WAHA will convert it to MP4/);
    expect(compileTemplate({ mode: 'simple', type: 'video', url: 'https://x.test/a.mp4' }).payload.convert).toBe(false);
  });

  it('convert: false on a file WhatsApp cannot play is refused naming the field; convert: true is kept', () => {
    expect(issuesOf({ mode: 'advanced', type: 'voice', payload: { convert: false } }, { media: mp3 }).join()).toMatch(/payload\.convert: is false, but the voice is audio\/mpeg: WhatsApp cannot play it/);
    expect(compileTemplate({ mode: 'advanced', type: 'voice', payload: { convert: true } }, { media: { ...mp3, mimetype: 'audio/ogg; codecs=opus' } }).payload.convert).toBe(true);
    expect(compileTemplate({ mode: 'advanced', type: 'voice', payload: { convert: false } }, { media: { ...mp3, mimetype: 'audio/ogg; codecs=opus' } }).payload.convert).toBe(false);
  });
});

describe('advanced mode', () => {
  it('media from the campaign\'s gallery asset becomes a media-asset:// reference resolved at send time', () => {
    const c = compileTemplate({ mode: 'advanced', type: 'image', payload: { caption: 'x' } }, { media: jpeg });
    expect(c.payload).toEqual({ file: { url: 'media-asset://7', mimetype: 'image/jpeg', filename: 'promo.jpg' }, caption: 'x' });
  });

  it('a media template without a file or asset names both ways to fix it', () => {
    expect(issuesOf({ type: 'image', payload: {} }).join()).toMatch(/payload\.file: is required: give payload\.file\.url, or set mediaAssetId/);
  });

  it('the wrong kind of asset is refused', () => {
    expect(issuesOf({ type: 'video', payload: {} }, { media: jpeg }).join()).toMatch(/is an image; this message needs a video/);
  });

  it('payload placeholders are canonical and the JSON text keeps them for the SQL render', () => {
    const c = compileTemplate({ type: 'text', payload: { text: 'Hi {{ first_name }}' } });
    expect(c.payloadJson).toBe('{"text":"Hi {{first_name}}"}');
    expect(c.variables).toEqual(['first_name']);
  });

  it('missing values render blank', () => {
    const c = compileTemplate({ type: 'text', payload: { text: '[{{city}}]' } });
    expect(c.render({ city: null }, target).text).toBe('[]');
    expect(c.render({}, target).text).toBe('[]');
  });

  it('values are inserted literally, never re-expanded', () => {
    const c = compileTemplate({ type: 'text', payload: { text: '{{first_name}}|{{city}}' } });
    expect(c.render({ first_name: '{{city}}', city: 'x"y' }, target).text).toBe('{{city}}|x"y');
  });

  it('each render is a fresh object', () => {
    const c = compileTemplate({ type: 'poll', payload: { poll: { name: 'q', options: ['a', 'b'] } } });
    const a = c.render(vars, target) as any;
    a.poll.options.push('c');
    expect((c.render(vars, target) as any).poll.options).toEqual(['a', 'b']);
  });
});

describe('blocked and bad templates (seed manual bad examples)', () => {
  it('{"endpoint": "/api/deleteSession"}: endpoints are not arbitrary', () => {
    expect(issuesOf({ endpoint: '/api/deleteSession' })[0]).toMatch(/^endpoint: endpoints are not arbitrary/);
  });
  it('{"type": "button"}: did you mean buttons', () => {
    expect(issuesOf({ type: 'button' }).join()).toMatch(/type: "button" is not an allowed message type: did you mean "buttons"\?/);
  });
  it('a payment button is blocked', () => {
    expect(issuesOf({ type: 'buttons', payload: { body: 'Hi', buttons: [{ type: 'payment' }] }, fallback: { type: 'text', payload: { text: 'x' } } }).join()).toMatch(
      /payload\.buttons\[0\]\.type: payment buttons are blocked/,
    );
  });
  it('operational and event types are blocked with the reason', () => {
    expect(issuesOf({ type: 'event', payload: {} }).join()).toMatch(/"event" is blocked: event messages/);
    expect(issuesOf({ type: 'reaction', payload: {} }).join()).toMatch(/"reaction" is blocked/);
    expect(issuesOf({ type: 'delete', payload: {} }).join()).toMatch(/"delete" is blocked/);
  });
  it('a non-JPEG image is a warning, not an error', () => {
    const c = compileTemplate({ type: 'image', payload: { file: { url: 'https://x.test/promo.png' } } });
    expect(c.warnings.join()).toMatch(/not a JPEG/);
  });
  it('unknown variable: names it and the closest known one', () => {
    expect(issuesOf({ mode: 'simple', type: 'text', text: 'Hi {{frist_name}}' })).toEqual(['text: unknown variable {{frist_name}}: did you mean {{first_name}}?']);
  });
  it('buttons and list need a fallback of type text or poll', () => {
    expect(issuesOf({ type: 'buttons', payload: { body: 'b', buttons: [{ text: 'x' }] } }).join()).toMatch(/fallback: is required for buttons/);
    expect(issuesOf({ type: 'list', payload: {}, fallback: { type: 'image', payload: {} } }).join()).toMatch(/fallback\.type: must be text or poll/);
  });
  it('button counts and per-type fields', () => {
    const fb = { type: 'text', payload: { text: 'x' } };
    const five = Array.from({ length: 5 }, (_, i) => ({ text: `b${i}` }));
    expect(issuesOf({ type: 'buttons', payload: { body: 'b', buttons: five }, fallback: fb }).join()).toMatch(/payload\.buttons: has 5 buttons; it needs 1–4/);
    const bad = [{ type: 'url', text: 'x' }, { type: 'call', text: 'c', phoneNumber: '0812' }, { type: 'copy', text: 'k' }];
    const msgs = issuesOf({ type: 'buttons', payload: { body: 'b', buttons: bad }, fallback: fb }).join('\n');
    expect(msgs).toMatch(/buttons\[0\]\.url: is required/);
    expect(msgs).toMatch(/buttons\[1\]\.phoneNumber: must be a full international number/);
    expect(msgs).toMatch(/buttons\[2\]\.copyCode: is required/);
  });
  it('poll needs 2–12 distinct options', () => {
    expect(issuesOf({ mode: 'simple', type: 'poll', question: 'q', options: ['a'] }).join()).toMatch(/options: has 1 options; it needs 2–12/);
    expect(issuesOf({ mode: 'simple', type: 'poll', question: 'q', options: Array.from({ length: 13 }, (_, i) => `o${i}`) }).join()).toMatch(/has 13 options/);
    expect(issuesOf({ mode: 'simple', type: 'poll', question: 'q', options: ['a', 'a'] }).join()).toMatch(/repeats the option "a"/);
  });
  it('location coordinates are checked', () => {
    expect(issuesOf({ mode: 'simple', type: 'location', latitude: 91, longitude: 0 }).join()).toMatch(/latitude: must be a number from -90 to 90/);
  });
  it('unknown payload fields are refused with the allowed ones', () => {
    expect(issuesOf({ type: 'text', payload: { text: 'x', colour: 'red' } }).join()).toMatch(/payload\.colour: is not a known field of a text payload \(allowed: text,/);
  });
  it('base64 data in a template is refused (use the Media Gallery)', () => {
    expect(issuesOf({ type: 'image', payload: { file: { data: 'AAAA', mimetype: 'image/jpeg' } } }).join()).toMatch(/file\.data: is not a known field/);
  });
  it('every problem is reported at once', () => {
    expect(issuesOf({ type: 'poll', payload: { poll: { options: ['a'] } }, extra: 1 }).length).toBeGreaterThanOrEqual(3);
  });
  it('not an object', () => {
    expect(issuesOf('hello')[0]).toMatch(/must be a JSON object/);
  });
});

describe('samples', () => {
  const names = [
    'text_basic', 'text_link_preview', 'text_reply_or_mentions', 'image_url', 'image_media_gallery', 'voice_media_gallery', 'video_media_gallery',
    'file_media_gallery', 'poll', 'location', 'contact_vcard', 'message_buttons_experimental', 'image_buttons_experimental', 'buttons_experimental', 'list_experimental',
  ];
  it('all fifteen seed samples exist', () => {
    expect(listSamples().map((s) => s.name)).toEqual(names);
  });
  for (const name of names) {
    it(`${name} compiles and renders with no placeholder left`, () => {
      const c = compileTemplate(getSample(name).template, { mediaPlaceholder: true });
      const out = JSON.stringify(c.render(vars, target)) + JSON.stringify(c.renderFallback(vars, target) ?? {});
      expect(out).not.toContain('{{');
    });
  }
  it('an unknown sample suggests the closest', () => {
    expect(() => getSample('text_basc')).toThrow(/did you mean text_basic/);
  });
});

describe('content hash and variables', () => {
  it('is independent of key order', () => {
    expect(contentHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(contentHash({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
  it('--vars: unknown names are refused with a suggestion', () => {
    expect(() => parseTemplateVars({ frist_name: 'x' })).toThrow(/did you mean first_name/);
    expect(parseTemplateVars({ first_name: 'A', store_id: 12 })).toEqual({ first_name: 'A', store_id: '12' });
  });
});

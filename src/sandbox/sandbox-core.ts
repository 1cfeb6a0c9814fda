// The sandbox's state and behaviour, without HTTP: sessions and their statuses, the messages it
// "sent", faults, and the webhook lifecycle of each message (message.any, then acks
// SERVER → DEVICE → READ with jitter). The HTTP layer (start-sandbox.ts) only parses and answers.
import { setMaxListeners } from 'node:events';
import { ackPayload, type Engine, normalizeChatId, type SandboxMessage, waMessage } from './engine-shapes.js';
import { type Faults, NO_FAULTS } from './faults.js';
import { between, eventId, hex, type Random, seededRandom } from './seeded-random.js';
import { subscribed } from './validate-session-config.js';
import { abortableSleep, createWebhookSender, WAHA_VERSION, type WebhookAttempt, type WebhookEnvelope } from './webhook-sender.js';

/** The events of the webhook the sandbox starts with (--webhook-url): both message kinds, as many hand-made set-ups have. */
export const DEFAULT_WEBHOOK_EVENTS = ['message', 'message.any', 'message.ack', 'session.status'];

export interface SessionState {
  name: string;
  status: string;
  me: { id: string; pushName: string };
  statuses: Array<{ status: string; timestamp: number }>;
  /** Accepted sends since the faults were last set (for dropSessionAfter). */
  sendsSinceFaults: number;
  /** The session config (§2.4) as last written by PUT /api/sessions/{session}; its webhooks decide who gets which event. */
  config: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  apiKeyGiven: boolean;
  body: unknown;
  status?: number;
  at: string;
}

export interface SandboxCoreOptions {
  engine: Engine;
  sessions: string[];
  webhookUrl?: string;
  hmacKey?: string;
  /** Events of the starting webhook; default DEFAULT_WEBHOOK_EVENTS. */
  webhookEvents?: string[];
  faults: Partial<Faults>;
  ackDelayMs: [number, number];
  seed: number;
  webhookRetries: number;
  webhookRetryDelayMs: number;
}

export class SandboxCore {
  readonly engine: Engine;
  readonly sessions = new Map<string, SessionState>();
  readonly messages: SandboxMessage[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly webhookAttempts: WebhookAttempt[] = [];
  faults: Faults;
  private rng: Random;
  private readonly stop = new AbortController();
  private readonly pending = new Set<Promise<unknown>>();
  /** One sender per (url, hmac key): each configured webhook is an independent sender (§7.1). */
  private readonly senders = new Map<string, ReturnType<typeof createWebhookSender>>();
  private nextPhone = 0;

  constructor(private readonly o: SandboxCoreOptions) {
    this.engine = o.engine;
    this.rng = seededRandom(o.seed);
    this.faults = { ...NO_FAULTS, ...o.faults };
    // Every pending ack delay and webhook POST listens on this one signal.
    setMaxListeners(0, this.stop.signal);
    for (const name of o.sessions) this.addSession(name);
  }

  private senderFor(url: string, hmacKey: string | undefined): ReturnType<typeof createWebhookSender> {
    const key = `${url}\n${hmacKey ?? ''}`;
    let sender = this.senders.get(key);
    if (!sender) {
      sender = createWebhookSender({
        url,
        hmacKey,
        retries: this.o.webhookRetries,
        retryDelayMs: this.o.webhookRetryDelayMs,
        signal: this.stop.signal,
        onAttempt: (a) => this.webhookAttempts.push(a),
      });
      this.senders.set(key, sender);
    }
    return sender;
  }

  /** The config a session starts with: the --webhook-url webhook, if any. */
  private initialConfig(): Record<string, unknown> {
    if (!this.o.webhookUrl) return {};
    return { webhooks: [{ url: this.o.webhookUrl, events: [...(this.o.webhookEvents ?? DEFAULT_WEBHOOK_EVENTS)], hmac: this.o.hmacKey ? { key: this.o.hmacKey } : null, retries: null, customHeaders: null }] };
  }

  /** PUT /api/sessions/{session}: the config replaces the old one (already validated by the HTTP layer). */
  setSessionConfig(name: string, config: Record<string, unknown> | undefined): SessionState | undefined {
    const s = this.sessions.get(name);
    if (s && config !== undefined) s.config = structuredClone(config);
    return s;
  }

  random(): number {
    return this.rng();
  }

  chance(rate: number): boolean {
    return rate > 0 && this.rng() < rate;
  }

  addSession(name: string, status = 'WORKING'): SessionState {
    const s: SessionState = {
      name,
      status,
      me: { id: `24381000${String(++this.nextPhone).padStart(4, '0')}@c.us`, pushName: `Sandbox ${name}` },
      statuses: [{ status, timestamp: Date.now() }],
      sendsSinceFaults: 0,
      config: this.initialConfig(),
    };
    this.sessions.set(name, s);
    return s;
  }

  /** WAHA's SessionInfo (contract §2.2); `engine` only on the single GET, as WAHA does. */
  sessionInfo(s: SessionState, withEngine: boolean): Record<string, unknown> {
    return {
      name: s.name,
      status: s.status,
      config: structuredClone(s.config),
      me: s.status === 'WORKING' ? s.me : null,
      presence: s.status === 'WORKING' ? 'online' : null,
      timestamps: { activity: s.statuses.at(-1)?.timestamp ?? null },
      assignedWorker: 'sandbox',
      ...(withEngine ? { engine: { engine: this.engine } } : {}),
    };
  }

  setFaults(f: Partial<Faults>): Faults {
    this.faults = { ...this.faults, ...f };
    for (const s of this.sessions.values()) s.sendsSinceFaults = 0;
    return this.faults;
  }

  setSessionStatus(name: string, status: string): SessionState {
    let s = this.sessions.get(name);
    if (s && s.status === status) return s;
    if (s) {
      s.status = status;
      s.statuses = [...s.statuses, { status, timestamp: Date.now() }].slice(-3);
    } else {
      s = this.addSession(name, status);
    }
    if (status === 'WORKING') s.sendsSinceFaults = 0;
    this.track(this.emit(s, 'session.status', { name: s.name, status, statuses: s.statuses, data: null }));
    return s;
  }

  newRawId(): string {
    // Messages sent by WAHA engines usually have a 22-character raw id starting 3EB0 (contract §3).
    return `3EB0${hex(this.rng, 18)}`;
  }

  /** Records an accepted send; the webhook lifecycle is started by the caller (see startLifecycle). */
  recordSend(s: SessionState, endpoint: string, body: Record<string, unknown>, text: string): SandboxMessage {
    const chatId = normalizeChatId(String(body.chatId));
    // NOWEB and GOWS honour a pre-generated id (2026.4.3+); WEBJS ignores it.
    const rawId = typeof body.id === 'string' && body.id !== '' && this.engine !== 'WEBJS' ? body.id : this.newRawId();
    const group = /@(g\.us|broadcast)$/.test(chatId);
    const messageId = `true_${chatId}_${rawId}${group ? `_${s.me.id}` : ''}`;
    const now = Date.now();
    const m: SandboxMessage = {
      messageId, rawId, session: s.name, chatId, fromMe: true, endpoint, body, text,
      hasMedia: ['/api/sendImage', '/api/sendVoice', '/api/sendVideo', '/api/sendFile'].includes(endpoint),
      ack: 0, timestamp: Math.floor(now / 1000), at: new Date(now).toISOString(),
    };
    this.messages.push(m);
    s.sendsSinceFaults++;
    return m;
  }

  /** An inbound message from a contact (a reply, or an opt-out keyword such as STOP). */
  inject(session: string, from: string, text: string): SandboxMessage {
    const s = this.sessions.get(session);
    if (!s) throw new Error(`no session "${session}"`);
    const chatId = normalizeChatId(from);
    const rawId = hex(this.rng, 32); // ids from phones are often 32 hex characters
    const now = Date.now();
    const m: SandboxMessage = {
      messageId: `false_${chatId}_${rawId}`, rawId, session, chatId, fromMe: false, endpoint: null, body: { text }, text,
      hasMedia: false, ack: 1, timestamp: Math.floor(now / 1000), at: new Date(now).toISOString(),
    };
    this.messages.push(m);
    // An inbound is both a `message` and a `message.any` (§7.6), two events with two envelope ids.
    this.track(this.emit(s, 'message', waMessage(this.engine, s.me.id, m)));
    this.track(this.emit(s, 'message.any', waMessage(this.engine, s.me.id, m)));
    return m;
  }

  /** message.any, then SERVER → DEVICE → READ, each after a jittered delay; acks may be lost (fault). */
  startLifecycle(s: SessionState, m: SandboxMessage, options: { skipFirst: boolean }): void {
    const lose = this.chance(this.faults.lostAckRate);
    const run = async () => {
      if (!options.skipFirst) {
        await this.emit(s, 'message.any', waMessage(this.engine, s.me.id, { ...m, ack: 1 }));
        if (lose) return;
        await this.ack(s, m, 1);
      } else if (lose) return;
      for (const ack of [2, 3]) {
        await abortableSleep(between(this.rng, this.o.ackDelayMs), this.stop.signal);
        if (this.stop.signal.aborted) return;
        await this.ack(s, m, ack);
      }
    };
    this.track(run());
  }

  /** For acksBeforeResponse: message.any and SERVER, awaited before the HTTP answer. */
  async emitEarly(s: SessionState, m: SandboxMessage): Promise<void> {
    await this.emit(s, 'message.any', waMessage(this.engine, s.me.id, { ...m, ack: 1 }));
    await this.ack(s, m, 1);
  }

  private async ack(s: SessionState, m: SandboxMessage, ack: number): Promise<void> {
    m.ack = Math.max(m.ack, ack);
    await this.emit(s, 'message.ack', ackPayload(this.engine, s.me.id, m, ack));
  }

  /** Posts one event to every webhook of the session subscribed to it, all with the same envelope id (§7.1). */
  private async emit(s: SessionState, event: string, payload: Record<string, unknown>): Promise<void> {
    const hooks = (Array.isArray(s.config.webhooks) ? s.config.webhooks : []).filter(
      (w): w is Record<string, any> => w !== null && typeof w === 'object' && typeof w.url === 'string' && subscribed(w.events, event),
    );
    if (hooks.length === 0) return;
    const now = Date.now();
    const envelope: WebhookEnvelope = {
      id: eventId(this.rng, now),
      timestamp: now,
      event,
      session: s.name,
      me: s.status === 'WORKING' ? s.me : null,
      payload,
      engine: this.engine,
      environment: { version: WAHA_VERSION, engine: this.engine, tier: 'CORE', browser: null, platform: `${process.platform}/${process.arch}`, worker: { id: null } },
    };
    const duplicate = this.chance(this.faults.duplicateWebhookRate);
    await Promise.all(
      hooks.map(async (w) => {
        const sender = this.senderFor(w.url, typeof w.hmac?.key === 'string' && w.hmac.key !== '' ? w.hmac.key : undefined);
        await sender.deliver(envelope);
        // A duplicate is the same envelope (same id) delivered again (contract §7.10).
        if (duplicate) await sender.deliver(envelope);
      }),
    );
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  /** Resolves when every scheduled webhook and ack has been delivered (or given up). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  reset(): void {
    this.messages.length = 0;
    this.requests.length = 0;
    this.webhookAttempts.length = 0;
    this.faults = { ...NO_FAULTS, ...this.o.faults };
    this.rng = seededRandom(this.o.seed);
    for (const s of this.sessions.values()) {
      s.status = 'WORKING';
      s.statuses = [{ status: 'WORKING', timestamp: Date.now() }];
      s.sendsSinceFaults = 0;
      s.config = this.initialConfig();
    }
  }

  close(): void {
    this.stop.abort();
  }

  get closed(): AbortSignal {
    return this.stop.signal;
  }
}

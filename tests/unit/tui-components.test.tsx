// The TUI's panes are pure functions of data: fed fixed snapshots here and read back with
// ink-testing-library's lastFrame(). Every pane, its empty state, long names (cut, never
// wrapped), narrow terminals (40 columns), and the keys of the App against a fake source.
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ComponentStatus, SessionStatus, StatusSnapshot } from '../../src/core/status/index.js';
import type { RunningItem } from '../../src/core/worker/running-overview.js';
import type { WorkerEventRow } from '../../src/core/worker/list-worker-events.js';
import { App } from '../../src/tui/App.js';
import { campaignRows } from '../../src/tui/campaign-rows.js';
import { CampaignsPane } from '../../src/tui/CampaignsPane.js';
import { EventsPane } from '../../src/tui/EventsPane.js';
import { Footer } from '../../src/tui/Footer.js';
import { bar, cut, filterEvents } from '../../src/tui/format.js';
import { Header } from '../../src/tui/Header.js';
import { HelpPane } from '../../src/tui/HelpPane.js';
import { OverviewPane } from '../../src/tui/OverviewPane.js';
import { INITIAL_UI, Screen } from '../../src/tui/Screen.js';
import { SessionsPane } from '../../src/tui/SessionsPane.js';
import type { TuiData, TuiSource } from '../../src/tui/tui-source.js';

const AT = '2026-03-02T10:00:00.000Z';
const LONG = `Grande campagne de la saison des pluies pour tous les magasins de Kinshasa, Lubumbashi et Goma ${'x'.repeat(120)}`;

function frame(f: string | undefined): string[] {
  // eslint-disable-next-line no-control-regex
  return (f ?? '').replace(/\u001b\[[0-9;]*m/g, '').split('\n');
}

function expectWithin(lines: string[], width: number): void {
  for (const l of lines) expect(l.length, `line wider than ${width}: "${l}"`).toBeLessThanOrEqual(width);
}

function comp(p: Partial<ComponentStatus> & Pick<ComponentStatus, 'name' | 'kind' | 'state'>): ComponentStatus {
  return { ok: p.state === 'up' || p.state === 'info', latencyMs: null, detail: null, required: false, ...p };
}

function counts(over: Partial<RunningItem['counts']> = {}): RunningItem['counts'] {
  return { PENDING: 0, PAUSED: 0, SENDING: 0, SENT_API_ACCEPTED: 0, DELIVERED: 0, READ: 0, FAILED: 0, SKIPPED: 0, UNKNOWN: 0, ...over };
}

function running(over: Partial<RunningItem> = {}): RunningItem {
  return {
    kind: 'campaign', id: 3, campaignId: 3, name: 'Spring promo', status: 'RUNNING', session: 'default', pauseReason: null, autoPaused: false,
    counts: counts({ PENDING: 15, SENT_API_ACCEPTED: 10, DELIVERED: 5 }), total: 30, done: 15, progress: 0.5, unknown: 0,
    latest: { event: 'delay', reason: 'random delay after the last send; next send 10:01:10 UTC', at: AT, nextAttemptAt: '2026-03-02T10:01:10.000Z' },
    forecastFinishAt: '2026-03-02T14:30:00.000Z',
    ...over,
  };
}

function session(over: Partial<SessionStatus> = {}): SessionStatus {
  return {
    name: 'default', wahaStatus: 'WORKING', inWaha: true, me: '243810000000@c.us', engine: 'NOWEB', sentToday: 15, dailyLimit: 30, lastHour: 5, hourlyLimit: 25,
    sendsInBlock: 5, pauseAfterSends: 25, window: { open: true, start: '09:00', end: '17:30', days: 'Mon–Sat', timezone: 'UTC' },
    canSendNow: false, heldBy: 'delay', heldMessage: 'random delay after the last send; next send 10:01:10 UTC', nextAllowedSendAt: '2026-03-02T10:01:10.000Z',
    notWorkingReason: null, lastSendAt: '2026-03-02T09:59:00.000Z', inUse: true, ...over,
  };
}

function snapshot(over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    at: AT,
    timezone: 'UTC',
    ok: false,
    components: [
      comp({ name: 'database', kind: 'database', state: 'up', latencyMs: 2, required: true }),
      comp({ name: 'crm', kind: 'crm', state: 'not_configured', ok: false }),
      comp({ name: 'waha', kind: 'waha', state: 'down', ok: false, required: true, detail: 'connection refused' }),
      comp({ name: 'workers', kind: 'workers', state: 'up', detail: '1 live' }),
      comp({ name: 'webhook', kind: 'webhook', state: 'info', detail: 'last event received 2026-03-02T09:58:00.000Z' }),
    ],
    workers: [{ name: 'w1', host: 'box', pid: 10, version: '0.1.0', state: 'waiting', detail: null, startedAt: AT, lastSeenAt: AT, ageMs: 1000, stale: false, stopped: false }],
    lastWebhookAt: '2026-03-02T09:58:00.000Z',
    waha: { configured: true, baseUrl: 'http://waha:3000', reachable: false, error: 'connection refused' },
    sessions: [session()],
    running: [
      running(),
      running({ kind: 'test', id: 7, campaignId: 3, name: 'Spring promo (test 7 → QA)', status: 'PAUSED', pauseReason: 'paused by ops', counts: counts({ PENDING: 2, SENT_API_ACCEPTED: 1 }), total: 3, done: 1, progress: 1 / 3, latest: null }),
    ],
    ready: [{ kind: 'campaign', id: 5, campaignId: 5, name: 'Autumn', status: 'APPROVED', session: 'default', queueBuiltAt: AT, pending: 40 }],
    attention: [
      { kind: 'component_down', severity: 'error', title: 'waha is down', detail: 'connection refused', command: 'campaign health', campaignId: null, testRunId: null, session: null, worker: null, at: null },
      { kind: 'unknown_rows', severity: 'warning', title: 'campaign 3 "Spring promo": 2 UNKNOWN send(s)', detail: 'WAHA may or may not have sent them', command: 'campaign resolve 3 --resend|--skip', campaignId: 3, testRunId: null, session: null, worker: null, at: null },
    ],
    ...over,
  };
}

function event(id: number, over: Partial<WorkerEventRow> = {}): WorkerEventRow {
  return {
    id, at: new Date(Date.parse(AT) - (100 - id) * 1000).toISOString(), event: 'sent', worker: 'w1', session: 'default', campaignId: 3, testRunId: null, queueId: 100 + id,
    testRecipientId: null, status: 'SENT_API_ACCEPTED', reason: 'accepted by WAHA', nextAttemptAt: null, details: {}, ...over,
  };
}

const EVENTS = [event(1), event(2, { event: 'failed', status: 'FAILED', reason: 'WAHA refused: 422' }), event(3, { event: 'hourly_limit', queueId: null, reason: 'hourly limit reached' }), event(4)];

describe('OverviewPane', () => {
  it('shows each component with its state and the attention items with what to run', () => {
    const lines = frame(render(<OverviewPane snapshot={snapshot()} width={100} />).lastFrame());
    const text = lines.join('\n');
    expect(text).toContain('database up 2ms');
    expect(text).toContain('waha DOWN');
    expect(text).toContain('crm not set');
    expect(text).toContain('workers 1 live');
    expect(text).toContain('webhook 2m ago');
    expect(text).toContain('Attention (2)');
    expect(text).toContain('! waha is down -> campaign health | connection refused');
    expect(text).toContain('-> campaign resolve 3 --resend|--skip');
    expectWithin(lines, 100);
  });

  it('empty states: nothing to attend to; no snapshot yet', () => {
    expect(render(<OverviewPane snapshot={snapshot({ attention: [] })} width={80} />).lastFrame()).toContain('Nothing needs attention.');
    expect(render(<OverviewPane snapshot={null} width={80} />).lastFrame()).toContain('Waiting for the first status');
  });

  it('lists at most maxAttention items and says how many more', () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ ...snapshot().attention[0]!, title: `problem ${i}` }));
    const text = render(<OverviewPane snapshot={snapshot({ attention: many })} width={80} maxAttention={3} />).lastFrame()!;
    expect(text).toContain('problem 2');
    expect(text).not.toContain('problem 3');
    expect(text).toContain('+4 more');
  });

  it('wraps component chips onto more lines at 40 columns, never past the width', () => {
    const lines = frame(render(<OverviewPane snapshot={snapshot()} width={40} />).lastFrame());
    expectWithin(lines, 40);
    expect(lines.join('\n')).toContain('waha DOWN');
  });
});

describe('CampaignsPane', () => {
  const rows = campaignRows(snapshot());

  it('one line per running, paused and ready item with a progress bar; the selected one gets its reason', () => {
    const lines = frame(render(<CampaignsPane rows={rows} selected={0} width={100} timezone="UTC" now={AT} />).lastFrame());
    const text = lines.join('\n');
    expect(text).toContain('Campaigns (3)');
    const first = lines.find((l) => l.startsWith('> 3'))!;
    expect(first).toContain('Spring promo');
    expect(first).toContain('RUNNING');
    expect(first).toContain('default');
    expect(first).toContain('[######------]');
    expect(first).toContain('15/30');
    expect(first).toContain('50%');
    expect(lines.find((l) => l.startsWith('  t7'))).toContain('PAUSED');
    expect(lines.find((l) => l.startsWith('  5'))).toContain('APPROVED');
    expect(text).toContain('15 sent, 15 pending | next attempt 10:01:10 (in 70s) | finish ~14:30:00 | delay: random delay');
    expect(text).toContain('next attempt 10:01:10 (in 70s)');
    expect(text).toContain('finish ~14:30:00');
    expectWithin(lines, 100);
  });

  it('the selected paused test run shows its pause reason; the approved campaign how to start it', () => {
    expect(render(<CampaignsPane rows={rows} selected={1} width={100} timezone="UTC" now={AT} />).lastFrame()).toContain('paused by ops');
    expect(render(<CampaignsPane rows={rows} selected={2} width={100} timezone="UTC" now={AT} />).lastFrame()).toContain('40 queued; press s to start');
  });

  it('marks an auto-paused campaign', () => {
    const r = campaignRows(snapshot({ running: [running({ status: 'PAUSED', autoPaused: true, pauseReason: 'auto-paused: 6 of the last 10 sends failed' })], ready: [] }));
    const text = render(<CampaignsPane rows={r} selected={0} width={100} timezone="UTC" now={AT} />).lastFrame()!;
    expect(text).toContain('PAUSED(auto)');
    expect(text).toContain('auto-paused: 6 of the last 10 sends failed');
  });

  it('empty state', () => {
    expect(render(<CampaignsPane rows={[]} selected={0} width={100} timezone="UTC" now={AT} />).lastFrame()).toContain('Nothing running, paused or ready to start');
  });

  it('a very long name is cut with ... on one line, not wrapped', () => {
    const r = campaignRows(snapshot({ running: [running({ name: LONG })], ready: [] }));
    const lines = frame(render(<CampaignsPane rows={r} selected={0} width={100} timezone="UTC" now={AT} />).lastFrame());
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('Grande campagne');
    expect(lines[1]).toContain('...');
    expect(lines[1]).toContain('RUNNING');
    expect(lines[1]).toContain('50%');
    expectWithin(lines, 100);
  });

  it('scrolls to keep the selection in view when there are more rows than fit', () => {
    const many = campaignRows(snapshot({ running: Array.from({ length: 12 }, (_, i) => running({ id: i + 1, campaignId: i + 1, name: `Campaign number ${i + 1}` })), ready: [] }));
    const text = render(<CampaignsPane rows={many} selected={10} width={100} timezone="UTC" now={AT} maxRows={4} />).lastFrame()!;
    expect(text).toContain('> 11');
    expect(text).not.toContain('Campaign number 1 ');
    expect(text).toMatch(/Campaigns \(12\) \d+-\d+/);
  });
});

describe('SessionsPane', () => {
  it('bars against the daily and hourly limits, the window and why a send cannot start now', () => {
    const lines = frame(render(<SessionsPane sessions={[session()]} width={100} timezone="UTC" now={AT} />).lastFrame());
    const text = lines.join('\n');
    expect(text).toContain('Session pacing');
    expect(text).toContain(`day ${bar(15, 30, 14)} 15/30`);
    expect(text).toContain(`hour ${bar(5, 25, 14)} 5/25`);
    expect(bar(15, 30, 14)).toBe('[######------]');
    expect(text).toContain('window open');
    expect(text).toContain('held: random delay after the last send');
    expect(text).toContain('next send 10:01:10 (in 70s)');
    expectWithin(lines, 100);
  });

  it('a session that can send, a failed one, one missing from WAHA', () => {
    const text = render(
      <SessionsPane
        sessions={[
          session({ name: 'a', canSendNow: true, heldBy: null, heldMessage: null }),
          session({ name: 'b', wahaStatus: 'FAILED', canSendNow: false, heldBy: 'session_not_working', heldMessage: 'WAHA reports the session as FAILED', nextAllowedSendAt: null }),
          session({ name: 'c', wahaStatus: null, inWaha: false, canSendNow: false, heldBy: 'session_not_working', heldMessage: 'WAHA does not list this session', nextAllowedSendAt: null }),
        ]}
        width={100}
        timezone="UTC"
        now={AT}
        maxSessions={5}
      />,
    ).lastFrame()!;
    expect(text).toContain('can send now; last send 60s ago');
    expect(text).toContain('FAILED');
    expect(text).toContain('held: WAHA reports the session as FAILED');
    expect(text).toContain('not in WAHA');
  });

  it('a full day fills the bar; over the limit does not overflow it', () => {
    expect(bar(30, 30, 10)).toBe('[########]');
    expect(bar(40, 30, 10)).toBe('[########]');
    expect(bar(0, 0, 10)).toBe('[--------]');
  });

  it('empty state, and more sessions than fit', () => {
    expect(render(<SessionsPane sessions={[]} width={100} timezone="UTC" now={AT} />).lastFrame()).toContain('No WAHA session known yet');
    const text = render(<SessionsPane sessions={[session({ name: 'a' }), session({ name: 'b' }), session({ name: 'c' })]} width={100} timezone="UTC" now={AT} maxSessions={1} />).lastFrame()!;
    expect(text).toContain('+2 more session(s)');
  });
});

describe('EventsPane', () => {
  it('follows: oldest at the top, the newest at the bottom, as many as fit', () => {
    const lines = frame(render(<EventsPane events={EVENTS} filter="" editing={false} width={100} height={3} timezone="UTC" />).lastFrame());
    expect(lines[0]).toContain('Worker events, following');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('hourly_limit');
    expect(lines[2]).toContain('09:58:24 sent');
    expect(lines[2]).toContain('c3');
    expect(lines[2]).toContain('#104');
  });

  it('the filter narrows the stream and says how many match', () => {
    const text = render(<EventsPane events={EVENTS} filter="failed" editing={false} width={100} height={10} timezone="UTC" />).lastFrame()!;
    expect(text).toContain('filter "failed": 1 of 4');
    expect(text).toContain('WAHA refused: 422');
    expect(text).not.toContain('accepted by WAHA');
    expect(filterEvents(EVENTS, 'c3 hourly')).toHaveLength(1);
    expect(filterEvents(EVENTS, '  ')).toHaveLength(4);
  });

  it('empty states: no events yet; nothing matches the filter', () => {
    expect(render(<EventsPane events={[]} filter="" editing={false} width={100} height={5} timezone="UTC" />).lastFrame()).toContain('No worker event yet');
    expect(render(<EventsPane events={EVENTS} filter="nope" editing={false} width={100} height={5} timezone="UTC" />).lastFrame()).toContain('No event matches "nope" (Esc clears the filter)');
  });

  it('a long reason is cut at the width', () => {
    const lines = frame(render(<EventsPane events={[event(1, { reason: LONG })]} filter="" editing={false} width={60} height={5} timezone="UTC" />).lastFrame());
    expectWithin(lines, 60);
    expect(lines[1]).toMatch(/\.\.\.$/);
  });
});

describe('Header, Footer, HelpPane', () => {
  const data: TuiData = { snapshot: snapshot(), events: [], connected: true, error: null, updatedAt: AT };

  it('says CONNECTED with the time, or DISCONNECTED with why and that it retries', () => {
    expect(render(<Header data={data} width={100} />).lastFrame()).toContain('CONNECTED  updated 10:00:00 UTC');
    const down = render(<Header data={{ ...data, connected: false, error: 'The campaign database is not reachable (ECONNREFUSED)' }} width={100} />).lastFrame()!;
    expect(down).toContain('DISCONNECTED');
    expect(down).toContain('showing data from 10:00:00; retrying');
    expect(render(<Header data={{ ...data, snapshot: null, connected: false, error: 'boom', updatedAt: null }} width={100} />).lastFrame()).toContain('no data yet');
  });

  it('footer: a confirmation, the filter being typed, a result, or the key hints', () => {
    expect(render(<Footer width={100} confirm='Pause campaign 3 "Spring promo"' />).lastFrame()).toContain('Pause campaign 3 "Spring promo"? y to confirm');
    expect(render(<Footer width={100} editing filter="fail" />).lastFrame()).toContain('filter events: fail_');
    expect(render(<Footer width={100} message={{ text: 'Campaign 3 is now PAUSED', error: false }} />).lastFrame()).toContain('Campaign 3 is now PAUSED');
    expect(render(<Footer width={100} />).lastFrame()).toContain('? keys  q quit');
  });

  it('help lists every key', () => {
    const text = render(<HelpPane width={100} />).lastFrame()!;
    for (const k of ['s ', 'p ', 'r ', 'c ', '/ ', 'Esc', '?', 'q (or Ctrl-C)', 'up / down']) expect(text).toContain(k);
  });
});

describe('Screen', () => {
  const data: TuiData = { snapshot: snapshot(), events: EVENTS, connected: true, error: null, updatedAt: AT };

  it('every pane at 100x40, within the height', () => {
    const lines = frame(render(<Screen data={data} rows={campaignRows(data.snapshot)} ui={INITIAL_UI} columns={100} height={40} />).lastFrame());
    const text = lines.join('\n');
    for (const pane of ['Overview', 'Campaigns (3)', 'Session pacing', 'Worker events']) expect(text).toContain(pane);
    expect(lines.length).toBeLessThan(40);
    expectWithin(lines, 100);
  });

  it('a narrow terminal (40 columns): nothing wider than the terminal, long names cut, the essentials kept', () => {
    const snap = snapshot({ running: [running({ name: LONG })], sessions: [session({ name: `session-with-a-very-long-name-${'y'.repeat(50)}` })] });
    const lines = frame(render(<Screen data={{ ...data, snapshot: snap }} rows={campaignRows(snap)} ui={INITIAL_UI} columns={40} height={30} />).lastFrame());
    expectWithin(lines, 40);
    const text = lines.join('\n');
    expect(text).toContain('RUNNING');
    expect(text).toContain('50%');
    expect(text).toContain('day 15/30');
    expect(text).toContain('Grande');
    expect(lines.length).toBeLessThan(30);
  });

  it('the help replaces the panes', () => {
    const text = render(<Screen data={data} rows={campaignRows(data.snapshot)} ui={{ ...INITIAL_UI, help: true }} columns={100} height={30} />).lastFrame()!;
    expect(text).toContain('Keys');
    expect(text).not.toContain('Session pacing');
  });
});

describe('App keys (fake source)', () => {
  const tick = () => new Promise((r) => setTimeout(r, 30));
  let unmount: (() => void) | undefined;
  afterEach(() => unmount?.());

  function fakeSource(data: TuiData) {
    const listeners = new Set<(d: TuiData) => void>();
    const act = vi.fn(async (action: string, target: { id: number }) => `Campaign ${target.id} is now ${action === 'pause' ? 'PAUSED' : 'DONE'}`);
    const source: TuiSource = {
      get: () => data,
      subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
      refresh: () => {},
      act: act as TuiSource['act'],
      close: async () => {},
    };
    return { source, act, push: (d: TuiData) => listeners.forEach((l) => l(d)) };
  }

  const data: TuiData = { snapshot: snapshot(), events: EVENTS, connected: true, error: null, updatedAt: AT };

  it('p asks first; y pauses the selected campaign through the source and shows the result', async () => {
    const f = fakeSource(data);
    const app = render(<App source={f.source} />);
    unmount = app.unmount;
    await tick();
    app.stdin.write('p');
    await tick();
    expect(app.lastFrame()).toContain('Pause campaign 3 "Spring promo"? y to confirm');
    expect(f.act).not.toHaveBeenCalled();
    app.stdin.write('y');
    await tick();
    expect(f.act).toHaveBeenCalledWith('pause', expect.objectContaining({ kind: 'campaign', id: 3 }));
    expect(app.lastFrame()).toContain('Campaign 3 is now PAUSED');
  });

  it('any other key than y keeps things as they are; an action that does not apply says why', async () => {
    const f = fakeSource(data);
    const app = render(<App source={f.source} />);
    unmount = app.unmount;
    await tick();
    app.stdin.write('c');
    await tick();
    app.stdin.write('n');
    await tick();
    expect(f.act).not.toHaveBeenCalled();
    expect(app.lastFrame()).toContain('Nothing changed.');
    app.stdin.write('r');
    await tick();
    expect(app.lastFrame()).toContain('Cannot resume campaign 3 "Spring promo" while it is RUNNING');
  });

  it('arrow keys move the selection, and it follows its campaign across refreshes', async () => {
    const f = fakeSource(data);
    const app = render(<App source={f.source} />);
    unmount = app.unmount;
    await tick();
    app.stdin.write('\u001B[B');
    await tick();
    app.stdin.write('\u001B[B');
    await tick();
    expect(frame(app.lastFrame()).find((l) => l.startsWith('> '))).toContain('Autumn');
    // A new campaign appears before it: the selection stays on Autumn.
    f.push({ ...data, snapshot: snapshot({ running: [running({ id: 9, campaignId: 9, name: 'Newcomer' }), ...snapshot().running] }) });
    await tick();
    expect(frame(app.lastFrame()).find((l) => l.startsWith('> '))).toContain('Autumn');
    app.stdin.write('s');
    await tick();
    app.stdin.write('y');
    await tick();
    expect(f.act).toHaveBeenCalledWith('start', expect.objectContaining({ id: 5 }));
  });

  it('/ types a filter for the events, Enter keeps it, Esc clears it; ? toggles the help', async () => {
    const f = fakeSource(data);
    const app = render(<App source={f.source} />);
    unmount = app.unmount;
    await tick();
    app.stdin.write('/');
    await tick();
    for (const ch of 'failed') app.stdin.write(ch);
    await tick();
    app.stdin.write('\r');
    await tick();
    expect(app.lastFrame()).toContain('filter "failed": 1 of 4');
    app.stdin.write('\u001B');
    await tick();
    expect(app.lastFrame()).not.toContain('filter "failed"');
    app.stdin.write('?');
    await tick();
    expect(app.lastFrame()).toContain('-- Keys');
    app.stdin.write('?');
    await tick();
    expect(app.lastFrame()).toContain('Session pacing');
  });

  it('shows DISCONNECTED when the source loses the database, and recovers', async () => {
    const f = fakeSource(data);
    const app = render(<App source={f.source} />);
    unmount = app.unmount;
    await tick();
    f.push({ ...data, connected: false, error: 'The campaign database is not reachable (ECONNREFUSED)' });
    await tick();
    expect(app.lastFrame()).toContain('DISCONNECTED');
    expect(app.lastFrame()).toContain('Spring promo');
    f.push(data);
    await tick();
    expect(app.lastFrame()).not.toContain('DISCONNECTED');
  });
});

describe('format', () => {
  it('cut keeps short text and marks what it cut', () => {
    expect(cut('abc', 5)).toBe('abc');
    expect(cut('abcdefgh', 6)).toBe('abc...');
    expect(cut('a\nb', 5)).toBe('a b');
    expect(cut('abc', 0)).toBe('');
  });
});

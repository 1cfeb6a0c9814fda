// The dashboard in a real browser: headless Debian Chromium driven by playwright-core against the
// real server (buildServer over a fresh test database, listening on a free port). Each test reads
// the database afterwards, so a button that only looks right is not enough. Skipped (with the
// reason in its name) only when Chromium cannot be launched at all.
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { getSettings, updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestListMembers, createTestList } from '../../src/core/test-lists/test-list.service.js';
import { startTestRun } from '../../src/core/test-runs/index.js';
import { addTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { buildServer } from '../../src/server/build-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 't0ken';
const SHOTS = '/tmp';
/**
 * Resolves once the page has replaced its "Loading…" placeholder. A locator, not waitForFunction:
 * playwright evaluates those predicates with eval, which the dashboard's CSP rightly refuses.
 */
const loaded = (p: Page) => p.locator('main .view > p.muted:only-child').waitFor({ state: 'detached' });
/** Puts the token in the tab before the dashboard loads (not in about:blank, which has no storage). */
const TOKEN_INIT = `if (location.protocol.startsWith('http')) sessionStorage.setItem('campaign.dashboard.token', ${JSON.stringify(TOKEN)})`;

async function tryLaunch(): Promise<{ browser?: Browser; reason?: string }> {
  if (!existsSync(CHROMIUM)) return { reason: `${CHROMIUM} is missing (apt-get install chromium)` };
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      // playwright gives each launch a fresh temporary profile (user data dir).
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 30_000,
    });
    return { browser };
  } catch (e) {
    return { reason: `Chromium could not be launched: ${(e as Error).message.split('\n')[0]}` };
  }
}

const launched = await tryLaunch();
if (!launched.browser) console.warn(`dashboard browser tests skipped: ${launched.reason}`);

describe.skipIf(!launched.browser)(`dashboard in headless Chromium${launched.reason ? ` (skipped: ${launched.reason})` : ''}`, () => {
  const browser = launched.browser!;
  let t: TestDatabase;
  let ctx: Context;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let runningId: number;
  let otherId: number;
  let testRunId: number;
  let sandbox: Sandbox;
  let ops: { context: BrowserContext; page: Page } | undefined;
  const pageErrors: string[] = [];
  const opsErrors: string[] = [];
  /** Console errors and Content-Security-Policy violations of every page of every context. */
  const consoleErrors: string[] = [];
  /** What a test provokes on purpose: the server's 4xx answers (wrong token, invalid input, limits). */
  const EXPECTED_CONSOLE = [/^Failed to load resource: the server responded with a status of 4\d\d\b/];

  /** A browser context whose pages report console errors and CSP violations to consoleErrors. */
  async function newContext(options: Parameters<Browser['newContext']>[0], expected: RegExp[] = []): Promise<BrowserContext> {
    const c = await browser.newContext(options);
    // securitypolicyviolation is also reported as a console error by Chromium; this names it plainly.
    await c.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber))`);
    c.on('console', (m) => {
      if (m.type() !== 'error') return;
      const text = m.text();
      if ([...EXPECTED_CONSOLE, ...expected].some((re) => re.test(text))) return;
      consoleErrors.push(`${m.page()?.url() ?? '?'}: ${text}`);
    });
    c.on('weberror', (e) => consoleErrors.push(`uncaught: ${e.error().message}`));
    return c;
  }

  async function campaignStatus(id: number): Promise<{ status: string; pause_reason: string | null }> {
    return t.db.selectFrom('campaigns').select(['status', 'pause_reason']).where('id', '=', id).executeTakeFirstOrThrow();
  }

  async function confirm(reason?: string): Promise<void> {
    await page.locator('dialog#confirm[open]').waitFor();
    if (reason !== undefined) await page.fill('#confirm-reason', reason);
    await page.click('#confirm-ok');
    await expect.poll(() => page.locator('dialog#confirm[open]').count()).toBe(0);
  }

  async function goto(hash: string): Promise<void> {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await loaded(page);
  }

  beforeAll(async () => {
    t = await createTestDatabase();
    ctx = t.ctx({ clock: systemClock, actor: 'dashboard-test' });
    await updateSettings(ctx, {
      sending_window_start: '00:00', sending_window_end: '23:59', sending_days: [1, 2, 3, 4, 5, 6, 7], timezone: 'UTC',
    });
    await t.db
      .insertInto('contacts')
      .values(Array.from({ length: 20 }, (_, i) => {
        const chat = `2438${String(40_000_000 + i).slice(-8)}@c.us`;
        return {
          crm_id: `dash-${i}`, name: `Dash Person ${i}`, first_name: `Dash${i}`, phone_raw: `+${chat.split('@')[0]}`, chat_id: chat, phone_valid: true,
          city: 'Goma', source: 'store', store_id: 'GOM-1', brand: 'vaseline', registered_brands: ['vaseline'],
        };
      }))
      .execute();
    // A running campaign, 5 of its 20 rows already delivered.
    const running = await createCampaign(ctx, { name: 'Dash running', brand: 'vaseline', template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
    runningId = running.campaign.id;
    await approveCampaign(ctx, String(runningId));
    expect((await buildQueue(ctx, String(runningId))).queued).toBe(20);
    await startCampaign(ctx, String(runningId));
    const first = await t.db.selectFrom('send_queue').select('id').where('campaign_id', '=', runningId).orderBy('id').limit(5).execute();
    await t.db.updateTable('send_queue').set({ status: 'DELIVERED' }).where('id', 'in', first.map((r) => r.id)).execute();
    const other = await createCampaign(ctx, { name: 'Dash other', brand: 'vaseline', template: { mode: 'simple', type: 'text', text: 'Other {{first_name}}' } });
    otherId = other.campaign.id;
    // Worker events to filter: two kinds on the running campaign, one on the other.
    await t.db
      .insertInto('worker_events')
      .values([
        { event: 'sent', worker: 'w-dash', waha_session: 'default', campaign_id: runningId, status: 'SENT_API_ACCEPTED', reason: 'accepted by WAHA', details: JSON.stringify({}) },
        { event: 'delay', worker: 'w-dash', waha_session: 'default', campaign_id: runningId, reason: 'random delay 64 s after a send', next_attempt_at: new Date(Date.now() + 64_000), details: JSON.stringify({}) },
        { event: 'failed', worker: 'w-dash', waha_session: 'default', campaign_id: otherId, reason: 'other campaign failure', details: JSON.stringify({}) },
      ] as never)
      .execute();
    // A test run with two recipients, for the recipient log and the report download.
    const a = await addTestUser(ctx, { name: 'Tester A', phone: '+919876543210' });
    const b = await addTestUser(ctx, { name: 'Tester B', phone: '+919876543211' });
    await createTestList(ctx, { name: 'dash-testers' });
    await addTestListMembers(ctx, 'dash-testers', [String(a.testUser.id), String(b.testUser.id)]);
    testRunId = (await startTestRun(ctx, String(otherId), 'dash-testers')).testRun.id;

    // A WAHA stand-in in process, for the one-time preview (a real send through the real client).
    sandbox = await startSandbox({ port: 0, host: '127.0.0.1', seed: 7 });
    const config = loadConfig({ env: { DATABASE_URL: t.url, DASHBOARD_API_TOKEN: TOKEN, CAMPAIGN_HOME: '/tmp/campaign-dashboard-test-unused', WAHA_BASE_URL: sandbox.url }, cwd: '/' });
    // A short failure window: the rate-limit test blocks this browser's address, and the operator
    // tests after it need it lifted (a blocked client is refused on every authenticated route).
    app = await buildServer({ ctx, config, waha: createWahaClient({ baseUrl: sandbox.url }), authLimit: { max: 10, windowMs: 8000 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    context = await newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await ops?.context.close().catch(() => undefined);
    await context?.close().catch(() => undefined);
    await browser.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await sandbox?.close().catch(() => undefined);
    await t?.drop();
  });

  it('a wrong token shows an error and stays on the login page; the right one logs in', async () => {
    await page.goto(`${base}/`);
    await page.locator('#token').waitFor();
    expect(await page.locator('#top').isHidden()).toBe(true);
    await page.fill('#token', 'wrong-token');
    await page.click('form.login button[type=submit]');
    await expect.poll(() => page.locator('#login-error').innerText()).toMatch(/not right/i);
    expect(page.url()).toContain('#/login');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);

    await page.fill('#token', TOKEN);
    await page.click('form.login button[type=submit]');
    await page.waitForURL(/#\/overview/);
    await page.locator('h1', { hasText: 'Overview' }).waitFor();
    expect(await page.evaluate('Object.values(sessionStorage)')).toContain(TOKEN);
    // promise 8: the failed attempt is an auth.failed row (never the token), the success auth.login.
    const rows = await t.db.selectFrom('admin_activity').select(['action', 'actor']).where('action', 'in', ['auth.login', 'auth.failed']).orderBy('id').execute();
    expect(rows, 'login attempts are in the admin activity log').toEqual([{ action: 'auth.failed', actor: 'anonymous' }, { action: 'auth.login', actor: 'dashboard' }]);
  });

  it('the overview shows components, the running campaign and the last webhook', async () => {
    await goto('/overview');
    await page.locator('#components .card').first().waitFor();
    const text = await page.locator('main').innerText();
    expect(text).toMatch(/Components/);
    expect(text).toMatch(/Attention/);
    expect(text).toMatch(/Last webhook/i);
    expect(text).toContain('Dash running');
    expect(await page.locator('#components .card').count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: `${SHOTS}/dashboard-overview.png`, fullPage: true });
  });

  it('creates a campaign from a sample, validates and previews it, approves it and lists it', async () => {
    await goto('/campaigns/new');
    await page.locator('#sample').selectOption('text_basic');
    await page.click('#load-sample');
    await expect.poll(() => page.locator('#campaign-json').inputValue()).toContain('"template"');
    const doc = JSON.parse(await page.locator('#campaign-json').inputValue());
    expect(doc.template).toBeTruthy();
    await page.fill('#campaign-json', JSON.stringify({ ...doc, name: 'Dash created', brand: 'vaseline' }, null, 2));
    await page.getByRole('button', { name: 'Validate' }).click();
    await expect.poll(() => page.locator('#campaign-json-result').innerText()).toMatch(/valid/i);
    await page.getByRole('button', { name: 'Preview render' }).click();
    await page.locator('#render-payload').waitFor();
    expect(await page.locator('#render-payload').innerText()).toContain('chatId');

    // A broken file shows the rule and writes nothing.
    const before = await t.db.selectFrom('campaigns').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    await page.fill('#campaign-json', JSON.stringify({ name: 'Dash broken', template: doc.template }));
    await page.getByRole('button', { name: 'Create draft' }).click();
    await expect.poll(() => page.locator('#campaign-json-result').innerText()).toMatch(/brand/);
    const after = await t.db.selectFrom('campaigns').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));

    await page.fill('#campaign-json', JSON.stringify({ ...doc, name: 'Dash created', brand: 'vaseline' }, null, 2));
    await page.getByRole('button', { name: 'Create draft' }).click();
    await page.waitForURL(/#\/campaigns\/\d+$/);
    const id = Number(/campaigns\/(\d+)$/.exec(page.url())![1]);
    await page.locator('h1', { hasText: 'Dash created' }).waitFor();
    expect((await campaignStatus(id)).status).toBe('DRAFT');

    await page.locator('button[data-action=approve]').click();
    await confirm();
    await expect.poll(async () => (await campaignStatus(id)).status).toBe('APPROVED');
    await page.locator('h1 .badge', { hasText: 'APPROVED' }).waitFor();

    await goto('/campaigns');
    const row = page.locator('#campaign-list tr', { hasText: 'Dash created' });
    await row.waitFor();
    expect(await row.innerText()).toContain('APPROVED');
    expect(await page.locator('#campaign-list tr', { hasText: 'Dash running' }).innerText()).toMatch(/5\/20/);
  });

  it('settings: an invalid value shows the rule next to the field and changes nothing; a valid one saves', async () => {
    const before = await getSettings(t.db);
    await goto('/settings');
    await page.locator('#setting-hourly_limit').waitFor();
    await page.fill('#setting-hourly_limit', String(before.daily_limit + 50));
    await page.getByRole('button', { name: 'Save changes' }).click();
    const err = page.locator('#setting-hourly_limit-error');
    await err.waitFor();
    expect(await err.innerText()).toMatch(/must not exceed daily_limit/);
    expect(await page.locator('#setting-hourly_limit').getAttribute('aria-invalid')).toBe('true');
    expect((await getSettings(t.db)).hourly_limit).toBe(before.hourly_limit);

    await page.fill('#setting-hourly_limit', 'abc');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.locator('#setting-hourly_limit-error').innerText()).toMatch(/whole number/);
    expect((await getSettings(t.db)).hourly_limit).toBe(before.hourly_limit);

    const next = before.hourly_limit === 20 ? 21 : 20;
    await page.fill('#setting-hourly_limit', String(next));
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.locator('#settings-status').innerText()).toMatch(/Saved/);
    expect(await page.locator('#setting-hourly_limit-error').count()).toBe(0);
    expect((await getSettings(t.db)).hourly_limit).toBe(next);
  });

  it('Running shows real progress, follows it without reloading, and pauses the campaign', async () => {
    await goto('/running');
    const card = page.locator(`article.run-item[data-kind=campaign][data-id="${runningId}"]`);
    await card.waitFor();
    const bar = card.locator('[role=progressbar]');
    expect(await bar.getAttribute('aria-valuenow')).toBe('5');
    expect(await bar.getAttribute('aria-valuemax')).toBe('20');
    expect(await card.innerText()).toMatch(/random delay 64 s after a send/);
    expect(await card.innerText()).toMatch(/Next attempt/);
    await page.screenshot({ path: `${SHOTS}/dashboard-running.png`, fullPage: true });

    // The worker moves on: three more rows leave. The page follows (stream or 5 s polling).
    const reloads: string[] = [];
    page.on('framenavigated', (f) => f === page.mainFrame() && reloads.push(f.url()));
    const next = await t.db.selectFrom('send_queue').select('id').where('campaign_id', '=', runningId).where('status', '=', 'PENDING').orderBy('id').limit(3).execute();
    await t.db.updateTable('send_queue').set({ status: 'SENT_API_ACCEPTED' }).where('id', 'in', next.map((r) => r.id)).execute();
    await expect.poll(() => card.locator('[role=progressbar]').getAttribute('aria-valuenow'), { timeout: 15_000 }).toBe('8');
    // It came over the live stream (Server-Sent Events), not the 5 s polling fallback.
    expect(await page.locator('#live').getAttribute('class')).toContain('on');
    expect(reloads.filter((u) => !u.includes('#')), 'no page reload').toHaveLength(0);

    await card.locator('button[data-action=pause]').click();
    await confirm('dashboard e2e pause');
    await expect.poll(async () => campaignStatus(runningId)).toEqual({ status: 'PAUSED', pause_reason: 'dashboard e2e pause' });
    await expect.poll(() => page.locator(`article.run-item[data-id="${runningId}"] .badge`).first().innerText()).toBe('PAUSED');
    await page.locator(`article.run-item[data-id="${runningId}"] button[data-action=resume]`).waitFor();
  });

  it('without the live stream the Running page falls back to polling every 5 s', async () => {
    // The stream is cut on purpose here: its failed loads are expected.
    const noStream = await newContext({ viewport: { width: 1024, height: 768 } }, [/net::ERR_FAILED/, /EventSource/]);
    await noStream.route('**/api/events/stream**', (route) => route.abort());
    await noStream.addInitScript(TOKEN_INIT);
    const p = await noStream.newPage();
    try {
      await p.goto(`${base}/#/running`);
      const card = p.locator(`article.run-item[data-kind=test][data-id="${testRunId}"]`);
      await card.waitFor();
      expect(await card.locator('[role=progressbar]').getAttribute('aria-valuenow')).toBe('0');
      await expect.poll(() => p.locator('#live').getAttribute('class')).toContain('poll');
      const one = await t.db.selectFrom('campaign_test_run_recipients').select('id').where('test_run_id', '=', testRunId).orderBy('id').limit(1).execute();
      await t.db.updateTable('campaign_test_run_recipients').set({ status: 'SENT_API_ACCEPTED' }).where('id', 'in', one.map((r) => r.id)).execute();
      await expect.poll(() => card.locator('[role=progressbar]').getAttribute('aria-valuenow'), { timeout: 12_000 }).toBe('1');
    } finally {
      await noStream.close();
    }
  });

  it('worker logs filter by campaign and event', async () => {
    await goto('/logs');
    await page.locator('#log-table table').waitFor();
    const all = await page.locator('#log-table tbody tr').count();
    expect(all).toBeGreaterThanOrEqual(3);
    await page.locator('#l-campaign').selectOption(String(runningId));
    await page.locator('#l-event').selectOption('delay');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('#log-table tbody tr').count()).toBe(1);
    expect(await page.locator('#log-table tbody tr').innerText()).toMatch(/delay[\s\S]*random delay 64 s/);
    expect(page.url()).toMatch(/event=delay/);

    await page.locator('#l-campaign').selectOption(String(otherId));
    await page.locator('#l-event').selectOption('');
    await page.fill('#l-since', '1h');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('#log-table tbody').innerText()).toMatch(/other campaign failure/);
    expect(await page.locator('#log-table tbody').innerText()).not.toMatch(/random delay/);
  });

  it('Testing shows the recipient log and downloads the CSV report with the token', async () => {
    await goto(`/testing/${testRunId}`);
    await page.locator('h1', { hasText: `Test run #${testRunId}` }).waitFor();
    const log = await page.locator('main').innerText();
    expect(log).toContain('Tester A');
    expect(log).toContain('Tester B');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV report' }).click()]);
    const path = await download.path();
    const csv = readFileSync(path!, 'utf8');
    expect(csv.split('\n')[0]).toMatch(/,/);
    expect(csv).toMatch(/919876543210/);
  });

  it('contacts show the summary and search', async () => {
    await goto('/contacts');
    await page.locator('#contact-summary .stat').first().waitFor();
    expect(await page.locator('#contact-summary .card', { hasText: 'Contacts' }).first().innerText()).toMatch(/20/);
    await page.fill('#c-search', 'Dash Person 7');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#contact-list tbody tr').count()).toBe(1);
    expect(await page.locator('#contact-list tbody').innerText()).toContain('Dash Person 7');
  });

  it('admin activity lists what the dashboard did, filterable by action', async () => {
    await goto('/activity');
    await page.locator('#activity-table table').waitFor();
    expect(await page.locator('#activity-table').innerText()).toContain('campaign.pause');
    await page.fill('#a-action', 'settings.update');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(async () => (await page.locator('#activity-table tbody tr code').allInnerTexts()).every((a) => a === 'settings.update')).toBe(true);
    expect(await page.locator('#activity-table tbody tr').count()).toBeGreaterThanOrEqual(1);
  });

  it('the docs page renders the README headings', async () => {
    await goto('/docs');
    await page.locator('#doc h1').waitFor();
    const headings = await page.locator('#doc h2').allInnerTexts();
    expect(headings).toEqual(expect.arrayContaining(['Operator flow', 'Settings guide', 'Developer notes']));
    expect(await page.locator('#doc pre code').count()).toBeGreaterThan(0);
    expect(await page.locator('#doc table').count()).toBeGreaterThan(0);
    // README text is escaped, never run.
    expect(await page.locator('#doc script').count()).toBe(0);
  });

  it('at 375 px wide no page scrolls sideways (only tables may)', async () => {
    const phone = await newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    await phone.addInitScript(TOKEN_INIT);
    const p = await phone.newPage();
    try {
      for (const route of ['overview', 'campaigns', 'campaigns/new', 'running', 'testing', 'logs', 'contacts', 'settings', 'activity', 'docs']) {
        await p.goto(`${base}/#/${route}`);
        await loaded(p);
        await p.waitForTimeout(150);
        const width = Number(await p.evaluate('document.documentElement.scrollWidth'));
        expect(width, `#/${route} is ${width}px wide`).toBeLessThanOrEqual(375);
        expect(await p.locator('main h1').count(), `#/${route} has a heading`).toBeGreaterThan(0);
        if (route === 'overview' || route === 'running') await p.screenshot({ path: `${SHOTS}/dashboard-375-${route}.png`, fullPage: true });
      }
    } finally {
      await phone.close();
    }
  });

  it('logging out forgets the token and guards every page', async () => {
    await goto('/overview');
    await page.click('#logout');
    await page.waitForURL(/#\/login/);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.goto(`${base}/#/campaigns`);
    await page.waitForURL(/#\/login/);
    await page.locator('#token').waitFor();
    expect(pageErrors, 'no uncaught page errors').toEqual([]);
    // Activity written through the dashboard is attributed and visible in the log.
    const actions = (await sql<{ action: string }>`select action from admin_activity order by id`.execute(t.db)).rows.map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['campaign.create', 'campaign.approve', 'campaign.pause', 'settings.update']));
  });

  it('repeated wrong tokens are rate limited and the page says so', async () => {
    await page.goto(`${base}/#/login`);
    await page.locator('#token').waitFor();
    let text = '';
    for (let i = 0; i < 30 && !/too many/i.test(text); i++) {
      await page.fill('#token', `wrong-${i}`);
      await page.click('form.login button[type=submit]');
      await expect.poll(() => page.locator('#login-error').innerText()).not.toBe('');
      text = await page.locator('#login-error').innerText();
      if (!/too many/i.test(text)) await page.evaluate(`document.getElementById('login-error').replaceChildren()`);
    }
    expect(text).toMatch(/too many/i);
    expect(page.url()).toContain('#/login');
    // promise 8: blocked means blocked, the right token included, until the window has passed.
    const overview = () => fetch(`${base}/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status);
    expect(await overview()).toBe(429);
    await expect.poll(overview, { timeout: 20_000, interval: 500 }).toBe(200);
  });
  // ---------------------------------------------------------------------------------------------
  // Operator actions. The tests above end logged out (and rate limited at the login form), so
  // these use their own browser tab with the token already in sessionStorage.

  async function opsPage(): Promise<Page> {
    if (!ops) {
      const c = await newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
      await c.addInitScript(TOKEN_INIT);
      const p = await c.newPage();
      p.on('pageerror', (e) => opsErrors.push(e.message));
      await p.goto(`${base}/#/overview`);
      await loaded(p);
      ops = { context: c, page: p };
    }
    return ops.page;
  }

  async function opsGoto(hash: string): Promise<Page> {
    const p = await opsPage();
    await p.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await loaded(p);
    return p;
  }

  async function opsConfirm(p: Page, reason?: string): Promise<string> {
    await p.locator('dialog#confirm[open]').waitFor();
    const text = await p.locator('#confirm-text').innerText();
    if (reason !== undefined) await p.fill('#confirm-reason', reason);
    await p.click('#confirm-ok');
    await expect.poll(() => p.locator('dialog#confirm[open]').count()).toBe(0);
    return text;
  }

  const countOf = async (table: 'test_users' | 'test_lists' | 'media_assets'): Promise<number> =>
    Number((await t.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('Testing: a phone without a country code shows the server message and writes nothing; a good one is added', async () => {
    const p = await opsGoto('/testing');
    await p.locator('#tu-name').waitFor();
    const before = await countOf('test_users');
    await p.fill('#tu-name', 'Tester C');
    await p.fill('#tu-phone', '9876543212');
    await p.fill('#tu-notes', 'dashboard e2e');
    await p.getByRole('button', { name: 'Add test user' }).click();
    const err = p.locator('#tu-phone-error');
    await expect.poll(() => err.isVisible()).toBe(true);
    expect(await err.innerText()).toMatch(/no country code[\s\S]*\+919876543210/);
    expect(await p.locator('#tu-phone').getAttribute('aria-invalid')).toBe('true');
    expect(await p.locator('#tu-status').innerText()).toMatch(/nothing was saved/i);
    expect(await countOf('test_users')).toBe(before);
    await p.locator('#test-user-form').screenshot({ path: `${SHOTS}/dashboard-test-user-error.png` });

    await p.fill('#tu-phone', '+919876543212');
    await p.getByRole('button', { name: 'Add test user' }).click();
    await expect.poll(() => p.locator('#tu-status').innerText()).toMatch(/Added test user #\d+ "Tester C"/);
    await p.locator('table[aria-label], table').filter({ hasText: 'Tester C' }).first().waitFor();
    expect(await p.locator('#tu-phone-error').isHidden()).toBe(true);
    const row = await t.db.selectFrom('test_users').selectAll().where('name', '=', 'Tester C').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ chat_id: '919876543212@c.us', active: true, notes: 'dashboard e2e' });
    expect(await countOf('test_users')).toBe(before + 1);

    // Deactivate and activate again, each confirmed.
    await p.locator(`button[data-action=deactivate][data-user="${row.id}"]`).click();
    expect(await opsConfirm(p)).toMatch(/Tester C/);
    await expect.poll(async () => (await t.db.selectFrom('test_users').select('active').where('id', '=', row.id).executeTakeFirstOrThrow()).active).toBe(false);
    await p.locator(`button[data-action=activate][data-user="${row.id}"]`).click();
    await opsConfirm(p);
    await expect.poll(async () => (await t.db.selectFrom('test_users').select('active').where('id', '=', row.id).executeTakeFirstOrThrow()).active).toBe(true);
    await p.screenshot({ path: `${SHOTS}/dashboard-testing-people.png`, fullPage: true });
  });

  it('Testing: creates a test list and adds the new user to it', async () => {
    const p = await opsGoto('/testing');
    await p.locator('#tl-name').waitFor();
    const before = await countOf('test_lists');
    // An empty name: the server's rule next to the field, nothing written.
    await p.getByRole('button', { name: 'Create test list' }).click();
    await expect.poll(() => p.locator('#tl-name-error').isVisible()).toBe(true);
    expect(await countOf('test_lists')).toBe(before);

    await p.fill('#tl-name', 'dash-new-list');
    await p.fill('#tl-description', 'made in the browser');
    await p.getByRole('button', { name: 'Create test list' }).click();
    await expect.poll(() => p.locator('#tl-status').innerText()).toMatch(/Created test list #\d+ "dash-new-list"/);
    const list = await t.db.selectFrom('test_lists').selectAll().where('name', '=', 'dash-new-list').executeTakeFirstOrThrow();
    const user = await t.db.selectFrom('test_users').select('id').where('name', '=', 'Tester C').executeTakeFirstOrThrow();

    await p.locator('#tm-list').selectOption(String(list.id));
    await p.locator(`input[name=tm-user][value="${user.id}"]`).check();
    await p.getByRole('button', { name: 'Add to list' }).click();
    expect(await opsConfirm(p)).toMatch(/Tester C[\s\S]*dash-new-list/);
    await expect.poll(() => p.locator('#tm-status').innerText()).toMatch(/Added to "dash-new-list": Tester C/);
    const members = await t.db.selectFrom('test_list_members').select('test_user_id').where('test_list_id', '=', list.id).execute();
    expect(members.map((m) => Number(m.test_user_id))).toEqual([Number(user.id)]);
    // The users table shows the membership.
    expect(await p.locator('tr', { hasText: 'Tester C' }).first().innerText()).toContain('dash-new-list');
  });

  it('Contacts: suppress needs a reason and records it; opt-out is confirmed too', async () => {
    const p = await opsGoto('/contacts');
    await p.fill('#c-search', 'Dash Person 3');
    await p.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => p.locator('#contact-list tbody tr').count()).toBe(1);
    const row = p.locator('#contact-list tbody tr').first();
    await row.locator('button[data-action=suppress]').click();
    await p.locator('dialog#confirm[open]').waitFor();
    // No reason: the dialog stays open and says why.
    await p.click('#confirm-ok');
    await expect.poll(() => p.locator('#confirm-reason-error').innerText()).toMatch(/reason is required/i);
    expect(await p.locator('dialog#confirm[open]').count()).toBe(1);
    await p.fill('#confirm-reason', 'asked by phone not to be contacted');
    await p.click('#confirm-ok');
    await expect.poll(() => p.locator('dialog#confirm[open]').count()).toBe(0);
    await expect.poll(() => p.locator('#contact-status').innerText()).toMatch(/suppressed/);
    const c = await t.db.selectFrom('contacts').select(['suppressed', 'suppressed_reason', 'opted_out']).where('crm_id', '=', 'dash-3').executeTakeFirstOrThrow();
    expect(c).toMatchObject({ suppressed: true, suppressed_reason: 'asked by phone not to be contacted', opted_out: false });
    await expect.poll(() => p.locator('#contact-list tbody tr').first().innerText()).toMatch(/suppressed/);
    await p.locator('#contact-list tbody tr button[data-action=unsuppress]').waitFor();

    await p.locator('#contact-list tbody tr button[data-action=opt-out]').click();
    await opsConfirm(p);
    await expect.poll(async () => (await t.db.selectFrom('contacts').select('opted_out').where('crm_id', '=', 'dash-3').executeTakeFirstOrThrow()).opted_out).toBe(true);
    const audit = (await sql<{ action: string }>`select action from admin_activity where action like 'contact.%' order by id`.execute(t.db)).rows.map((r) => r.action);
    expect(audit).toEqual(['contact.suppress', 'contact.opt_out']);
  });

  it('Media: uploads a small JPEG, refuses to delete one a campaign uses (naming it), deletes an unused one', async () => {
    const p = await opsGoto('/media');
    await p.locator('#m-file').waitFor();
    expect(await p.locator('#media-list').innerText()).toMatch(/empty/i);
    // Nothing chosen: said next to the field, nothing sent.
    await p.getByRole('button', { name: 'Upload' }).click();
    await expect.poll(() => p.locator('#m-file-error').innerText()).toMatch(/Choose a file/);

    const jpeg = (tail: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, tail, 0xff, 0xd9]);
    const upload = async (file: string, name: string, tail: number) => {
      await p.setInputFiles('#m-file', { name: file, mimeType: 'image/jpeg', buffer: jpeg(tail) });
      await p.fill('#m-name', name);
      await p.getByRole('button', { name: 'Upload' }).click();
      await expect.poll(() => p.locator('#m-upload-status').innerText()).toMatch(new RegExp(`Uploaded #\\d+ "${name}": JPEG image`));
      return t.db.selectFrom('media_assets').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    };
    const used = await upload('used.jpg', 'dash-used', 1);
    const spare = await upload('spare.jpg', 'dash-spare', 2);
    expect(used).toMatchObject({ kind: 'image', mimetype: 'image/jpeg' });
    await expect.poll(() => p.locator('#media-list tbody tr').count()).toBe(2);
    await p.screenshot({ path: `${SHOTS}/dashboard-media.png`, fullPage: true });

    const campaign = await createCampaign(ctx, { name: 'Dash image', brand: 'vaseline', mediaAssetId: Number(used.id), template: { mode: 'advanced', type: 'image', payload: { caption: 'Hi {{first_name}}' } } });
    await p.locator(`button[data-action=delete-media][data-id="${used.id}"]`).click();
    await opsConfirm(p);
    await expect.poll(() => p.locator('#media-status').innerText()).toMatch(/used by/i);
    expect(await p.locator('#media-status').innerText()).toContain(`${campaign.campaign.id} · Dash image`);
    expect(await p.locator(`#media-status a[href="#/campaigns/${campaign.campaign.id}"]`).count()).toBe(1);
    expect(await p.locator('#media-status .code').innerText()).toBe('IN_USE');
    expect(await countOf('media_assets')).toBe(2);

    await p.locator(`button[data-action=delete-media][data-id="${spare.id}"]`).click();
    await opsConfirm(p);
    await expect.poll(() => p.locator('#media-status').innerText()).toMatch(/Deleted media asset/);
    await expect.poll(() => p.locator('#media-list tbody tr').count()).toBe(1);
    expect((await t.db.selectFrom('media_assets').select('name').execute()).map((r) => r.name)).toEqual(['dash-used']);
  });

  it('campaign detail: a one-time preview is confirmed as a real send, reaches WAHA and shows the message id; a limit refusal is shown', async () => {
    const p = await opsGoto(`/campaigns/${otherId}`);
    await p.locator('#pv-user').waitFor();
    const tester = await t.db.selectFrom('test_users').select(['id', 'chat_id']).where('name', '=', 'Tester A').executeTakeFirstOrThrow();
    await p.locator('#pv-user').selectOption(String(tester.id));
    await p.getByRole('button', { name: 'Send one-time preview' }).click();
    const text = await opsConfirm(p);
    expect(text).toMatch(/real WhatsApp message/);
    expect(text).toMatch(/counts toward that session's daily and hourly limits/);
    await expect.poll(() => p.locator('#pv-result').innerText(), { timeout: 15_000 }).toMatch(/Message id/);
    const shown = await p.locator('#pv-message-id').innerText();
    expect(await p.locator('#pv-result').innerText()).toMatch(/Fallback used\s*no/);
    await p.locator('section[aria-labelledby=preview-title]').screenshot({ path: `${SHOTS}/dashboard-preview-sent.png` });
    const messages = (await (await fetch(`${sandbox.url}/_sandbox/messages`)).json()) as Array<{ chatId: string; messageId: string; rawId: string; body: Record<string, unknown> }>;
    expect(messages).toHaveLength(1);
    expect(messages[0]!.chatId).toBe(tester.chat_id);
    expect(JSON.stringify(messages[0]!.body)).toContain('Other Tester');
    expect([messages[0]!.messageId, messages[0]!.rawId]).toContain(shown);

    // At the daily limit the server refuses; its message is shown and nothing more is sent.
    const before = await getSettings(t.db);
    await updateSettings(ctx, { daily_limit: 1, hourly_limit: 1 });
    try {
      await p.getByRole('button', { name: 'Send one-time preview' }).click();
      await opsConfirm(p);
      await expect.poll(() => p.locator('#pv-result').innerText()).toMatch(/daily limit[\s\S]*Nothing was sent[\s\S]*LIMIT_REACHED/);
      expect(((await (await fetch(`${sandbox.url}/_sandbox/messages`)).json()) as unknown[]).length).toBe(1);
      await p.screenshot({ path: `${SHOTS}/dashboard-preview-limit.png`, fullPage: true });
    } finally {
      await updateSettings(ctx, { daily_limit: before.daily_limit, hourly_limit: before.hourly_limit });
    }
  });

  it('Overview: a notification can be marked read', async () => {
    const n = await t.db
      .insertInto('notifications')
      .values({ level: 'warning', kind: 'test', title: 'Dash notice', body: 'something to read' } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    const p = await opsGoto('/overview');
    const item = p.locator(`#notifications li[data-id="${n.id}"]`);
    await item.waitFor();
    expect(await item.innerText()).toMatch(/Dash notice: something to read/);
    await item.locator('button[data-action=mark-read]').click();
    await expect.poll(async () => (await t.db.selectFrom('notifications').select('read_at').where('id', '=', n.id).executeTakeFirstOrThrow()).read_at).not.toBeNull();
    await expect.poll(() => p.locator(`#notifications li[data-id="${n.id}"]`).innerText()).toMatch(/read \d{4}-/);
    expect(await p.locator(`#notifications li[data-id="${n.id}"] button[data-action=mark-read]`).count()).toBe(0);
  });

  it('at 375 px the new operator pages do not scroll sideways either', async () => {
    const phone = await newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    await phone.addInitScript(TOKEN_INIT);
    const p = await phone.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    try {
      for (const route of ['media', 'testing', 'contacts', `campaigns/${otherId}`, 'overview']) {
        await p.goto(`${base}/#/${route}`);
        await loaded(p);
        await p.waitForTimeout(150);
        const width = Number(await p.evaluate('document.documentElement.scrollWidth'));
        expect(width, `#/${route} is ${width}px wide`).toBeLessThanOrEqual(375);
        if (route === 'media' || route === 'testing') await p.screenshot({ path: `${SHOTS}/dashboard-375-${route}.png`, fullPage: true });
      }
      // The confirmation with a required reason fits too.
      await p.goto(`${base}/#/contacts`);
      await p.locator('#contact-list button[data-action]').first().click();
      await p.locator('dialog#confirm[open]').waitFor();
      expect(Number(await p.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(375);
      await p.screenshot({ path: `${SHOTS}/dashboard-375-confirm.png` });
      await p.click('#confirm-cancel');
      expect(errors).toEqual([]);
    } finally {
      await phone.close();
    }
    expect(opsErrors, 'no uncaught page errors').toEqual([]);
  });

  it('no page of this file logged a console error or a Content-Security-Policy violation', async () => {
    const r = await fetch(`${base}/`);
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(consoleErrors).toEqual([]);
  });
});

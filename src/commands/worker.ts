// `campaign worker [--once] [--name <name>]`: the sending loop. Run as many as you like, on any
// machines sharing the database: the claim transaction, not this process, keeps the promises.
// First SIGTERM/SIGINT: the send in flight finishes and is recorded, then exit 0. A second one
// exits at once (the row is left SENDING and becomes UNKNOWN for reconciliation, never re-sent).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { requireConfig } from '../core/config.js';
import { CampaignError } from '../core/errors.js';
import { intArg, type CliKit } from './kit.js';

export function register(program: Command, k: CliKit): void {
  program
    .command('worker')
    .description('Send queued messages through WAHA under the pacing rules (any number, anywhere)')
    .option('--once', 'stop when nothing more can be sent right now (for CI and scripts)')
    .option('--name <name>', 'worker name in heartbeats and logs (default <host>-<pid>)')
    .option('--timeout-ms <ms>', 'WAHA request timeout; a send with no answer in time becomes UNKNOWN', '30000')
    .option('--heartbeat-ms <ms>', 'how often the worker records that it is alive', '5000')
    .action(
      k.action(async (run) => {
        const name = (run.opts.name as string | undefined)?.trim() || `${hostname()}-${process.pid}`;
        if (!/^[\w.@:-]{1,80}$/.test(name)) throw new CampaignError('USAGE', `--name must be 1–80 letters, digits or . _ - @ :; got "${name}"`, {});
        const timeoutMs = intArg(run.opts.timeoutMs, '--timeout-ms', { min: 100, max: 600_000 })!;
        const heartbeatMs = intArg(run.opts.heartbeatMs, '--heartbeat-ms', { min: 100, max: 600_000 })!;
        const cfg = requireConfig(run.config(), ['wahaBaseUrl'], 'worker');
        const ctx = await run.ctx({ poolSize: 4 });
        const [{ createWahaClient }, { createMediaResolver }, { runWorker }, { listen }, { WORK_CHANNEL }, { VERSION }] = await Promise.all([
          import('../core/waha/index.js'),
          import('../core/media/create-media-resolver.js'),
          import('../core/worker/run-worker.js'),
          import('../core/db/listen.js'),
          import('../core/campaigns/campaign-control.js'),
          import('../version.js'),
        ]);
        const waha = createWahaClient({ baseUrl: cfg.wahaBaseUrl, apiKey: run.config().wahaApiKey, timeoutMs });
        const url = run.database()!.url;

        const stop = new AbortController();
        let signals = 0;
        const onSignal = (sig: NodeJS.Signals) => {
          signals++;
          if (signals === 1) {
            run.note(`${sig}: finishing the send in flight, then stopping (send ${sig} again to stop at once)`);
            stop.abort();
          } else {
            run.note(`${sig} again: stopping now`);
            process.exit(sig === 'SIGINT' ? 130 : 143);
          }
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        run.onClose(() => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        });

        run.note(`worker ${name}: sending through ${cfg.wahaBaseUrl}${run.opts.once ? ' (once)' : ''}; Ctrl-C to stop`);
        const summary = await runWorker(
          ctx,
          {
            waha,
            resolveMedia: createMediaResolver(ctx),
            subscribe: async (wake) => {
              const l = await listen(url, WORK_CHANNEL, wake);
              return () => l.close();
            },
          },
          {
            name,
            version: VERSION,
            once: Boolean(run.opts.once),
            stop: stop.signal,
            heartbeatMs,
            // A SENDING row older than the request timeout (with margin) belongs to a dead worker.
            staleAfterMs: Math.max(timeoutMs * 2, 10_000),
            onProgress: (line) => (run.json ? run.emit({ at: new Date().toISOString(), worker: name, line }) : run.note(line)),
          },
        );
        const result = { worker: name, stopped: stop.signal.aborted ? 'signal' : 'nothing more to send now', ...summary };
        // Under --json the progress lines were NDJSON; the summary is the last line of the stream.
        if (run.printed) run.emit({ summary: result });
        return result;
      }, (s) => `worker ${s.worker} stopped (${s.stopped}): ${s.sent} sent, ${s.failed} failed, ${s.retried} to retry, ${s.unknown} unknown, ${s.reconciled} reconciled`),
    );
}

// LISTEN on the work channel for the TUI: a latency hint only (the screen polls every second
// anyway). Its own small loop rather than core/db/listen.ts, because that one can leave a
// connection open when it is closed while reconnecting, which keeps the process from exiting
// after `q`. Reconnects every 2 s while the database is away; wakes once after reconnecting so
// whatever changed meanwhile shows at once.
import pg from 'pg';

export async function wakeOnNotify(url: string, channel: string, wake: () => void): Promise<() => Promise<void>> {
  let closed = false;
  let current: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: 'campaign-tui-listen', connectionTimeoutMillis: 5000 });
    current = c;
    let gone = false;
    const retry = () => {
      if (gone) return;
      gone = true;
      if (current === c) current = undefined;
      c.end().catch(() => {});
      if (!closed) {
        timer = setTimeout(() => void connect(), 2000);
        timer.unref();
      }
    };
    c.on('error', retry);
    c.on('end', retry);
    c.on('notification', (n) => {
      if (n.channel === channel) wake();
    });
    try {
      await c.connect();
      await c.query(`listen ${pg.escapeIdentifier(channel)}`);
      if (closed) await c.end().catch(() => {});
      else wake();
    } catch {
      retry();
    }
  };

  await connect();
  return async () => {
    closed = true;
    clearTimeout(timer);
    await current?.end().catch(() => {});
  };
}

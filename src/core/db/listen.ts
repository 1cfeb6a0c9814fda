// LISTEN on a channel with a dedicated connection. A latency hint only: whoever listens must be
// correct without it (a lost notification costs at most a poll interval).
import pg from 'pg';

export interface Listener {
  close(): Promise<void>;
}

export async function listen(url: string, channel: string, onNotify: (payload: string) => void, onError?: (e: Error) => void): Promise<Listener> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: 'campaign-listen' });
    c.on('notification', (n) => {
      if (n.channel === channel) onNotify(n.payload ?? '');
    });
    c.on('error', (e) => {
      onError?.(e);
      reconnect();
    });
    c.on('end', () => reconnect());
    await c.connect();
    if (closed) {
      // close() ran while this connection was being made: nobody would ever end it.
      await c.end().catch(() => {});
      return;
    }
    await c.query(`listen ${pg.escapeIdentifier(channel)}`);
    client = c;
  };
  const reconnect = () => {
    if (closed || retry) return;
    client = undefined;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch(() => reconnect());
    }, 2000);
    retry.unref();
  };
  try {
    await connect();
  } catch (e) {
    onError?.(e as Error);
    reconnect();
  }
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}

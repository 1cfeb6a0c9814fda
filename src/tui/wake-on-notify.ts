// LISTEN on the work channel for the TUI: a latency hint only (the screen polls every second
// anyway). core/db/listen.ts does the connecting, reconnecting and closing; this only adapts it
// to the TUI's subscribe shape.
import { listen } from '../core/db/listen.js';

export async function wakeOnNotify(url: string, channel: string, wake: () => void): Promise<() => Promise<void>> {
  const listener = await listen(url, channel, () => wake());
  return () => listener.close();
}

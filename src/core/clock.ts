// Time always comes from here, so pacing and forecasts can run a simulated week in milliseconds.

export interface Clock {
  now(): Date;
  /** Waits `ms` of this clock's time; resolves early when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** A clock that only moves when told to; `sleep` advances it instantly. */
export class FakeClock implements Clock {
  private t: number;

  constructor(start: Date | string | number = '2026-01-05T08:00:00Z') {
    this.t = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  set(to: Date | string | number): void {
    this.t = new Date(to).getTime();
  }

  advance(ms: number): void {
    this.t += ms;
  }

  async sleep(ms: number): Promise<void> {
    this.t += Math.max(0, ms);
  }
}

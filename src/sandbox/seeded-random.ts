// Seeded draws for the sandbox: with a seed, fault draws, ids and ack jitter repeat from run to
// run, so a failing test can be replayed.

export type Random = () => number;

// The generator itself is the pacing module's (one mulberry32 in the project).
export { seededRandom } from '../core/pacing/seeded-random.js';

export function between(rng: Random, [min, max]: readonly [number, number]): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function hex(rng: Random, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += Math.floor(rng() * 16).toString(16);
  return s.toUpperCase();
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** `evt_` + a lower-case ULID (10 time characters, 16 random), like WAHA's event ids (contract §7.4). */
export function eventId(rng: Random, nowMs: number): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += CROCKFORD[Math.floor(rng() * 32)];
  return `evt_${time}${rand}`;
}

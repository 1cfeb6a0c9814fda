// Template rendering: renders per second of the compiled renderer, against the naive way (regex
// replace over the payload's JSON text, then JSON.parse) measured in the same run.
import { compileTemplate, getSample } from '../src/core/templates/index.js';
import { figure, type Figure } from './measure.js';

// Results go to a module-level sink so the JIT cannot drop the work as unused.
let sink: unknown;

function rate(fn: (i: number) => unknown, ms = 400): number {
  for (let i = 0; i < 2000; i++) sink = fn(i); // warm up the JIT
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 1000; i++) sink = fn(n + i);
    n += 1000;
    elapsed = performance.now() - start;
  }
  if (sink === undefined) throw new Error('nothing rendered');
  return (n / elapsed) * 1000;
}

export async function benchTemplateRender(): Promise<Figure[]> {
  const out: Figure[] = [];
  for (const name of ['text_basic', 'message_buttons_experimental', 'list_experimental']) {
    const c = compileTemplate(getSample(name).template, { mediaPlaceholder: true });
    const json = c.payloadJson;
    const target = { session: 'default', chatId: '243812345678@c.us' };
    const varsFor = (i: number) => ({ first_name: `Name${i}`, brand: 'vaseline', city: 'Goma', source: 'store', store_id: `S${i % 100}` });
    const naive = rate((i) => {
      const v = varsFor(i) as Record<string, string>;
      const text = json.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => JSON.stringify(v[k] ?? '').slice(1, -1));
      return { ...target, ...JSON.parse(text) };
    });
    const compiled = rate((i) => c.render(varsFor(i), target));
    out.push(figure(`${name} renders`, compiled, 'renders/s', { name: 'regex + JSON.parse', value: naive }, 'aim: 100,000/s or more'));
  }
  return out;
}

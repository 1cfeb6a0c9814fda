// Starts the Ink app on the terminal and resolves when the user quits. Loaded only by
// `campaign tui` / `campaign status --watch` (dynamic import), so no other command pays for
// ink and react. Runs on the alternate screen, like other full-screen terminal tools: `q` gives
// the shell its screen back as it was.
import { render } from 'ink';
import { App } from './App.js';
import { createTuiSource, type TuiSourceOptions } from './tui-source.js';

const ALT_SCREEN_ON = '\u001b[?1049h';
const ALT_SCREEN_OFF = '\u001b[?1049l';
const CLEAR = '\u001b[2J\u001b[3J\u001b[H';

export async function runTui(options: TuiSourceOptions): Promise<void> {
  const out = process.stdout;
  const source = createTuiSource(options);
  // A terminal reflows the old frame when it shrinks, leaving fragments that Ink's line-count
  // erase misses: wipe the screen first (this listener runs before Ink's own), then Ink redraws.
  const onResize = () => out.write(CLEAR);
  out.write(ALT_SCREEN_ON + CLEAR);
  out.on('resize', onResize);
  try {
    const app = render(<App source={source} />, { exitOnCtrlC: true });
    await app.waitUntilExit();
  } finally {
    out.off('resize', onResize);
    out.write(ALT_SCREEN_OFF);
    await source.close();
  }
}

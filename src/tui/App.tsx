// The interactive shell around Screen: subscribes to the data source, keeps the selection,
// the filter and a pending confirmation, and turns keys into control actions. `q` quits.
import { useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import { toCampaignError } from '../core/errors.js';
import { ACTION_KEYS, type CampaignAction, type CampaignRow, campaignRows, describeTarget } from './campaign-rows.js';
import { INITIAL_UI, Screen, type UiState } from './Screen.js';
import type { TuiData, TuiSource } from './tui-source.js';

function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

const VERB: Record<CampaignAction, string> = { start: 'Start', pause: 'Pause', resume: 'Resume', cancel: 'Cancel' };

export function App({ source }: { source: TuiSource }) {
  const { exit } = useApp();
  const { columns, rows: height } = useTerminalSize();
  const [data, setData] = useState<TuiData>(() => source.get());
  const [ui, setUi] = useState<UiState>(INITIAL_UI);
  // Keys are read against refs, not the last render's closure: a key typed right after another
  // (p then y) must see the state the first one set, before React re-subscribes the handler.
  const uiRef = useRef<UiState>(INITIAL_UI);
  const selectedKey = useRef<string | null>(null);
  const pending = useRef<{ action: CampaignAction; target: CampaignRow } | null>(null);
  const update = (f: (u: UiState) => UiState) => {
    uiRef.current = f(uiRef.current);
    setUi(uiRef.current);
  };

  useEffect(() => source.subscribe(setData), [source]);
  const list = useMemo(() => campaignRows(data.snapshot), [data.snapshot]);
  const listRef = useRef(list);
  listRef.current = list;

  // The selection follows its campaign across refreshes; if it went away, the same position.
  const selectedIndex = (rows: CampaignRow[], u: UiState) => {
    const byKey = selectedKey.current ? rows.findIndex((r) => r.key === selectedKey.current) : -1;
    return rows.length === 0 ? 0 : byKey >= 0 ? byKey : Math.min(u.selected, rows.length - 1);
  };
  const view: UiState = { ...ui, selected: selectedIndex(list, ui) };

  const run = (action: CampaignAction, target: CampaignRow) => {
    update((u) => ({ ...u, confirm: null, message: { text: `${VERB[action]} ${describeTarget(target)}...`, error: false } }));
    source.act(action, target).then(
      (text) => update((u) => ({ ...u, message: { text, error: false } })),
      (e) => update((u) => ({ ...u, message: { text: toCampaignError(e).message, error: true } })),
    );
  };

  useInput((input, key) => {
    const u = uiRef.current;
    const rows = listRef.current;
    const selected = selectedIndex(rows, u);
    const select = (i: number) => {
      const next = Math.max(0, Math.min(rows.length - 1, i));
      selectedKey.current = rows[next]?.key ?? null;
      update((x) => ({ ...x, selected: next }));
    };
    if (u.confirm) {
      const p = pending.current;
      pending.current = null;
      if ((input === 'y' || input === 'Y') && p) run(p.action, p.target);
      else update((x) => ({ ...x, confirm: null, message: { text: 'Nothing changed.', error: false } }));
      return;
    }
    if (u.editing) {
      if (key.escape) update((x) => ({ ...x, editing: false, filter: '' }));
      else if (key.return) update((x) => ({ ...x, editing: false }));
      else if (key.backspace || key.delete) update((x) => ({ ...x, filter: x.filter.slice(0, -1) }));
      else if (input && !key.ctrl && !key.meta) update((x) => ({ ...x, filter: x.filter + input }));
      return;
    }
    if (input === 'q') {
      exit();
      return;
    }
    if (input === '?') {
      update((x) => ({ ...x, help: !x.help }));
      return;
    }
    if (key.escape) {
      update((x) => ({ ...x, help: false, filter: '', message: null }));
      return;
    }
    if (u.help) return;
    if (input === '/') update((x) => ({ ...x, editing: true, message: null }));
    else if (key.upArrow || input === 'k') select(selected - 1);
    else if (key.downArrow || input === 'j') select(selected + 1);
    else if (ACTION_KEYS[input]) {
      const action = ACTION_KEYS[input]!;
      const target = rows[selected];
      if (!target) {
        update((x) => ({ ...x, message: { text: 'No campaign to act on: nothing is running, paused or approved.', error: true } }));
      } else if (!target.actions.includes(action)) {
        const can = target.actions.map((a) => `${a[0]} ${a}`).join(', ');
        update((x) => ({ ...x, message: { text: `Cannot ${action} ${describeTarget(target)} while it is ${target.status}${can ? `; keys that apply: ${can}` : ''}.`, error: true } }));
      } else {
        pending.current = { action, target };
        update((x) => ({ ...x, confirm: `${VERB[action]} ${describeTarget(target)}`, message: null }));
      }
    }
  });

  return <Screen data={data} rows={list} ui={view} columns={columns} height={height} />;
}

// The whole screen as a pure function of the data and the interaction state: the App feeds it,
// tests feed it fixed data. Heights are shared out so the frame never outgrows the terminal;
// the event stream gets what the other panes leave.
import { Box } from 'ink';
import type { CampaignRow } from './campaign-rows.js';
import { CampaignsPane, campaignsHeight } from './CampaignsPane.js';
import { EventsPane } from './EventsPane.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { HelpPane } from './HelpPane.js';
import { OverviewPane, overviewHeight } from './OverviewPane.js';
import { SessionsPane, sessionsHeight } from './SessionsPane.js';
import type { TuiData } from './tui-source.js';

export interface UiState {
  selected: number;
  filter: string;
  editing: boolean;
  help: boolean;
  confirm: string | null;
  message: { text: string; error: boolean } | null;
}

export const INITIAL_UI: UiState = { selected: 0, filter: '', editing: false, help: false, confirm: null, message: null };

export interface ScreenProps {
  data: TuiData;
  rows: CampaignRow[];
  ui: UiState;
  columns: number;
  /** Terminal height. */
  height: number;
}

export function Screen({ data, rows, ui, columns, height }: ScreenProps) {
  const width = Math.max(20, columns - 1);
  const snap = data.snapshot;
  const tz = snap?.timezone ?? 'UTC';
  const now = snap?.at ?? data.updatedAt ?? new Date(0).toISOString();
  const tall = height >= 30;
  const maxAttention = tall ? 4 : 2;
  const maxRows = Math.max(2, Math.floor(height / 5));
  const maxSessions = tall ? 3 : 1;
  const sessions = snap?.sessions ?? [];
  const used =
    1 + // header
    overviewHeight(snap, width, maxAttention) +
    campaignsHeight(rows.length, maxRows) +
    sessionsHeight(sessions.length, maxSessions) +
    1 + // footer
    1; // ink's last line
  const eventsHeight = Math.max(2, height - used);
  return (
    <Box flexDirection="column">
      <Header data={data} width={width} />
      {ui.help ? (
        <HelpPane width={width} />
      ) : (
        <>
          <OverviewPane snapshot={snap} width={width} maxAttention={maxAttention} />
          <CampaignsPane rows={rows} selected={ui.selected} width={width} timezone={tz} now={now} maxRows={maxRows} />
          <SessionsPane sessions={sessions} width={width} timezone={tz} now={now} maxSessions={maxSessions} />
          <EventsPane events={data.events} filter={ui.filter} editing={ui.editing} width={width} height={eventsHeight} timezone={tz} />
        </>
      )}
      <Footer width={width} confirm={ui.confirm} editing={ui.editing} filter={ui.filter} message={ui.message} />
    </Box>
  );
}

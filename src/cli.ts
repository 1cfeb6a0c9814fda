// The `campaign` command line. Only the module of the command being run is loaded (start-up
// time: ink, react, fastify and supabase load only in the commands that use them); the top-level
// help lists every command from the table below without loading any of them.
import { Command, CommanderError } from 'commander';
import { closest } from './core/did-you-mean.js';
import { CampaignError, ERROR_CODES, EXIT } from './core/errors.js';
import { kit, reportError } from './commands/kit.js';
import { VERSION } from './version.js';

interface Entry {
  /** Top-level command names this module registers. */
  names: Record<string, string>;
  load: () => Promise<{ register(program: Command, k: typeof kit): void }>;
}

export const COMMANDS: Entry[] = [
  { names: { demo: 'Try the whole flow on a demo database with a built-in WAHA sandbox (nothing reaches WhatsApp)' }, load: () => import('./commands/demo.js') },
  { names: { config: 'Show the resolved configuration (secrets masked) and what is missing' }, load: () => import('./commands/config.js') },
  { names: { db: 'The campaign database: status, migrate, stop' }, load: () => import('./commands/db.js') },
  { names: { settings: 'Pacing settings: show, set key=value, preset cold|warming|warm' }, load: () => import('./commands/settings.js') },
  { names: { templates: 'Template samples: list, show, validate, render' }, load: () => import('./commands/templates.js') },
  {
    names: {
      create: 'Create a DRAFT campaign from a JSON file',
      apply: 'Create or update the DRAFT of the name in a JSON file (idempotent, for CI)',
      edit: 'Replace a DRAFT campaign from a JSON file',
      show: 'Show one campaign',
      list: 'List campaigns',
      approve: 'Approve a DRAFT: records who, when and a content hash, and freezes content',
      duplicate: 'Copy a campaign into a new editable DRAFT',
      archive: 'Archive a campaign (hidden from lists, kept for reports)',
      delete: 'Delete an empty DRAFT',
    },
    load: () => import('./commands/campaigns.js'),
  },
  { names: { audit: 'The admin activity log (append-only)' }, load: () => import('./commands/audit.js') },
  { names: { audience: 'The live CRM audience (Supabase, read only): brands, preview, import' }, load: () => import('./commands/audience.js') },
  { names: { contacts: 'Imported contacts: list, summary, show, suppress, opt-out' }, load: () => import('./commands/contacts.js') },
  { names: { 'test-users': 'Internal test recipients: add, list, edit, activate, deactivate, rm' }, load: () => import('./commands/test-users.js') },
  { names: { 'test-lists': 'Groups of active test users for test runs: create, add, remove, show, list, rm' }, load: () => import('./commands/test-lists.js') },
  { names: { queue: 'The send queue of an approved campaign: build, show, exclusions' }, load: () => import('./commands/queue.js') },
  { names: { sessions: 'WAHA sessions with their status and pacing state' }, load: () => import('./commands/sessions.js') },
  { names: { sandbox: 'A local WAHA stand-in for trying the tool and for tests (sends nothing to WhatsApp)' }, load: () => import('./commands/sandbox.js') },
  { names: { media: 'The Media Gallery: upload, list, show, rm' }, load: () => import('./commands/media.js') },
  { names: { report: 'Per-recipient report of a campaign as CSV or JSON' }, load: () => import('./commands/report.js') },
  { names: { worker: 'Send queued messages through WAHA under the pacing rules (any number, anywhere)' }, load: () => import('./commands/worker.js') },
  {
    names: {
      start: 'Start sending an approved campaign whose queue is built',
      pause: 'Pause a running campaign (binds from the next claim)',
      resume: 'Resume a paused campaign',
      cancel: 'Cancel a campaign: rows that never left are skipped',
      running: 'Running and paused campaigns and test runs: progress, latest worker reason, next attempt',
      resolve: 'Decide on sends with an unknown outcome: --resend or --skip',
    },
    load: () => import('./commands/control.js'),
  },
  { names: { logs: 'Worker decisions with their reasons (why is nothing sending?)' }, load: () => import('./commands/logs.js') },
  { names: { forecast: 'When a campaign will finish at the current settings, and sends per day' }, load: () => import('./commands/forecast.js') },
  { names: { test: 'Test runs to internal test lists: start, pause, resume, cancel, show, list, report' }, load: () => import('./commands/test-runs.js') },
  { names: { serve: 'The JSON API, the WAHA webhook and the dashboard (port 4100)', webhook: 'WAHA webhook set-up: show the URL and events, or configure a session' }, load: () => import('./commands/serve.js') },
  {
    names: {
      status: 'One screen of truth: components, sessions, running campaigns, attention items (--watch: live)',
      health: 'Check each component with its latency; non-zero exit when a needed one is down',
      tui: 'The live terminal dashboard for ops',
    },
    load: () => import('./commands/status.js'),
  },
  { names: { preview: 'Send a campaign once to one test user now (no queue, no test run)' }, load: () => import('./commands/preview.js') },
];

const EXIT_HELP = [
  'Exit codes:',
  `  ${EXIT.OK}  success`,
  `  ${EXIT.INTERNAL}  internal error (a bug; CAMPAIGN_DEBUG=1 shows the stack)`,
  `  ${EXIT.USAGE}  usage: a flag or argument is missing or malformed`,
  `  ${EXIT.INVALID}  invalid input: a file, template or setting broke a rule (nothing was written)`,
  `  ${EXIT.NOT_FOUND}  not found`,
  `  ${EXIT.CONFLICT}  conflict: the current state forbids it (for example approved content is frozen)`,
  `  ${EXIT.CONFIG}  configuration: a required environment variable is missing or malformed`,
  `  ${EXIT.DATABASE}  database unavailable or schema out of date`,
  `  ${EXIT.UPSTREAM}  WAHA or the CRM is unreachable or refused`,
  `  ${EXIT.UNHEALTHY}  health check: a component the configuration needs is down`,
  '',
  'Every command takes --json: one JSON document on stdout (errors too: {"error":{"code",...}}).',
  `Error codes: ${Object.keys(ERROR_CODES).join(', ')}.`,
].join('\n');

function baseProgram(): Command {
  const program = new Command('campaign')
    .description('Send WhatsApp marketing campaigns through WAHA, slowly and safely.')
    .version(VERSION, '-V, --version')
    .option('--json', 'print one JSON document on stdout instead of a table')
    .option('--actor <name>', 'who is acting, for the audit log (default: CAMPAIGN_ACTOR, else the OS user)')
    .addHelpText('after', `\n${EXIT_HELP}`)
    .exitOverride();
  // Errors are reported once, by reportError; help (also the help of a bare group) still prints.
  program.configureOutput({ outputError: () => {} });
  return program;
}

function firstCommandName(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--actor') {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

export async function main(argv: string[]): Promise<void> {
  // `campaign … | head`: the reader went away; that is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const json = argv.includes('--json');
  const program = baseProgram();
  const name = firstCommandName(argv);
  const entry = name ? COMMANDS.find((e) => name in e.names) : undefined;
  for (const e of COMMANDS) {
    if (e === entry) continue;
    for (const [n, summary] of Object.entries(e.names)) program.command(n).description(summary).allowUnknownOption().helpOption(false);
  }
  try {
    if (entry) {
      const mod = await entry.load();
      mod.register(program, kit);
      // Commander lists commands in registration order; keep the table's order in help.
      const order = COMMANDS.flatMap((e) => Object.keys(e.names));
      (program.commands as Command[]).sort((a, b) => order.indexOf(a.name()) - order.indexOf(b.name()));
      propagateExitOverride(program);
    }
    if (name && !entry && !argv.includes('--help') && !argv.includes('-h')) {
      const known = COMMANDS.flatMap((e) => Object.keys(e.names));
      throw new CommanderError(EXIT.USAGE, 'commander.unknownCommand', `unknown command '${name}'${suggest(name, known)}`);
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') {
        process.exitCode = 0;
        return;
      }
      if (e.code === 'commander.help') {
        // A command group without a subcommand: its help went to stderr; it is a usage mistake.
        process.exitCode = EXIT.USAGE;
        return;
      }
      const message = e.message.replace(/^error: /, '').replace(/\.+$/, '');
      const hint = `Run \`campaign ${name && entry ? `${name} ` : ''}--help\` for usage.`;
      process.exitCode = reportError(new CampaignError('USAGE', `${message}. ${hint}`), json);
      return;
    }
    process.exitCode = reportError(e, json);
  }
}

function propagateExitOverride(cmd: Command): void {
  for (const sub of cmd.commands as Command[]) {
    sub.exitOverride();
    sub.configureOutput({ outputError: () => {} });
    propagateExitOverride(sub);
  }
}

function suggest(name: string, known: string[]): string {
  const best = closest(name, known);
  return best ? ` (did you mean '${best}'?)` : '';
}

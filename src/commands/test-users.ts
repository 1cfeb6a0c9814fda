// `campaign test-users add | list | show | edit | activate | deactivate | rm`: the internal people
// who receive test runs. Flags are parsed here; the rules live in core/test-users.
import type { Command } from 'commander';
import { CampaignError } from '../core/errors.js';
import type { TestUser } from '../core/test-users/test-user.repository.js';
import {
  activateTestUser,
  addTestUser,
  deactivateTestUser,
  editTestUser,
  listTestUsers,
  removeTestUser,
  showTestUser,
  type TestUserList,
  type TestUserResult,
} from '../core/test-users/test-user.service.js';
import type { CliKit, Run } from './kit.js';
import { keyValue, paint, table } from './render.js';

function block(u: TestUser): string {
  return keyValue([
    ['id', u.id],
    ['name', u.name],
    ['phone', u.phone],
    ['chat id', u.chatId],
    ['active', u.active ? 'yes' : 'no'],
    ['lists', u.lists.join(', ')],
    ['notes', u.notes ?? ''],
  ]);
}

function presentList(r: TestUserList): string {
  return table(
    ['id', 'name', 'phone', 'chat id', 'active', 'lists', 'notes'],
    r.testUsers.map((u) => [u.id, u.name, u.phone, u.chatId, u.active ? 'yes' : paint('yellow', 'no'), u.lists.join(', '), u.notes ?? '']),
    { empty: 'No test users yet. Add one with `campaign test-users add --name "Asha" --phone +919876543210`.' },
  );
}

const present = (done: string) => (r: TestUserResult) => `${r.changed ? done : 'nothing to do: already so'}\n${block(r.testUser)}`;

/** Warnings go to stderr; the result (with them inside) goes to stdout. */
function warned(run: Run, r: TestUserResult): TestUserResult {
  for (const w of r.warnings) run.log.warn(w);
  return r;
}

const ACTIVE = ['yes', 'no'];

export function register(program: Command, k: CliKit): void {
  const users = program.command('test-users').description('Internal test recipients: add, list, edit, activate, deactivate, rm');

  users
    .command('add')
    .description('Add a test user (active); the phone needs its country code')
    .requiredOption('--name <name>', 'required: who it is')
    .requiredOption('--phone <phone>', 'required: full international number, e.g. +919876543210')
    .option('--notes <text>', 'anything useful: device, engine, team')
    .action(k.action(async (run) => warned(run, await addTestUser(await run.ctx(), { name: run.opts.name, phone: run.opts.phone, notes: run.opts.notes })), present('added')));

  users
    .command('list')
    .description('List test users with the lists they are in')
    .option('--active <yes|no>', 'only active (yes) or only deactivated (no) users')
    .action(
      k.action(async (run) => {
        const a = run.opts.active as string | undefined;
        if (a !== undefined && !ACTIVE.includes(a)) {
          throw new CampaignError('USAGE', `--active must be yes or no; got "${a}".`);
        }
        return listTestUsers(await run.ctx(), { active: a === undefined ? undefined : a === 'yes' });
      }, presentList),
    );

  users
    .command('show')
    .description('One test user')
    .argument('<user>', 'id, name or phone')
    .action(k.action(async (run, [ref]) => showTestUser(await run.ctx(), ref!), (r) => block(r.testUser)));

  users
    .command('edit')
    .description('Change a test user\'s name, phone or notes (--notes "" clears them)')
    .argument('<user>', 'id, name or phone')
    .option('--name <name>', 'new name')
    .option('--phone <phone>', 'new full international number, e.g. +919876543210')
    .option('--notes <text>', 'new notes')
    .action(
      k.action(
        async (run, [ref]) => warned(run, await editTestUser(await run.ctx(), ref!, { name: run.opts.name, phone: run.opts.phone, notes: run.opts.notes })),
        present('edited'),
      ),
    );

  users
    .command('activate')
    .description('Make a test user active again (it can then join lists)')
    .argument('<user>', 'id, name or phone')
    .action(k.action(async (run, [ref]) => warned(run, await activateTestUser(await run.ctx(), ref!)), present('activated')));

  users
    .command('deactivate')
    .description('Deactivate a test user (kept, but cannot join lists)')
    .argument('<user>', 'id, name or phone')
    .action(k.action(async (run, [ref]) => warned(run, await deactivateTestUser(await run.ctx(), ref!)), present('deactivated')));

  users
    .command('rm')
    .description('Delete a test user and its list memberships')
    .argument('<user>', 'id, name or phone')
    .action(
      k.action(
        async (run, [ref]) => removeTestUser(await run.ctx(), ref!),
        (r) => `removed: test user #${r.removed.id} "${r.removed.name}" (${r.removed.phone})${r.removed.lists.length ? `, from ${r.removed.lists.join(', ')}` : ''}`,
      ),
    );
}

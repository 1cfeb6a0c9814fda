// `campaign test-lists create | add | remove | show | list | rm`: named groups of active test
// users for test runs. Size advice (10-50 members) is a warning on stderr and inside the result.
import type { Command } from 'commander';
import {
  addTestListMembers,
  createTestList,
  listTestLists,
  type MembershipResult,
  removeTestList,
  removeTestListMembers,
  showTestList,
  type TestListDetail,
  type TestListResult,
  type TestListsResult,
} from '../core/test-lists/test-list.service.js';
import type { CliKit, Run } from './kit.js';
import { keyValue, paint, table } from './render.js';

function warned<T extends { warnings: string[] }>(run: Run, r: T): T {
  for (const w of r.warnings) run.log.warn(w);
  return r;
}

const names = (xs: Array<{ id: number; name: string }>) => xs.map((u) => `#${u.id} ${u.name}`).join(', ');

function listLine(r: TestListResult): string {
  return `test list #${r.list.id} "${r.list.name}": ${r.list.activeMembers} active member(s)${r.list.members > r.list.activeMembers ? ` of ${r.list.members}` : ''}`;
}

function presentMembership(verb: 'added' | 'removed', r: MembershipResult): string {
  const lines = [listLine(r)];
  lines.push(r.changed.length ? `${verb}: ${names(r.changed)}` : `nothing ${verb}`);
  if (r.unchanged.length) lines.push(paint('dim', `${verb === 'added' ? 'already members' : 'not members'}: ${names(r.unchanged)}`));
  return lines.join('\n');
}

function presentDetail(d: TestListDetail): string {
  const head = keyValue([
    ['id', d.list.id],
    ['name', d.list.name],
    ['description', d.list.description ?? ''],
    ['members', `${d.list.activeMembers} active${d.list.members > d.list.activeMembers ? ` of ${d.list.members}` : ''}`],
  ]);
  const members = table(
    ['id', 'name', 'phone', 'chat id', 'active', 'added'],
    d.members.map((m) => [m.id, m.name, m.phone, m.chatId, m.active ? 'yes' : paint('yellow', 'no'), m.addedAt.slice(0, 16).replace('T', ' ')]),
    { empty: 'No members yet: `campaign test-lists add <list> <user...>`.' },
  );
  return `${head}\n\n${members}`;
}

function presentLists(r: TestListsResult): string {
  return table(
    ['id', 'name', 'active members', 'members', 'description', 'advice'],
    r.lists.map((l) => [l.id, l.name, l.activeMembers, l.members, l.description ?? '', l.warnings.length ? paint('yellow', l.activeMembers < 10 ? 'below 10' : l.activeMembers > 50 ? 'above 50' : 'inactive members') : '']),
    { empty: 'No test lists yet. Create one with `campaign test-lists create --name "QA team"`.' },
  );
}

export function register(program: Command, k: CliKit): void {
  const lists = program.command('test-lists').description('Groups of active test users for test runs: create, add, remove, show, list, rm');

  lists
    .command('create')
    .description('Create an empty test list')
    .requiredOption('--name <name>', 'required: unique name')
    .option('--description <text>', 'what the list is for')
    .action(k.action(async (run) => warned(run, await createTestList(await run.ctx(), { name: run.opts.name, description: run.opts.description })), (r) => `created ${listLine(r)}`));

  lists
    .command('add')
    .description('Add active test users to a list (all or none)')
    .argument('<list>', 'id or name')
    .argument('<user...>', 'test users: id, name or phone')
    .action(k.action(async (run, [ref, ...users]) => warned(run, await addTestListMembers(await run.ctx(), ref!, users)), (r) => presentMembership('added', r)));

  lists
    .command('remove')
    .description('Take test users out of a list (the users stay)')
    .argument('<list>', 'id or name')
    .argument('<user...>', 'test users: id, name or phone')
    .action(k.action(async (run, [ref, ...users]) => warned(run, await removeTestListMembers(await run.ctx(), ref!, users)), (r) => presentMembership('removed', r)));

  lists
    .command('show')
    .description('A list and its members')
    .argument('<list>', 'id or name')
    .action(k.action(async (run, [ref]) => warned(run, await showTestList(await run.ctx(), ref!)), presentDetail));

  lists
    .command('list')
    .description('Every test list with its member counts')
    .action(k.action(async (run) => listTestLists(await run.ctx()), presentLists));

  lists
    .command('rm')
    .description('Delete a test list (its users stay; past test runs keep its name)')
    .argument('<list>', 'id or name')
    .action(k.action(async (run, [ref]) => removeTestList(await run.ctx(), ref!), (r) => `removed: test list #${r.removed.id} "${r.removed.name}" (${r.members.length} member(s); the test users stay)`));
}

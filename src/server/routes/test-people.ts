// Test users, test lists and test runs: `campaign test-users`, `campaign test-lists` and
// `campaign test`. `:id` takes what the CLI takes (an id, or a name or phone where it allows).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addTestListMembers, createTestList, listTestLists, removeTestList, removeTestListMembers, showTestList } from '../../core/test-lists/test-list.service.js';
import { cancelTestRun, listTestRuns, pauseTestRun, resumeTestRun, showTestRun, startTestRun } from '../../core/test-runs/index.js';
import {
  activateTestUser,
  addTestUser,
  deactivateTestUser,
  editTestUser,
  listTestUsers,
  removeTestUser,
  showTestUser,
} from '../../core/test-users/test-user.service.js';
import { parseBody, parseQuery, queryBool, queryInt, reasonBody } from '../parse-input.js';
import { sendReport } from '../send-report.js';

type IdParams = { Params: { id: string } };
const ref = z.union([z.string().trim().min(1), z.number().int().min(1)]).transform(String);
const users = z.object({ users: z.array(ref).min(1, 'name at least one test user (id, name or phone)') });

export function testPeopleRoutes(app: FastifyInstance): void {
  // Test users. Core validates name, phone and notes (the same messages as the CLI).
  app.get('/api/test-users', async (req) => {
    const q = parseQuery(z.object({ active: queryBool.optional() }), req.query);
    return listTestUsers(req.ctx, { active: q.active });
  });
  app.post('/api/test-users', async (req, reply) => {
    reply.code(201);
    return addTestUser(req.ctx, (req.body ?? {}) as never);
  });
  app.get<IdParams>('/api/test-users/:id', async (req) => showTestUser(req.ctx, req.params.id));
  app.patch<IdParams>('/api/test-users/:id', async (req) => editTestUser(req.ctx, req.params.id, (req.body ?? {}) as never));
  app.delete<IdParams>('/api/test-users/:id', async (req) => removeTestUser(req.ctx, req.params.id));
  app.post<IdParams>('/api/test-users/:id/activate', async (req) => activateTestUser(req.ctx, req.params.id));
  app.post<IdParams>('/api/test-users/:id/deactivate', async (req) => deactivateTestUser(req.ctx, req.params.id));

  // Test lists.
  app.get('/api/test-lists', async (req) => listTestLists(req.ctx));
  app.post('/api/test-lists', async (req, reply) => {
    reply.code(201);
    return createTestList(req.ctx, (req.body ?? {}) as never);
  });
  app.get<IdParams>('/api/test-lists/:id', async (req) => showTestList(req.ctx, req.params.id));
  app.delete<IdParams>('/api/test-lists/:id', async (req) => removeTestList(req.ctx, req.params.id));
  app.post<IdParams>('/api/test-lists/:id/members', async (req) => addTestListMembers(req.ctx, req.params.id, parseBody(users, req.body).users));
  app.post<IdParams>('/api/test-lists/:id/members/remove', async (req) => removeTestListMembers(req.ctx, req.params.id, parseBody(users, req.body).users));

  // Test runs.
  app.get('/api/test-runs', async (req) => {
    const q = parseQuery(z.object({ campaign: z.string().min(1).optional(), limit: queryInt(1, 10_000).optional() }), req.query);
    return listTestRuns(req.ctx, { campaign: q.campaign, limit: q.limit ?? 200 });
  });
  app.post('/api/test-runs', async (req, reply) => {
    const b = parseBody(z.object({ campaign: ref, list: ref }), req.body);
    reply.code(201);
    return startTestRun(req.ctx, b.campaign, b.list);
  });
  app.get<IdParams>('/api/test-runs/:id', async (req) => showTestRun(req.ctx, req.params.id));
  const control = { pause: pauseTestRun, resume: resumeTestRun, cancel: cancelTestRun } as const;
  for (const [verb, fn] of Object.entries(control)) {
    app.post<IdParams>(`/api/test-runs/:id/${verb}`, async (req) => fn(req.ctx, req.params.id, parseBody(reasonBody, req.body).reason));
  }
  app.get<IdParams>('/api/test-runs/:id/report.csv', async (req, reply) => sendReport(req, reply, { testRunId: req.params.id }, 'csv'));
  app.get<IdParams>('/api/test-runs/:id/report.json', async (req, reply) => sendReport(req, reply, { testRunId: req.params.id }, 'json'));
}

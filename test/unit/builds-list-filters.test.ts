// GET /builds's filters (target, trigger, schedule, from/to) and the trigger a build records,
// without a stack: the app with a stub pool that keeps the SQL parameters it was given.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTriggerOf, triggerMemo } from '../../src/contracts/trigger.js';
import { buildApp, type Api } from '../../src/server/app.js';
import { triggerOfRecord } from '../../src/store/builds.js';
import type { Pool } from '../../src/store/db.js';

const queries: Array<{ text: string; values: unknown[] }> = [];
let rows: unknown[] = [];
const pool = {
  query: (text: string, values: unknown[] = []) => {
    queries.push({ text, values });
    return Promise.resolve({ rows, rowCount: rows.length });
  },
} as unknown as Pool;

let app: Api;
beforeAll(async () => {
  app = await buildApp({ pool, temporal: { client: () => Promise.reject(new Error('no Temporal here')), namespace: 'default', taskQueue: 'watcher' } }, { auth: 'none' });
});
afterAll(async () => app.close());

async function get(url: string) {
  queries.length = 0;
  const response = await app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> & { details?: Array<{ field: string }> } };
}

/** The parameters listBuilds gave Postgres (see src/store/builds.ts for their order). */
function listParams() {
  const q = queries.find((x) => x.text.includes('node_counts'));
  expect(q, 'the list query').toBeDefined();
  const [, status, project, from, to, target, trigger, schedule, limit, offset] = q!.values;
  return { status, project, from, to, target, trigger, schedule, limit, offset };
}

describe('GET /builds filters', () => {
  it('passes target, trigger, schedule and the date range to one parameterized query', async () => {
    rows = [];
    const r = await get('/builds?target=prod&trigger=schedule&schedule=nightly&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00%2B01:00');
    expect(r.status).toBe(200);
    const p = listParams();
    expect(p).toMatchObject({ target: 'prod', trigger: 'schedule', schedule: 'nightly', limit: 50, offset: 0 });
    expect((p.from as Date).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect((p.to as Date).toISOString()).toBe('2026-12-01T23:00:00.000Z');
    // Values never reach the SQL text.
    expect(queries.some((x) => x.text.includes('nightly') || x.text.includes('prod'))).toBe(false);
  });

  it('takes a schedule by its Temporal Schedule ID too', async () => {
    rows = [];
    expect((await get('/builds?schedule=watcher-schedule%2Fnightly')).status).toBe(200);
    expect(listParams().schedule).toBe('nightly');
  });

  it('leaves unset filters null', async () => {
    rows = [];
    expect((await get('/builds')).status).toBe(200);
    expect(listParams()).toMatchObject({ target: null, trigger: null, schedule: null, from: null, to: null });
  });

  it('from after to is a 400 naming both; equal bounds are an empty range, not an error', async () => {
    const r = await get('/builds?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z');
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('bad_request');
    expect(r.body.message).toMatch(/from .* is after to/);
    expect(r.body.details!.map((d) => d.field)).toEqual(['querystring.from', 'querystring.to']);
    expect(queries).toEqual([]);
    rows = [];
    expect((await get('/builds?from=2026-12-01T00:00:00Z&to=2026-12-01T00:00:00Z')).status).toBe(200);
  });

  it('refuses an unknown trigger, a control character, an over-long target, and a date without a zone (4xx naming the field)', async () => {
    for (const [url, field] of [
      ['/builds?trigger=client', 'querystring.trigger'],
      ['/builds?target=a%00b', 'querystring.target'],
      [`/builds?target=${'t'.repeat(65)}`, 'querystring.target'],
      ['/builds?schedule=', 'querystring.schedule'],
      ['/builds?from=2026-12-01', 'querystring.from'],
    ] as const) {
      const r = await get(url);
      expect(r.status, url).toBe(422);
      expect(r.body.details!.map((d) => d.field), url).toContain(field);
    }
    expect(queries).toEqual([]);
  });

  it('returns target, trigger (Watcher\'s values only), schedule and its schedule ID in each summary', async () => {
    const base = {
      id: 7,
      build_id: 'b1',
      run_id: 'r1',
      pipeline: 'dbt:shop:prod:all',
      status: 'success',
      start_date: new Date('2026-12-01T10:00:00Z'),
      end_date: new Date('2026-12-01T10:01:00Z'),
      duration_seconds: 60,
      total_rows: 10,
      execution_metadata: { project: 'shop' },
      node_counts: { success: 3 },
    };
    rows = [
      { ...base, target: 'prod', trigger: 'schedule', schedule: 'nightly' },
      { ...base, id: 8, build_id: 'b2', target: null, trigger: null, schedule: null },
      { ...base, id: 9, build_id: 'b3', target: null, trigger: 'carrier-pigeon', schedule: null },
    ];
    const r = await get('/builds');
    expect(r.status).toBe(200);
    expect(r.body.builds).toEqual([
      expect.objectContaining({ buildId: 'b1', project: 'shop', target: 'prod', trigger: 'schedule', schedule: 'nightly', scheduleId: 'watcher-schedule/nightly' }),
      expect.objectContaining({ buildId: 'b2', target: null, trigger: null, schedule: null, scheduleId: null }),
      // Recorded by someone else with a value Watcher never writes: unknown, not a 500.
      expect.objectContaining({ buildId: 'b3', trigger: null }),
    ]);
  });

  it('documents the new filters in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }> };
    const names = doc.paths['/builds']!.get!.parameters!.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['target', 'trigger', 'schedule', 'from', 'to']));
  });
});

describe('a build trigger', () => {
  it('is what its starter put in the memo, else schedule when a schedule started it, else unknown', () => {
    expect(buildTriggerOf(triggerMemo('cli'), {})).toBe('cli');
    expect(buildTriggerOf(triggerMemo('api'), { schedule: 'nightly' })).toBe('api');
    expect(buildTriggerOf({ watcherSchedule: { name: 'nightly' } }, { schedule: 'nightly' })).toBe('schedule');
    expect(buildTriggerOf(undefined, { schedule: 'nightly' })).toBe('schedule');
    expect(buildTriggerOf({ watcherTrigger: 'carrier-pigeon' }, {})).toBeUndefined();
    expect(buildTriggerOf(undefined, {})).toBeUndefined();
  });

  it('as recorded: the root says so, or a root naming a schedule (recorded before triggers were) is a scheduled build', () => {
    expect(triggerOfRecord({ trigger: 'api' })).toBe('api');
    expect(triggerOfRecord({ trigger: 'cli', schedule: 'nightly' })).toBe('cli');
    expect(triggerOfRecord({ schedule: 'nightly' })).toBe('schedule');
    expect(triggerOfRecord({ trigger: 'other' })).toBeNull();
    expect(triggerOfRecord({})).toBeNull();
    expect(triggerOfRecord(null)).toBeNull();
  });
});

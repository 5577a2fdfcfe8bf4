// etl-watcher's execution routes against real Postgres: start/end/get with children,
// idempotent repeats, bad input writing nothing, watermark promotion and last DML times;
// the reporting data (daily metrics, lineage graph).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/store/db.js';
import { syncLineage } from '../../src/store/lineage.js';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
let token: string;
beforeAll(async () => {
  api = await startTestApi();
  token = await api.token('write');
});
afterAll(async () => api?.close());

const post = (path: string, body?: unknown) => api.call('POST', path, { token, body });
const get = (path: string) => api.call('GET', path, { token });
// Rows and response bodies, typed only as far as the assertions read them.
type Row = Record<string, unknown>;
interface DailyRow { date: string; pipeline_name: string; pipeline_id: number; total_executions: number; failed_executions: number }
interface GraphNode { id: number; name: string; upstream_depth: number | null; downstream_depth: number | null }
interface GraphEdge { source_address_id: number; target_address_id: number; pipeline_name: string }
const one = async <T = Row>(sql: string, params: unknown[] = []) => (await api.db.pool.query(sql, params)).rows[0] as T;

let names = 0;
async function newPipeline(options: { type?: string; watermark?: string; nextWatermark?: string } = {}): Promise<number> {
  const type = await one<{ id: number }>(
    `INSERT INTO pipeline_type (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [options.type ?? 'extract'],
  );
  const row = await one<{ id: number }>(
    'INSERT INTO pipeline (name, pipeline_type_id, watermark, next_watermark) VALUES ($1, $2, $3, $4) RETURNING id',
    [`exec_pipeline_${++names}`, type.id, options.watermark ?? null, options.nextWatermark ?? null],
  );
  return row.id;
}

async function start(body: Record<string, unknown>): Promise<number> {
  const r = await post('/start_pipeline_execution', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as number;
}

const executionCount = async () => (await one<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_execution')).n;

describe('start, end and get', () => {
  it('starts executions with closure rows (roots included) and shows each one its direct children', async () => {
    const pipelineId = await newPipeline();
    const root = await start({ pipeline_id: pipelineId, start_date: '2026-03-01T23:30:00-02:00' });
    const child = await start({ pipeline_id: pipelineId, parent_id: root, start_date: '2026-03-02T01:31:00Z' });
    const sibling = await start({ pipeline_id: pipelineId, parent_execution_id: root, start_date: '2026-03-02T01:32:00Z' });
    const grandchild = await start({ pipeline_id: pipelineId, parent_id: child, start_date: '2026-03-02T01:33:00Z' });

    const closure = (await api.db.pool.query<{ parent_execution_id: number; child_execution_id: number; depth: number }>(
      'SELECT parent_execution_id, child_execution_id, depth FROM pipeline_execution_closure WHERE child_execution_id = ANY($1) ORDER BY child_execution_id, depth',
      [[root, child, sibling, grandchild]],
    )).rows;
    expect(closure).toEqual([
      { parent_execution_id: root, child_execution_id: root, depth: 0 },
      { parent_execution_id: child, child_execution_id: child, depth: 0 },
      { parent_execution_id: root, child_execution_id: child, depth: 1 },
      { parent_execution_id: sibling, child_execution_id: sibling, depth: 0 },
      { parent_execution_id: root, child_execution_id: sibling, depth: 1 },
      { parent_execution_id: grandchild, child_execution_id: grandchild, depth: 0 },
      { parent_execution_id: child, child_execution_id: grandchild, depth: 1 },
      { parent_execution_id: root, child_execution_id: grandchild, depth: 2 },
    ]);

    // UTC day and hour of the start
    expect(await one('SELECT date_recorded::text AS d, hour_recorded AS h, status::text AS s, parent_id FROM pipeline_execution WHERE id = $1', [root]))
      .toEqual({ d: '2026-03-02', h: 1, s: 'running', parent_id: null });
    expect((await one('SELECT parent_id FROM pipeline_execution WHERE id = $1', [sibling])).parent_id).toBe(root);

    const r = await get(`/pipeline_execution/${root}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: root, pipeline_id: pipelineId, parent_id: null, status: 'running', end_date: null, start_date: '2026-03-02T01:30:00.000Z' });
    expect(r.body.child_executions.map((c: { id: number }) => c.id)).toEqual([child, sibling]);
    expect((await get(`/pipeline_execution/${child}`)).body.child_executions.map((c: { id: number }) => c.id)).toEqual([grandchild]);
    expect((await get(`/pipeline_execution/${grandchild}`)).body.child_executions).toEqual([]);
  });

  it('returns the same execution for a repeated start (200), for any spelling of the same instant', async () => {
    const pipelineId = await newPipeline();
    const body = { pipeline_id: pipelineId, start_date: '2026-04-01T10:00:00.123456Z', watermark: '10', next_watermark: '20' };
    const first = await post('/start_pipeline_execution', body);
    expect(first.status).toBe(201);
    const before = await executionCount();
    const again = await post('/start_pipeline_execution', body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const otherSpelling = await post('/start_pipeline_execution', { ...body, start_date: '2026-04-01T12:00:00.123456+02:00' });
    expect(otherSpelling.body.id).toBe(first.body.id);
    expect(await executionCount()).toBe(before);
    expect((await one('SELECT count(*)::int AS n FROM pipeline_execution_closure WHERE child_execution_id = $1', [first.body.id])).n).toBe(1);

    // microseconds are part of the instant: a different one is a different execution
    const later = await post('/start_pipeline_execution', { ...body, start_date: '2026-04-01T10:00:00.123457Z' });
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);

    const different = await post('/start_pipeline_execution', { ...body, next_watermark: '30' });
    expect(different.status).toBe(409);
    expect(different.body.message).toContain(`execution ${first.body.id}`);
    expect(different.body.message).toContain('next_watermark');
  });

  it('never deduplicates a start without start_date', async () => {
    const pipelineId = await newPipeline();
    const a = await start({ pipeline_id: pipelineId });
    const b = await start({ pipeline_id: pipelineId });
    expect(a).not.toBe(b);
    const row = await one<{ age: number }>('SELECT extract(epoch FROM now() - start_date) AS age FROM pipeline_execution WHERE id = $1', [a]);
    expect(Math.abs(row.age)).toBeLessThan(60);
  });

  it('answers 404 for an unknown pipeline or parent, naming the field, and writes nothing', async () => {
    const pipelineId = await newPipeline();
    const before = await executionCount();
    const noPipeline = await post('/start_pipeline_execution', { pipeline_id: 999_999 });
    expect(noPipeline.status).toBe(404);
    expect(noPipeline.body.details).toEqual([{ field: 'pipeline_id', message: 'not found' }]);
    const noParent = await post('/start_pipeline_execution', { pipeline_id: pipelineId, parent_id: 999_999 });
    expect(noParent.status).toBe(404);
    expect(noParent.body.message).toMatch(/^parent_id: /);
    const noParentAlias = await post('/start_pipeline_execution', { pipeline_id: pipelineId, parent_execution_id: 999_999 });
    expect(noParentAlias.body.message).toMatch(/^parent_execution_id: /);
    expect(await executionCount()).toBe(before);
    expect((await get('/pipeline_execution/999999')).status).toBe(404);
  });

  it('rejects bad start input with 422 naming the field', async () => {
    const pipelineId = await newPipeline();
    for (const [body, field] of [
      [{ pipeline_id: pipelineId, start_date: 'yesterday' }, 'body.start_date'],
      [{ pipeline_id: pipelineId, start_date: '2026-02-30T00:00:00Z' }, 'body.start_date'],
      [{ pipeline_id: pipelineId, surprise: 1 }, 'body.surprise'],
      [{ pipeline_id: -1 }, 'body.pipeline_id'],
      [{ pipeline_id: pipelineId, watermark: 'x'.repeat(51) }, 'body.watermark'],
    ] as const) {
      const r = await post('/start_pipeline_execution', body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.details.map((d: { field: string }) => d.field)).toContain(field);
    }
  });

  it('ends successfully: duration, throughput, status; promotes the execution\'s next_watermark; last DML times only for counts > 0', async () => {
    const pipelineId = await newPipeline({ watermark: '1', nextWatermark: 'pipeline-next' });
    const id = await start({ pipeline_id: pipelineId, start_date: '2026-05-01T10:00:00Z', watermark: '1', next_watermark: '2' });
    const end = await post('/end_pipeline_execution', {
      id, end_date: '2026-05-01T10:00:08Z', completed_successfully: true, inserts: 10, updates: 0, total_rows: 100, execution_metadata: { run_id: 'r1' },
    });
    expect(end.status).toBe(204);
    expect(await one('SELECT status::text AS status, completed_successfully, duration_seconds, throughput, inserts, updates, soft_deletes, execution_metadata FROM pipeline_execution WHERE id = $1', [id]))
      .toEqual({ status: 'success', completed_successfully: true, duration_seconds: 8, throughput: 12.5, inserts: 10, updates: 0, soft_deletes: null, execution_metadata: { run_id: 'r1' } });
    const p = await one('SELECT watermark, next_watermark, last_target_insert, last_target_update, last_target_soft_delete, load_lineage FROM pipeline WHERE id = $1', [pipelineId]);
    expect(p).toMatchObject({ watermark: '2', next_watermark: 'pipeline-next', last_target_update: null, last_target_soft_delete: null, load_lineage: false });
    expect((p.last_target_insert as Date).toISOString()).toBe('2026-05-01T10:00:08.000Z');

    const shown = (await get(`/pipeline_execution/${id}`)).body;
    expect(shown).toMatchObject({ status: 'success', end_date: '2026-05-01T10:00:08.000Z', duration_seconds: 8, throughput: 12.5, next_watermark: '2' });
  });

  it("promotes the pipeline's next_watermark when the execution has none, and never erases a watermark", async () => {
    const pipelineId = await newPipeline({ watermark: 'a', nextWatermark: 'b' });
    const id = await start({ pipeline_id: pipelineId, start_date: '2026-05-02T10:00:00Z' });
    expect((await post('/end_pipeline_execution', { id, end_date: '2026-05-02T10:00:00Z', completed_successfully: true, total_rows: 5 })).status).toBe(204);
    expect((await one('SELECT watermark FROM pipeline WHERE id = $1', [pipelineId])).watermark).toBe('b');
    // duration 0: throughput 0
    expect(await one('SELECT duration_seconds, throughput FROM pipeline_execution WHERE id = $1', [id])).toEqual({ duration_seconds: 0, throughput: 0 });

    const bare = await newPipeline({ watermark: 'kept' });
    const other = await start({ pipeline_id: bare, start_date: '2026-05-02T10:00:00Z' });
    await post('/end_pipeline_execution', { id: other, end_date: '2026-05-02T10:01:00Z', completed_successfully: true });
    expect((await one('SELECT watermark FROM pipeline WHERE id = $1', [bare])).watermark).toBe('kept');
  });

  it('a failed end changes neither the watermark, nor the last DML times, nor load_lineage', async () => {
    const pipelineId = await newPipeline({ watermark: '1', nextWatermark: '2' });
    const id = await start({ pipeline_id: pipelineId, start_date: '2026-05-03T10:00:00Z', next_watermark: '3' });
    expect((await post('/end_pipeline_execution', { id, end_date: '2026-05-03T10:05:00Z', completed_successfully: false, inserts: 4 })).status).toBe(204);
    expect(await one('SELECT status::text AS status, completed_successfully FROM pipeline_execution WHERE id = $1', [id])).toEqual({ status: 'error', completed_successfully: false });
    expect(await one('SELECT watermark, last_target_insert, load_lineage FROM pipeline WHERE id = $1', [pipelineId])).toEqual({ watermark: '1', last_target_insert: null, load_lineage: true });
  });

  it('a repeated identical end is harmless; a different one is 409 naming the execution and changes nothing', async () => {
    const pipelineId = await newPipeline();
    const id = await start({ pipeline_id: pipelineId, start_date: '2026-05-04T10:00:00Z' });
    const body = { id, end_date: '2026-05-04T10:00:10Z', completed_successfully: true, inserts: 3, total_rows: 3 };
    expect((await post('/end_pipeline_execution', body)).status).toBe(204);
    const snapshot = async () => ({
      e: await one('SELECT * FROM pipeline_execution WHERE id = $1', [id]),
      p: await one('SELECT * FROM pipeline WHERE id = $1', [pipelineId]),
    });
    const before = await snapshot();
    expect((await post('/end_pipeline_execution', body)).status).toBe(204);
    expect(await snapshot()).toEqual(before);

    const different = await post('/end_pipeline_execution', { ...body, inserts: 4 });
    expect(different.status).toBe(409);
    expect(different.body.message).toContain(`execution ${id}`);
    expect(different.body.message).toContain('inserts');
    expect(await snapshot()).toEqual(before);
  });

  it('rejects an end before the start (422, end_date), an unknown id (404) and negative counts, writing nothing', async () => {
    const pipelineId = await newPipeline({ nextWatermark: 'n' });
    const id = await start({ pipeline_id: pipelineId, start_date: '2026-05-05T10:00:00Z' });
    const early = await post('/end_pipeline_execution', { id, end_date: '2026-05-05T09:59:59Z', completed_successfully: true, inserts: 1 });
    expect(early.status).toBe(422);
    expect(early.body.details).toEqual([{ field: 'end_date', message: expect.stringMatching(/start_date/) }]);
    expect(await one('SELECT end_date, status::text AS status FROM pipeline_execution WHERE id = $1', [id])).toEqual({ end_date: null, status: 'running' });
    expect(await one('SELECT watermark, last_target_insert FROM pipeline WHERE id = $1', [pipelineId])).toEqual({ watermark: null, last_target_insert: null });

    const unknown = await post('/end_pipeline_execution', { id: 999_999, end_date: '2026-05-05T10:00:00Z', completed_successfully: true });
    expect(unknown.status).toBe(404);
    expect(unknown.body.details).toEqual([{ field: 'id', message: 'not found' }]);

    const negative = await post('/end_pipeline_execution', { id, end_date: '2026-05-05T10:00:01Z', completed_successfully: true, inserts: -1 });
    expect(negative.status).toBe(422);
    expect(negative.body.details.map((d: { field: string }) => d.field)).toEqual(['body.inserts']);
    const noEnd = await post('/end_pipeline_execution', { id, completed_successfully: true });
    expect(noEnd.status).toBe(422);
    expect(noEnd.body.details.map((d: { field: string }) => d.field)).toEqual(['body.end_date']);
    expect((await one('SELECT end_date FROM pipeline_execution WHERE id = $1', [id])).end_date).toBeNull();
  });
});

describe('reporting: daily pipeline metrics', () => {
  it('aggregates per UTC day and pipeline, with filters and pagination', async () => {
    const a = await newPipeline({ type: 'report_load' });
    const b = await newPipeline({ type: 'report_extract' });
    const names = await api.db.pool.query<{ id: number; name: string }>('SELECT id, name FROM pipeline WHERE id = ANY($1)', [[a, b]]);
    const nameOf = (id: number) => names.rows.find((r) => r.id === id)!.name;
    const run = async (pipelineId: number, startDate: string, seconds: number, ok: boolean, counts: Record<string, number>) => {
      const id = await start({ pipeline_id: pipelineId, start_date: startDate });
      const end = new Date(new Date(startDate).getTime() + seconds * 1000).toISOString();
      expect((await post('/end_pipeline_execution', { id, end_date: end, completed_successfully: ok, ...counts })).status).toBe(204);
    };
    await run(a, '2025-01-10T01:00:00Z', 10, true, { inserts: 100, total_rows: 100 });
    await run(a, '2025-01-10T05:00:00Z', 30, false, { inserts: 0, total_rows: 20 });
    await run(a, '2025-01-11T05:00:00Z', 10, true, { updates: 7, total_rows: 50 });
    await run(b, '2025-01-10T07:00:00Z', 4, true, { soft_deletes: 2, total_rows: 8 });

    const page = await get('/reporting/daily-pipeline-metrics?date_from=2025-01-10&date_to=2025-01-11&limit=10');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ date_from: '2025-01-10', date_to: '2025-01-11', total: 3, limit: 10, offset: 0 });
    // newest day first, then type and pipeline name
    expect(page.body.data.map((r: DailyRow) => [r.date, r.pipeline_name])).toEqual([
      ['2025-01-11', nameOf(a)],
      ['2025-01-10', nameOf(b)],
      ['2025-01-10', nameOf(a)],
    ]);
    expect(page.body.data[2]).toEqual({
      date: '2025-01-10', pipeline_type_name: 'report_load', pipeline_name: nameOf(a), pipeline_id: a,
      total_executions: 2, failed_executions: 1, error_percentage: 50,
      daily_inserts: 100, daily_updates: 0, daily_soft_deletes: 0, daily_total_rows: 120,
      average_duration_seconds: 20, daily_throughput: 3,
    });

    const byType = await get('/reporting/daily-pipeline-metrics?date_from=2025-01-10&date_to=2025-01-11&pipeline_type_name=REPORT_EXTRACT');
    expect(byType.body.data.map((r: DailyRow) => r.pipeline_id)).toEqual([b]);
    const byName = await get(`/reporting/daily-pipeline-metrics?date_from=2025-01-10&date_to=2025-01-10&pipeline_name=${nameOf(a)}`);
    expect(byName.body.data.map((r: DailyRow) => [r.date, r.pipeline_id])).toEqual([['2025-01-10', a]]);

    const second = await get('/reporting/daily-pipeline-metrics?date_from=2025-01-10&date_to=2025-01-11&limit=1&offset=1');
    expect(second.body.total).toBe(3);
    expect(second.body.data.map((r: DailyRow) => r.pipeline_id)).toEqual([b]);
    const past = await get('/reporting/daily-pipeline-metrics?date_from=2025-01-10&date_to=2025-01-11&limit=1&offset=5');
    expect(past.body).toMatchObject({ total: 3, data: [] });
  });

  it('covers the last 30 complete days by default (today excluded) and validates its query', async () => {
    const p = await newPipeline({ type: 'report_default' });
    const now = Date.now();
    const yesterday = new Date(now - 86_400_000).toISOString().slice(0, 10);
    await start({ pipeline_id: p, start_date: `${yesterday}T12:00:00Z` });
    await start({ pipeline_id: p, start_date: new Date(now - 1000).toISOString() });
    const r = await get('/reporting/daily-pipeline-metrics?pipeline_type_name=report_default');
    expect(r.status).toBe(200);
    expect(r.body.date_to).toBe(yesterday);
    expect(r.body.data.map((row: DailyRow) => [row.date, row.total_executions, row.failed_executions])).toEqual([[yesterday, 1, 0]]);

    for (const [query, field] of [['limit=501', 'querystring.limit'], ['offset=-1', 'querystring.offset'], ['date_from=2025-13-01', 'querystring.date_from'], ['bogus=1', 'querystring.bogus']]) {
      const bad = await get(`/reporting/daily-pipeline-metrics?${query}`);
      expect(bad.status, query).toBe(422);
      expect(bad.body.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    const reversed = await get('/reporting/daily-pipeline-metrics?date_from=2025-02-01&date_to=2025-01-01');
    expect(reversed.status).toBe(422);
    expect(reversed.body.details[0].field).toBe('date_from');
  });
});

describe('reporting: lineage graph', () => {
  // src.a -> m.b (p_b) -> m.c (p_c) -> m.d (p_d); m.b -> m.x (p_x)
  beforeAll(async () => {
    const rel = (name: string) => ({ name, type: 'relation' as const });
    await withTransaction(api.db.pool, (client) => syncLineage(client, [
      { pipelineName: 'p_b', pipelineType: 'model', sources: [{ name: 'src.a', type: 'source' }], targets: [rel('m.b')] },
      { pipelineName: 'p_c', pipelineType: 'model', sources: [rel('m.b')], targets: [rel('m.c')] },
      { pipelineName: 'p_d', pipelineType: 'model', sources: [rel('m.c')], targets: [rel('m.d')] },
      { pipelineName: 'p_x', pipelineType: 'model', sources: [rel('m.b')], targets: [rel('m.x')] },
    ]));
  });
  const graph = async (query: string) => {
    const r = await get(`/lineage-graph?${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const nodes = r.body.nodes as GraphNode[];
    const nameOf = (id: number) => nodes.find((n) => n.id === id)!.name;
    return {
      nodes: Object.fromEntries(nodes.map((n) => [n.name, [n.upstream_depth, n.downstream_depth]])),
      edges: (r.body.edges as GraphEdge[]).map((e) => `${nameOf(e.source_address_id)}>${nameOf(e.target_address_id)}:${e.pipeline_name}`).sort(),
    };
  };

  it('walks upstream, downstream or both, up to the depth', async () => {
    expect(await graph('address=m.c&direction=upstream&depth=2')).toEqual({
      nodes: { 'm.c': [0, 0], 'm.b': [1, null], 'src.a': [2, null] },
      edges: ['m.b>m.c:p_c', 'src.a>m.b:p_b'],
    });
    expect(await graph('address=m.c&direction=upstream&depth=1')).toEqual({ nodes: { 'm.c': [0, 0], 'm.b': [1, null] }, edges: ['m.b>m.c:p_c'] });
    expect(await graph('address=m.b&direction=downstream')).toEqual({
      nodes: { 'm.b': [0, 0], 'm.c': [null, 1], 'm.x': [null, 1], 'm.d': [null, 2] },
      edges: ['m.b>m.c:p_c', 'm.b>m.x:p_x', 'm.c>m.d:p_d'],
    });
    expect(await graph('address=m.c')).toEqual({
      nodes: { 'm.c': [0, 0], 'm.b': [1, null], 'src.a': [2, null], 'm.d': [null, 1] },
      edges: ['m.b>m.c:p_c', 'm.c>m.d:p_d', 'src.a>m.b:p_b'],
    });
  });

  it('answers 404 for an unknown address and 422 for a bad direction or depth', async () => {
    const missing = await get('/lineage-graph?address=nowhere.table');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain('nowhere.table');
    expect((await get('/lineage-graph?address=m.c&direction=sideways')).status).toBe(422);
    expect((await get('/lineage-graph?address=m.c&depth=0')).status).toBe(422);
    expect((await get('/lineage-graph')).body.details[0].field).toBe('querystring.address');
  });
});

// etl-watcher's catalog routes against real Postgres: get-or-create with 201/200, hash change
// detection, normalisation, pair validation, PATCH by id/name/pipeline_id, 404s and 409s,
// address splitting, lineage gated by load_lineage, anomaly rules, unflagging. Every write
// is checked in Postgres with SQL, not only through the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/store/db.js';
import { syncPipelines } from '../../src/store/pipelines.js';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
let token: string;
const call = (method: string, path: string, body?: unknown) => api.call(method, path, { body, token });
const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await api.db.pool.query(text, params)).rows as T[];

/** What the SDK's sync_pipeline_config sends: every key, nulls included. */
const sdkPipeline = (name: string, overrides: Record<string, unknown> = {}) => ({
  name,
  pipeline_type_name: 'extract',
  pipeline_metadata: null,
  freshness_number: null,
  freshness_datepart: null,
  timeliness_number: null,
  timeliness_datepart: null,
  next_watermark: null,
  ...overrides,
});

beforeAll(async () => {
  api = await startTestApi();
  token = await api.token('write');
});
afterAll(async () => api?.close());

describe('POST /pipeline', () => {
  it('creates (201) then finds (200) the same pipeline, normalising names and dateparts but not watermarks', async () => {
    const body = sdkPipeline('  Orders_Extract ', { pipeline_type_name: ' EXTRACT', freshness_number: 2, freshness_datepart: 'DAY', next_watermark: 'AbC-1' });
    const first = await call('POST', '/pipeline', body);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(Number), active: true, load_lineage: true, watermark: null });
    const second = await call('POST', '/pipeline', body);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);

    const [row] = await sql('SELECT p.name, t.name AS type, p.freshness_number, p.freshness_datepart::text, p.next_watermark, p.input_hash FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id WHERE p.id = $1', [first.body.id]);
    expect(row).toMatchObject({ name: 'orders_extract', type: 'extract', freshness_number: 2, freshness_datepart: 'day', next_watermark: 'AbC-1' });
    expect(row!.input_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers concurrent identical requests (the SDK retries) with one 201 and 200s, over one row', async () => {
    const send = (body: Record<string, unknown>) => Promise.all(Array.from({ length: 8 }, () => call('POST', '/pipeline', body)));
    const first = await send(sdkPipeline('raced_pipe', { freshness_number: 1, freshness_datepart: 'day' }));
    expect(first.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(first.map((r) => r.body.id)).size).toBe(1);
    const changed = await send(sdkPipeline('raced_pipe', { freshness_number: 2, freshness_datepart: 'day', next_watermark: 'n1' }));
    expect(changed.every((r) => r.status === 200)).toBe(true);
    expect(await sql("SELECT freshness_number, next_watermark FROM pipeline WHERE name = 'raced_pipe'")).toEqual([{ freshness_number: 2, next_watermark: 'n1' }]);
  });

  it('always returns the current stored watermark, and stores a sent next_watermark', async () => {
    const created = await call('POST', '/pipeline', sdkPipeline('wm_pipe'));
    await sql("UPDATE pipeline SET watermark = '2024-01-01' WHERE id = $1", [created.body.id]);
    const plain = await call('POST', '/pipeline', sdkPipeline('wm_pipe'));
    expect(plain.body.watermark).toBe('2024-01-01');
    const withNext = await call('POST', '/pipeline', sdkPipeline('wm_pipe', { next_watermark: 20240102 }));
    expect(withNext.status).toBe(200);
    expect(withNext.body.watermark).toBe('2024-01-01');
    expect((await sql('SELECT next_watermark FROM pipeline WHERE id = $1', [created.body.id]))[0]).toEqual({ next_watermark: '20240102' });
  });

  it('writes nothing for an unchanged config and rewrites a changed one', async () => {
    const created = await call('POST', '/pipeline', sdkPipeline('hash_pipe', { timeliness_number: 1, timeliness_datepart: 'hour' }));
    const before = (await sql<{ updated_at: Date | null; input_hash: string; xmin: string }>('SELECT updated_at, input_hash, xmin::text FROM pipeline WHERE id = $1', [created.body.id]))[0]!;
    expect(before.updated_at).toBeNull();

    await call('POST', '/pipeline', sdkPipeline('hash_pipe', { timeliness_number: 1, timeliness_datepart: 'hour' }));
    const unchanged = (await sql<{ updated_at: Date | null; xmin: string }>('SELECT updated_at, xmin::text FROM pipeline WHERE id = $1', [created.body.id]))[0]!;
    expect(unchanged.updated_at).toBeNull();
    expect(unchanged.xmin).toBe(before.xmin); // the row was not even rewritten

    const changed = await call('POST', '/pipeline', sdkPipeline('hash_pipe', { timeliness_number: 3, timeliness_datepart: 'hour', pipeline_metadata: { team: 'Growth' } }));
    expect(changed.status).toBe(200);
    const after = (await sql('SELECT updated_at, input_hash, timeliness_number, pipeline_metadata FROM pipeline WHERE id = $1', [created.body.id]))[0]!;
    expect(after.updated_at).toBeInstanceOf(Date);
    expect(after.input_hash).not.toBe(before.input_hash);
    expect(after).toMatchObject({ timeliness_number: 3, pipeline_metadata: { team: 'Growth' } });
  });

  it('refuses a half pair or a non-positive number with a 422 naming the field, writing nothing', async () => {
    const half = await call('POST', '/pipeline', sdkPipeline('half_pair', { freshness_number: 3 }));
    expect(half.status).toBe(422);
    expect(half.body.details).toEqual([{ field: 'body.freshness_datepart', message: expect.stringMatching(/freshness_number/) }]);
    const zero = await call('POST', '/pipeline', sdkPipeline('half_pair', { timeliness_number: 0, timeliness_datepart: 'day' }));
    expect(zero.status).toBe(422);
    expect(zero.body.details[0].field).toBe('body.timeliness_number');
    const badPart = await call('POST', '/pipeline', sdkPipeline('half_pair', { freshness_number: 1, freshness_datepart: 'quarter' }));
    expect(badPart.status).toBe(422);
    expect(badPart.body.details[0].field).toBe('body.freshness_datepart');
    const unknown = await call('POST', '/pipeline', { ...sdkPipeline('half_pair'), colour: 'red' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.details[0].field).toBe('body.colour');
    expect(await sql("SELECT id FROM pipeline WHERE name = 'half_pair'")).toEqual([]);
  });

  it('refuses the NUL character Postgres cannot store with a 422, not a 500', async () => {
    const inName = await call('POST', '/pipeline', sdkPipeline('nul\u0000pipe'));
    expect(inName.status).toBe(422);
    expect(inName.body.details[0].field).toBe('body.name');
    const inMetadata = await call('POST', '/pipeline', sdkPipeline('nul_pipe', { pipeline_metadata: { note: 'a\u0000b' } }));
    expect(inMetadata.status).toBe(422);
    expect(inMetadata.body.details[0].field).toBe('body.pipeline_metadata');
    const inWatermark = await call('POST', '/pipeline', sdkPipeline('nul_pipe', { next_watermark: '\u0000' }));
    expect(inWatermark.status).toBe(422);
    expect(await sql("SELECT id FROM pipeline WHERE name LIKE 'nul%'")).toEqual([]);
  });

  it('gives a new pipeline the 6 default anomaly rules when WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES=true', async () => {
    process.env.WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES = 'true';
    try {
      const created = await call('POST', '/pipeline', sdkPipeline('ruled_pipe'));
      const rules = await sql<{ metric_field: string }>('SELECT metric_field::text FROM anomaly_detection_rule WHERE pipeline_id = $1 ORDER BY 1', [created.body.id]);
      expect(rules.map((r) => r.metric_field)).toEqual(['duration_seconds', 'inserts', 'soft_deletes', 'throughput', 'total_rows', 'updates']);
    } finally {
      delete process.env.WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES;
    }
    const plain = await call('POST', '/pipeline', sdkPipeline('unruled_pipe'));
    expect(await sql('SELECT id FROM anomaly_detection_rule WHERE pipeline_id = $1', [plain.body.id])).toEqual([]);
  });

  it("shares rows with dbt builds: lists them, and a build then an SDK sync of one name rewrites once", async () => {
    await withTransaction(api.db.pool, (client) => syncPipelines(client, [{ name: 'shop.orders', type: 'dbt_model', config: { freshness: { number: 1, datepart: 'day' } } }]));
    const list = await call('GET', '/pipeline?limit=1000');
    expect(list.status).toBe(200);
    expect(list.body.find((p: { name: string }) => p.name === 'shop.orders')).toMatchObject({ pipeline_type_name: 'dbt_model', freshness_number: 1, freshness_datepart: 'day' });

    const sync = await call('POST', '/pipeline', sdkPipeline('shop.orders', { pipeline_type_name: 'dbt_model', freshness_number: 6, freshness_datepart: 'hour' }));
    expect(sync.status).toBe(200);
    const once = (await sql<{ xmin: string; freshness_number: number }>("SELECT xmin::text, freshness_number FROM pipeline WHERE name = 'shop.orders'"))[0]!;
    expect(once.freshness_number).toBe(6);
    await call('POST', '/pipeline', sdkPipeline('shop.orders', { pipeline_type_name: 'dbt_model', freshness_number: 6, freshness_datepart: 'hour' }));
    expect((await sql<{ xmin: string }>("SELECT xmin::text FROM pipeline WHERE name = 'shop.orders'"))[0]!.xmin).toBe(once.xmin);
  });
});

describe('GET and PATCH /pipeline', () => {
  it('gets one by id and pages the list', async () => {
    const created = await call('POST', '/pipeline', sdkPipeline('get_pipe'));
    const one = await call('GET', `/pipeline/${created.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: created.body.id, name: 'get_pipe', pipeline_type_name: 'extract', active: true, load_lineage: true, watermark: null });
    expect(one.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const pageOne = await call('GET', '/pipeline?limit=1&offset=0');
    const pageTwo = await call('GET', '/pipeline?limit=1&offset=1');
    expect(pageOne.body).toHaveLength(1);
    expect(pageTwo.body[0].id).toBeGreaterThan(pageOne.body[0].id);
    expect((await call('GET', '/pipeline?limit=5000')).status).toBe(422);
  });

  it('answers 404 naming the id', async () => {
    const missing = await call('GET', '/pipeline/999999');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/pipeline 999999 not found/);
    expect((await call('GET', '/pipeline/99999999999')).status).toBe(422); // past the integer column: not a 500
  });

  it('changes a pipeline by id, by name and by pipeline_id (the SDK), next_watermark included', async () => {
    const created = await call('POST', '/pipeline', sdkPipeline('patch_pipe'));
    const id: number = created.body.id;

    const byId = await call('PATCH', '/pipeline', { id, active: false, mute_freshness_check: true, freshness_number: 4, freshness_datepart: 'Week' });
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id, active: false, mute_freshness_check: true, freshness_number: 4, freshness_datepart: 'week' });

    const byName = await call('PATCH', '/pipeline', { name: ' PATCH_PIPE ', load_lineage: false, watermark: 'W-7', pipeline_type_name: 'Load' });
    expect(byName.status).toBe(200);
    expect(byName.body).toMatchObject({ id, name: 'patch_pipe', load_lineage: false, watermark: 'W-7', pipeline_type_name: 'load' });

    const sdk = await call('PATCH', '/pipeline', { pipeline_id: id, next_watermark: '2025-06-01T00:00:00Z' });
    expect(sdk.status).toBe(200);
    const [row] = await sql('SELECT active, load_lineage, watermark, next_watermark, mute_freshness_check, freshness_number, updated_at FROM pipeline WHERE id = $1', [id]);
    expect(row).toMatchObject({ active: false, load_lineage: false, watermark: 'W-7', next_watermark: '2025-06-01T00:00:00Z', mute_freshness_check: true, freshness_number: 4 });
    expect(row!.updated_at).toBeInstanceOf(Date);

    const renamed = await call('PATCH', '/pipeline', { id, name: 'patched_pipe' });
    expect(renamed.body.name).toBe('patched_pipe');
  });

  it('refuses a PATCH without a row, with half a pair, for a missing row, or to a taken name', async () => {
    const a = await call('POST', '/pipeline', sdkPipeline('taken_a'));
    await call('POST', '/pipeline', sdkPipeline('taken_b'));
    const noRef = await call('PATCH', '/pipeline', { active: false });
    expect(noRef.status).toBe(422);
    expect(noRef.body.details[0].field).toBe('id');
    const half = await call('PATCH', '/pipeline', { id: a.body.id, timeliness_number: null });
    expect(half.status).toBe(422);
    expect(half.body.details[0].field).toBe('body.timeliness_datepart');
    const missing = await call('PATCH', '/pipeline', { name: 'no_such_pipe', active: false });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/no_such_pipe/);
    expect((await call('PATCH', '/pipeline', { pipeline_id: 999999, next_watermark: 'x' })).status).toBe(404);
    const dup = await call('PATCH', '/pipeline', { id: a.body.id, name: 'taken_b' });
    expect(dup.status).toBe(409);
    expect((await sql('SELECT name FROM pipeline WHERE id = $1', [a.body.id]))[0]).toEqual({ name: 'taken_a' });
  });
});

describe('/pipeline_type and /address_type', () => {
  it('get or create, get, list and patch a pipeline type', async () => {
    const first = await call('POST', '/pipeline_type', { name: 'Transform', freshness_number: 1, freshness_datepart: 'day', mute_timeliness_check: true });
    expect(first.status).toBe(201);
    const again = await call('POST', '/pipeline_type', { name: 'transform' });
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id } });
    expect((await sql('SELECT freshness_number, mute_timeliness_check FROM pipeline_type WHERE id = $1', [first.body.id]))[0]).toEqual({ freshness_number: 1, mute_timeliness_check: true });
    expect((await call('GET', `/pipeline_type/${first.body.id}`)).body).toMatchObject({ name: 'transform', freshness_datepart: 'day' });
    expect((await call('GET', '/pipeline_type')).body.map((t: { name: string }) => t.name)).toContain('transform');
    const patched = await call('PATCH', '/pipeline_type', { name: 'transform', timeliness_number: 2, timeliness_datepart: 'hour' });
    expect(patched.body).toMatchObject({ id: first.body.id, timeliness_number: 2, timeliness_datepart: 'hour' });
    expect((await call('GET', '/pipeline_type/999999')).status).toBe(404);
    const half = await call('POST', '/pipeline_type', { name: 'halfway', timeliness_datepart: 'hour' });
    expect(half.status).toBe(422);
    expect(half.body.details[0].field).toBe('body.timeliness_number');
  });

  it('get or create, get, list and patch an address type', async () => {
    const first = await call('POST', '/address_type', { name: 'API', group_name: 'Web' });
    expect(first.status).toBe(201);
    expect((await call('POST', '/address_type', { name: 'api', group_name: 'other' })).status).toBe(200);
    expect((await sql('SELECT name, group_name FROM address_type WHERE id = $1', [first.body.id]))[0]).toEqual({ name: 'api', group_name: 'web' });
    const patched = await call('PATCH', '/address_type', { id: first.body.id, group_name: 'http' });
    expect(patched.body).toMatchObject({ id: first.body.id, name: 'api', group_name: 'http' });
    expect((await call('GET', `/address_type/${first.body.id}`)).body.group_name).toBe('http');
    expect((await call('PATCH', '/address_type', { id: first.body.id, name: 'relation' })).status).toBe(409);
    expect((await call('PATCH', '/address_type', { name: 'nope', group_name: 'x' })).status).toBe(404);
  });
});

describe('/address', () => {
  it('splits a database address a.b.c, creates its type, and rewrites only on change', async () => {
    const body = { name: 'Warehouse.Raw.Orders', address_type_name: 'postgres', address_type_group_name: 'Database' };
    const first = await call('POST', '/address', body);
    expect(first.status).toBe(201);
    const [row] = await sql('SELECT a.database_name, a.schema_name, a.table_name, t.name AS type, t.group_name, a.updated_at FROM address a JOIN address_type t ON t.id = a.address_type_id WHERE a.id = $1', [first.body.id]);
    expect(row).toEqual({ database_name: 'warehouse', schema_name: 'raw', table_name: 'orders', type: 'postgres', group_name: 'database', updated_at: null });

    expect(await call('POST', '/address', body)).toMatchObject({ status: 200, body: { id: first.body.id } });
    expect((await sql('SELECT updated_at FROM address WHERE id = $1', [first.body.id]))[0]).toEqual({ updated_at: null });

    await call('POST', '/address', { ...body, primary_key: 'order_id', address_metadata: { owner: 'ops' } });
    const [changed] = await sql('SELECT primary_key, address_metadata, updated_at FROM address WHERE id = $1', [first.body.id]);
    expect(changed).toMatchObject({ primary_key: 'order_id', address_metadata: { owner: 'ops' } });
    expect(changed!.updated_at).toBeInstanceOf(Date);

    const other = await call('POST', '/address', { name: 'https://x.y/z', address_type_name: 'api', address_type_group_name: 'web' });
    expect((await call('GET', `/address/${other.body.id}`)).body).toMatchObject({ database_name: null, schema_name: null, table_name: null, address_type_name: 'api' });
  });

  it('patches by name and by id, and answers 404 for a missing address or type', async () => {
    const created = await call('POST', '/address', { name: 'files.landing', address_type_name: 's3', address_type_group_name: 'storage' });
    const byName = await call('PATCH', '/address', { name: 'files.landing', primary_key: 'key' });
    expect(byName.body).toMatchObject({ id: created.body.id, primary_key: 'key' });
    const byId = await call('PATCH', '/address', { id: created.body.id, name: 'files.landed' });
    expect(byId.body.name).toBe('files.landed');
    expect((await call('GET', '/address')).body.map((a: { name: string }) => a.name)).toContain('files.landed');
    const badType = await call('PATCH', '/address', { id: created.body.id, address_type_id: 999999 });
    expect(badType.status).toBe(404);
    expect(badType.body.details[0].field).toBe('address_type_id');
    expect((await call('PATCH', '/address', { id: 999999, primary_key: 'x' })).status).toBe(404);
    expect((await call('GET', '/address/999999')).status).toBe(404);
  });
});

describe('POST /address_lineage', () => {
  const address = (name: string) => ({ name, address_type_name: 'postgres', address_type_group_name: 'database' });
  const edges = async (pipelineId: number) =>
    (await sql<{ s: string; t: string }>(
      'SELECT s.name AS s, t.name AS t FROM address_lineage l JOIN address s ON s.id = l.source_address_id JOIN address t ON t.id = l.target_address_id WHERE l.pipeline_id = $1 ORDER BY 1, 2',
      [pipelineId],
    )).map((e) => `${e.s}>${e.t}`);
  const closure = async () =>
    (await sql<{ s: string; t: string; depth: number }>(
      `SELECT s.name AS s, t.name AS t, c.depth FROM address_lineage_closure c JOIN address s ON s.id = c.source_address_id JOIN address t ON t.id = c.target_address_id
       WHERE c.depth > 0 AND s.name LIKE 'lin.%' ORDER BY 1, 2`,
    )).map((r) => `${r.s}>${r.t}@${r.depth}`);

  it('stores every source x target pair and their closure when load_lineage is on, and replaces them next time', async () => {
    const pipe = await call('POST', '/pipeline', sdkPipeline('lineage_pipe'));
    const id: number = pipe.body.id;
    const downstream = await call('POST', '/pipeline', sdkPipeline('lineage_down'));
    // a second pipeline reads the first one's target: the closure must reach through it
    const down = await call('POST', '/address_lineage', { pipeline_id: downstream.body.id, source_addresses: [address('lin.s.out')], target_addresses: [address('lin.s.report')] });
    expect(down.status).toBe(201);

    const first = await call('POST', '/address_lineage', { pipeline_id: id, source_addresses: [address('Lin.S.A'), address('lin.s.b')], target_addresses: [address('lin.s.out')] });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ pipeline_id: id, lineage_relationships_created: 2 });
    expect(await edges(id)).toEqual(['lin.s.a>lin.s.out', 'lin.s.b>lin.s.out']);
    expect(await closure()).toEqual(['lin.s.a>lin.s.out@1', 'lin.s.a>lin.s.report@2', 'lin.s.b>lin.s.out@1', 'lin.s.b>lin.s.report@2', 'lin.s.out>lin.s.report@1']);
    expect((await sql('SELECT database_name, schema_name, table_name FROM address WHERE name = $1', ['lin.s.a']))[0]).toEqual({ database_name: 'lin', schema_name: 's', table_name: 'a' });

    // off until re-armed: a no-op 200 that writes nothing
    const [armed] = await sql<{ load_lineage: boolean }>('SELECT load_lineage FROM pipeline WHERE id = $1', [id]);
    expect(armed!.load_lineage).toBe(false);
    const noop = await call('POST', '/address_lineage', { pipeline_id: id, source_addresses: [address('lin.s.c')], target_addresses: [address('lin.s.out')] });
    expect(noop.status).toBe(200);
    expect(noop.body.lineage_relationships_created).toBe(0);
    expect(await edges(id)).toEqual(['lin.s.a>lin.s.out', 'lin.s.b>lin.s.out']);
    expect(await sql("SELECT id FROM address WHERE name = 'lin.s.c'")).toEqual([]);

    await call('PATCH', '/pipeline', { id, load_lineage: true });
    const replaced = await call('POST', '/address_lineage', { pipeline_id: id, source_addresses: [address('lin.s.c')], target_addresses: [address('lin.s.out')] });
    expect(replaced.status).toBe(201);
    expect(await edges(id)).toEqual(['lin.s.c>lin.s.out']);
    expect(await closure()).toEqual(['lin.s.c>lin.s.out@1', 'lin.s.c>lin.s.report@2', 'lin.s.out>lin.s.report@1']);

    // the same lineage again: accepted, unchanged, and load_lineage off again
    await call('PATCH', '/pipeline', { id, load_lineage: true });
    const same = await call('POST', '/address_lineage', { pipeline_id: id, source_addresses: [address('lin.s.c')], target_addresses: [address('lin.s.out')] });
    expect(same.status).toBe(201);
    expect(same.body.lineage_relationships_created).toBe(1);
    expect(await edges(id)).toEqual(['lin.s.c>lin.s.out']);
    expect((await sql('SELECT load_lineage FROM pipeline WHERE id = $1', [id]))[0]).toEqual({ load_lineage: false });
  });

  it('answers 404 for an unknown pipeline and 422 for a malformed address', async () => {
    const missing = await call('POST', '/address_lineage', { pipeline_id: 999999, source_addresses: [], target_addresses: [] });
    expect(missing.status).toBe(404);
    expect(missing.body.details[0].field).toBe('pipeline_id');
    const bad = await call('POST', '/address_lineage', { pipeline_id: 1, source_addresses: [{ name: 'x' }], target_addresses: [] });
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].field).toMatch(/^body\.source_addresses\.0\./);
  });
});

describe('/anomaly_detection_rule', () => {
  it('gets or creates per (pipeline, metric) with defaults, lists by pipeline, gets and patches by id', async () => {
    const pipe = await call('POST', '/pipeline', sdkPipeline('anomaly_pipe'));
    const first = await call('POST', '/anomaly_detection_rule', { pipeline_id: pipe.body.id, metric_field: 'TOTAL_ROWS' });
    expect(first.status).toBe(201);
    const again = await call('POST', '/anomaly_detection_rule', { pipeline_id: pipe.body.id, metric_field: 'total_rows', z_threshold: 5 });
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id } });
    expect((await sql('SELECT metric_field::text, z_threshold, lookback_days, minimum_executions, active FROM anomaly_detection_rule WHERE id = $1', [first.body.id]))[0])
      .toEqual({ metric_field: 'total_rows', z_threshold: 3, lookback_days: 30, minimum_executions: 30, active: true });

    await call('POST', '/anomaly_detection_rule', { pipeline_id: pipe.body.id, metric_field: 'inserts', z_threshold: 2.5, lookback_days: 7, minimum_executions: 5, active: false });
    const list = await call('GET', `/anomaly_detection_rule?pipeline_id=${pipe.body.id}`);
    expect(list.body.map((r: { metric_field: string }) => r.metric_field)).toEqual(['total_rows', 'inserts']);
    expect((await call('GET', `/anomaly_detection_rule/${first.body.id}`)).body).toMatchObject({ id: first.body.id, pipeline_id: pipe.body.id, z_threshold: 3 });

    const patched = await call('PATCH', '/anomaly_detection_rule', { id: first.body.id, z_threshold: 4.5, active: false });
    expect(patched.body).toMatchObject({ z_threshold: 4.5, active: false });
    expect((await sql('SELECT z_threshold, active FROM anomaly_detection_rule WHERE id = $1', [first.body.id]))[0]).toEqual({ z_threshold: 4.5, active: false });
  });

  it('enforces the bounds and answers 404 for a missing pipeline or rule', async () => {
    const pipe = await call('POST', '/pipeline', sdkPipeline('bounds_pipe'));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ z_threshold: 0.5 }, 'body.z_threshold'],
      [{ z_threshold: 11 }, 'body.z_threshold'],
      [{ lookback_days: 0 }, 'body.lookback_days'],
      [{ lookback_days: 366 }, 'body.lookback_days'],
      [{ minimum_executions: 4 }, 'body.minimum_executions'],
      [{ minimum_executions: 1001 }, 'body.minimum_executions'],
      [{ metric_field: 'rows' }, 'body.metric_field'],
    ];
    for (const [override, field] of cases) {
      const r = await call('POST', '/anomaly_detection_rule', { pipeline_id: pipe.body.id, metric_field: 'updates', ...override });
      expect(r.status, JSON.stringify(override)).toBe(422);
      expect(r.body.details[0].field).toBe(field);
    }
    expect(await sql('SELECT id FROM anomaly_detection_rule WHERE pipeline_id = $1', [pipe.body.id])).toEqual([]);
    const noPipe = await call('POST', '/anomaly_detection_rule', { pipeline_id: 999999, metric_field: 'updates' });
    expect(noPipe.status).toBe(404);
    expect(noPipe.body.details[0].field).toBe('pipeline_id');
    expect((await call('PATCH', '/anomaly_detection_rule', { id: 999999, active: true })).status).toBe(404);
    expect((await call('GET', '/anomaly_detection_rule/999999')).status).toBe(404);
  });
});

describe('POST /unflag_anomaly', () => {
  it("clears the named flags and deletes their results in one go; 404 for an unknown execution or another pipeline's", async () => {
    const pipe = await call('POST', '/pipeline', sdkPipeline('flagged_pipe'));
    const other = await call('POST', '/pipeline', sdkPipeline('other_pipe'));
    const pipelineId: number = pipe.body.id;
    const [execution] = await sql<{ id: number }>(
      `INSERT INTO pipeline_execution (pipeline_id, execution_key, start_date, date_recorded, hour_recorded, end_date, completed_successfully, status, anomaly_flags)
       VALUES ($1, 'api-catalog-flagged', now() - interval '1 minute', current_date, 0, now(), true, 'success', '{"inserts": true, "total_rows": true}') RETURNING id`,
      [pipelineId],
    );
    const rules: Record<string, number> = {};
    for (const metric of ['inserts', 'total_rows']) {
      rules[metric] = (await call('POST', '/anomaly_detection_rule', { pipeline_id: pipelineId, metric_field: metric })).body.id;
      await sql(
        `INSERT INTO anomaly_detection_result (pipeline_execution_id, rule_id, violation_value, z_score, historical_mean, std_deviation_value, z_threshold, threshold_min_value, threshold_max_value)
         VALUES ($1, $2, 100, 4, 10, 2, 3, 4, 16)`,
        [execution!.id, rules[metric]],
      );
    }

    const wrongPipeline = await call('POST', '/unflag_anomaly', { pipeline_id: other.body.id, pipeline_execution_id: execution!.id, metric_field: ['inserts'] });
    expect(wrongPipeline.status).toBe(404);
    expect(wrongPipeline.body.details[0].field).toBe('pipeline_execution_id');
    expect((await call('POST', '/unflag_anomaly', { pipeline_id: pipelineId, pipeline_execution_id: 99999999, metric_field: ['inserts'] })).status).toBe(404);
    expect((await call('POST', '/unflag_anomaly', { pipeline_id: pipelineId, pipeline_execution_id: execution!.id, metric_field: [] })).status).toBe(422);

    const unflag = await call('POST', '/unflag_anomaly', { pipeline_id: pipelineId, pipeline_execution_id: execution!.id, metric_field: ['Inserts'] });
    expect(unflag.status).toBe(204);
    expect((await sql('SELECT anomaly_flags FROM pipeline_execution WHERE id = $1', [execution!.id]))[0]).toEqual({ anomaly_flags: { inserts: false, total_rows: true } });
    const left = await sql<{ rule_id: number }>('SELECT rule_id FROM anomaly_detection_result WHERE pipeline_execution_id = $1', [execution!.id]);
    expect(left.map((r) => r.rule_id)).toEqual([rules.total_rows]);

    // repeated: harmless
    expect((await call('POST', '/unflag_anomaly', { pipeline_id: pipelineId, pipeline_execution_id: execution!.id, metric_field: ['inserts'] })).status).toBe(204);
  });
});

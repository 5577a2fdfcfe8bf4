// The metadata store against real Postgres: closures (roots included, three deep), idempotent
// re-recording, stable config hashes across processes, watermarks, and lineage closures that
// are right for diamonds and end on cycles.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/recording/records.js';
import { canonicalHash } from '../../src/store/canonical-json.js';
import { withTransaction } from '../../src/store/db.js';
import { ParentNotRecordedError, recordExecutions } from '../../src/store/executions.js';
import { syncLineage, type AddressSpec } from '../../src/store/lineage.js';
import { pipelineInputHash, setNextWatermark, syncPipelines, takeWatermark, type PipelineSpec } from '../../src/store/pipelines.js';
import { ancestorsOf, childrenOf, currentWatermark, descendantsOf, downstreamAddresses, executionByKey, lastSuccessPerPipeline, upstreamAddresses } from '../../src/store/queries.js';
import { migrate } from '../../src/store/migrate.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const T0 = '2026-03-01T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const record = (key: string, parentKey: string | undefined, extra: Partial<ExecutionRecord> = {}): ExecutionRecord => ({
  key,
  parentKey,
  pipeline: { name: `p_${key.split('/')[0]}`, type: 'test_type' },
  status: 'success',
  startDate: at(0),
  endDate: at(10),
  totalRows: 100,
  inserts: 100,
  ...extra,
});
const store = <T>(fn: Parameters<typeof withTransaction<T>>[1]) => withTransaction(db.pool, fn);
const closureOf = async (id: number) =>
  (await db.pool.query<{ parent_execution_id: number; child_execution_id: number; depth: number }>(
    'SELECT parent_execution_id, child_execution_id, depth FROM pipeline_execution_closure WHERE child_execution_id = $1 ORDER BY depth',
    [id],
  )).rows;

describe('migrations', () => {
  it('are versioned and idempotent', async () => {
    expect(await migrate(db.url)).toEqual([]); // already applied by createTestDatabase
    const applied = await db.pool.query<{ name: string }>('SELECT name FROM watcher_migrations ORDER BY id');
    expect(applied.rows.map((r) => r.name)).toEqual(['0001_metadata', '0002_recent_executions_index', '0003_api_tokens', '0004_alert_delivery']);
  });

  it('`watcher migrate --down 1 --yes` rolls back exactly the last one, and `watcher migrate` applies it again', async () => {
    const own = await createTestDatabase('migrate_down');
    try {
      const names = async () => (await own.pool.query<{ name: string }>('SELECT name FROM watcher_migrations ORDER BY id')).rows.map((r) => r.name);
      const before = await names();
      const cli = (...args: string[]) =>
        execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'watcher.js'), 'migrate', ...args], { env: { ...process.env, DATABASE_URL: own.url }, encoding: 'utf8' });
      expect(cli('--down', '1', '--yes')).toContain(before.at(-1));
      expect(await names()).toEqual(before.slice(0, -1));
      expect(cli()).toContain(before.at(-1));
      expect(await names()).toEqual(before);
    } finally {
      await own.drop();
    }
  });

  it('enforce the CHECK constraints', async () => {
    const { ids } = await store((c) => recordExecutions(c, [record('check-root', undefined)]));
    const id = ids.get('check-root')!;
    await expect(db.pool.query('UPDATE pipeline_execution SET end_date = start_date - interval \'1 second\' WHERE id = $1', [id])).rejects.toThrow(/execution_ends_after_start/);
    await expect(db.pool.query('UPDATE pipeline_execution SET parent_id = id WHERE id = $1', [id])).rejects.toThrow(/execution_not_own_parent/);
    await expect(db.pool.query('UPDATE pipeline_execution SET total_rows = -1 WHERE id = $1', [id])).rejects.toThrow(/total_rows_check/);
    await expect(db.pool.query('INSERT INTO pipeline_execution_closure VALUES ($1, $1, 1)', [id])).rejects.toThrow();
  });
});

describe('execution closure', () => {
  it('gives a root its self row, so its children are found', async () => {
    const { ids } = await store((c) => recordExecutions(c, [record('r1', undefined), record('r1/a', 'r1'), record('r1/b', 'r1')]));
    const root = ids.get('r1')!;
    expect(await closureOf(root)).toEqual([{ parent_execution_id: root, child_execution_id: root, depth: 0 }]);
    expect((await childrenOf(db.pool, root)).map((e) => e.execution_key).sort()).toEqual(['r1/a', 'r1/b']);
  });

  it('nests three deep: root, node, rerun', async () => {
    const { ids } = await store((c) =>
      recordExecutions(c, [record('r2', undefined), record('r2/node', 'r2', { status: 'error' }), record('r2/node/attempt:2', 'r2/node')]),
    );
    const [root, node, rerun] = ['r2', 'r2/node', 'r2/node/attempt:2'].map((k) => ids.get(k)!);
    expect(await closureOf(rerun!)).toEqual([
      { parent_execution_id: rerun, child_execution_id: rerun, depth: 0 },
      { parent_execution_id: node, child_execution_id: rerun, depth: 1 },
      { parent_execution_id: root, child_execution_id: rerun, depth: 2 },
    ]);
    // The etl-watcher guide's queries: depth = 1, depth > 0 from a parent, ancestors of a child.
    expect((await childrenOf(db.pool, root!)).map((e) => e.id)).toEqual([node]);
    expect((await descendantsOf(db.pool, root!)).map((e) => [e.id, e.depth])).toEqual([[node, 1], [rerun, 2]]);
    expect((await ancestorsOf(db.pool, rerun!)).map((e) => [e.id, e.depth])).toEqual([[node, 1], [root, 2]]);
  });

  it('records a batch whose children arrive before their parents', async () => {
    const { ids } = await store((c) => recordExecutions(c, [record('r3/x/attempt:2', 'r3/x'), record('r3/x', 'r3'), record('r3', undefined)]));
    expect((await descendantsOf(db.pool, ids.get('r3')!)).map((e) => e.depth)).toEqual([1, 2]);
  });

  it('refuses a child whose parent is not recorded yet (the caller retries)', async () => {
    await expect(store((c) => recordExecutions(c, [record('orphan', 'no-such-parent')]))).rejects.toBeInstanceOf(ParentNotRecordedError);
  });
});

describe('idempotent recording', () => {
  it('writes nothing when the same records come again (an activity retry)', async () => {
    const batch = [record('r4', undefined, { status: 'running', endDate: undefined }), record('r4/a', 'r4'), record('r4/b', 'r4', { status: 'fail' })];
    const first = await store((c) => recordExecutions(c, batch));
    expect(first.written).toBe(3);
    const count = async () => (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pipeline_execution WHERE execution_key LIKE 'r4%'")).rows[0]!.n;
    const closures = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_execution_closure')).rows[0]!.n;
    const before = await closures();
    const again = await store((c) => recordExecutions(c, batch));
    expect(again.written).toBe(0);
    expect(await count()).toBe(3);
    expect(await closures()).toBe(before);
    expect(again.ids).toEqual(first.ids);

    // The root's end is an update of the same row, and it never goes back to running.
    await store((c) => recordExecutions(c, [record('r4', undefined, { endDate: at(30) })]));
    await store((c) => recordExecutions(c, [record('r4', undefined, { status: 'running', endDate: undefined })]));
    const root = await executionByKey(db.pool, 'r4');
    expect(root).toMatchObject({ status: 'success', completed_successfully: true, duration_seconds: 30 });
  });
});

describe('pipelines as code', () => {
  const spec = (config: PipelineSpec['config']): PipelineSpec => ({ name: 'model.shop.hash_me', type: 'dbt_model', config });
  const xmin = async () => (await db.pool.query<{ xmin: string; updated_at: Date | null }>("SELECT xmin::text, updated_at FROM pipeline WHERE name = 'model.shop.hash_me'")).rows[0]!;

  it('writes a config once, and nothing when it is unchanged', async () => {
    const config = { freshness: { number: 1, datepart: 'day' as const }, owner: 'analytics', active: false };
    expect((await store((c) => syncPipelines(c, [spec(config)]))).written).toEqual(['model.shop.hash_me']);
    const before = await xmin();
    // Same config, keys in another order: same canonical hash, no write.
    const reordered = { active: false, owner: 'analytics', freshness: { datepart: 'day' as const, number: 1 } };
    expect((await store((c) => syncPipelines(c, [spec(reordered)]))).written).toEqual([]);
    expect(await xmin()).toEqual(before);
    // A changed config is written.
    expect((await store((c) => syncPipelines(c, [spec({ ...config, owner: 'finance' })]))).written).toEqual(['model.shop.hash_me']);
    const row = (await db.pool.query('SELECT active, freshness_number, freshness_datepart, pipeline_metadata, updated_at FROM pipeline WHERE name = $1', ['model.shop.hash_me'])).rows[0];
    expect(row).toMatchObject({ active: false, freshness_number: 1, freshness_datepart: 'day', pipeline_metadata: { owner: 'finance' } });
    expect(row.updated_at).not.toBeNull();
  });

  it('hashes the same in another process (no per-process salt)', () => {
    const config = { timeliness: { number: 30, datepart: 'minute' as const }, owner: 'ops', tier: 'gold' };
    const here = pipelineInputHash(spec(config));
    const code = `import('${path.join(PROJECT_ROOT, 'src/store/pipelines.ts')}').then((m) => process.stdout.write(m.pipelineInputHash(${JSON.stringify(spec(config))})))`;
    const there = execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', env: { ...process.env, TZ: 'Asia/Tokyo', LANG: 'C' } });
    expect(there).toBe(here);
    expect(here).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalHash({ b: 1, a: [2, { d: 3, c: undefined }] })).toBe(canonicalHash({ a: [2, { d: 3 }], b: 1 }));
  });
});

describe('watermarks', () => {
  it("promotes next_watermark with a successful end, atomically, never on failure", async () => {
    const pipeline = { name: 'dbt:wm', type: 'dbt_build' };
    const { ids } = await store((c) => syncPipelines(c, [{ ...pipeline }]));
    const pid = ids.get('dbt:wm')!;
    // Readable before a run, and returned when the next one is set.
    expect(await currentWatermark(db.pool, 'dbt:wm')).toBeNull();
    expect(await store((c) => setNextWatermark(c, pid, '2026-01-01'))).toBeNull();
    // Each build's execution carries the range it asked for (recordBuildStart writes it).
    await store((c) => recordExecutions(c, [{ ...record('wm1', undefined), pipeline, nextWatermark: '2026-01-01', status: 'error', promoteWatermark: true }]));
    expect(await currentWatermark(db.pool, 'dbt:wm')).toBeNull(); // failed: not promoted
    await store((c) => recordExecutions(c, [{ ...record('wm2', undefined), pipeline, nextWatermark: '2026-01-01', promoteWatermark: true }]));
    expect(await currentWatermark(db.pool, 'dbt:wm')).toBe('2026-01-01');

    // A runs (0102); B queues behind it and sets the pipeline's next_watermark (0103) before A ends.
    expect(await store((c) => setNextWatermark(c, pid, '2026-01-02'))).toBe('2026-01-01');
    await store((c) => recordExecutions(c, [{ ...record('wmA', undefined), pipeline, nextWatermark: '2026-01-02', endDate: undefined, status: 'running' }]));
    await store((c) => setNextWatermark(c, pid, '2026-01-03'));
    await store((c) => recordExecutions(c, [{ ...record('wmB', undefined), pipeline, nextWatermark: '2026-01-03', endDate: undefined, status: 'running' }]));
    await store((c) => recordExecutions(c, [{ ...record('wmA', undefined), pipeline, promoteWatermark: true }]));
    expect(await currentWatermark(db.pool, 'dbt:wm')).toBe('2026-01-02'); // A's own range, not B's
    await store((c) => recordExecutions(c, [{ ...record('wmB', undefined), pipeline, status: 'fail', promoteWatermark: true }]));
    expect(await currentWatermark(db.pool, 'dbt:wm')).toBe('2026-01-02'); // B failed: its range is not promoted
    // A later build that asked for no range promotes nothing (not B's failed one).
    await store((c) => recordExecutions(c, [{ ...record('wmC', undefined), pipeline, promoteWatermark: true }]));
    expect(await currentWatermark(db.pool, 'dbt:wm')).toBe('2026-01-02');
  });

  it("takes a queued build's watermark when it holds the lock: what was promoted meanwhile, recorded on its execution", async () => {
    const pipeline = { name: 'dbt:wm-take', type: 'dbt_build' };
    const { ids } = await store((c) => syncPipelines(c, [{ ...pipeline }]));
    // B starts (reads null, sets 0202) while A (0201) runs; A then succeeds and promotes 0201.
    await store((c) => recordExecutions(c, [{ ...record('takeA', undefined), pipeline, nextWatermark: '2026-02-01', endDate: undefined, status: 'running' }]));
    expect(await store((c) => setNextWatermark(c, ids.get(pipeline.name)!, '2026-02-02'))).toBeNull();
    await store((c) => recordExecutions(c, [{ ...record('takeB', undefined), pipeline, nextWatermark: '2026-02-02', endDate: undefined, status: 'running' }]));
    await store((c) => recordExecutions(c, [{ ...record('takeA', undefined), pipeline, promoteWatermark: true }]));
    expect(await store((c) => takeWatermark(c, 'takeB', '2026-02-02'))).toEqual({ watermark: '2026-02-01' });
    const rows = await db.pool.query('SELECT e.watermark, e.next_watermark, p.next_watermark AS pipeline_next FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id WHERE e.execution_key = $1', ['takeB']);
    expect(rows.rows).toEqual([{ watermark: '2026-02-01', next_watermark: '2026-02-02', pipeline_next: '2026-02-02' }]);
    expect(await store((c) => takeWatermark(c, 'no-such-execution', '2026-02-02'))).toBeUndefined();
  });

  it('stamps last_target_* only for counts above zero, on success', async () => {
    const pipeline = { name: 'model.stamps', type: 'dbt_model' };
    await store((c) => recordExecutions(c, [{ ...record('st1', undefined), pipeline, inserts: 0, totalRows: 0, endDate: at(5) }]));
    let row = (await db.pool.query('SELECT last_target_insert FROM pipeline WHERE name = $1', [pipeline.name])).rows[0];
    expect(row.last_target_insert).toBeNull();
    await store((c) => recordExecutions(c, [{ ...record('st2', undefined), pipeline, inserts: 7, totalRows: 7, endDate: at(9) }]));
    row = (await db.pool.query('SELECT last_target_insert FROM pipeline WHERE name = $1', [pipeline.name])).rows[0];
    expect(row.last_target_insert.toISOString()).toBe(at(9));
    const last = await lastSuccessPerPipeline(db.pool, [pipeline.name]);
    expect(last).toHaveLength(1);
    expect(last[0]!.end_date.toISOString()).toBe(at(9));
  });
});

describe('lineage closure', () => {
  const a = (name: string): AddressSpec => ({ name, type: 'relation' });
  const lineage = (pipelineName: string, sources: string[], target: string) => ({ pipelineName, pipelineType: 'dbt_model', sources: sources.map(a), targets: [a(target)] });

  it('holds one row per reachable pair in a diamond, with the shortest path', async () => {
    // d.src -> d.left -> d.sink, d.src -> d.right -> d.sink
    await store((c) => syncLineage(c, [lineage('p.left', ['d.src'], 'd.left'), lineage('p.right', ['d.src'], 'd.right'), lineage('p.sink', ['d.left', 'd.right'], 'd.sink')]));
    const down = await downstreamAddresses(db.pool, 'd.src');
    expect(down.map((r) => [r.address, r.depth])).toEqual([['d.left', 1], ['d.right', 1], ['d.sink', 2]]);
    const sink = down.find((r) => r.address === 'd.sink')!;
    expect(sink.path).toHaveLength(3);
    expect(sink.path[0]).toBe('d.src');
    expect(sink.path[2]).toBe('d.sink');
    expect((await upstreamAddresses(db.pool, 'd.sink')).map((r) => [r.address, r.depth])).toEqual([['d.left', 1], ['d.right', 1], ['d.src', 2]]);
  });

  it('terminates on a cycle and reaches everything on it', async () => {
    await store((c) => syncLineage(c, [lineage('p.c1', ['c.z'], 'c.x'), lineage('p.c2', ['c.x'], 'c.y'), lineage('p.c3', ['c.y'], 'c.z')]));
    const down = await downstreamAddresses(db.pool, 'c.x');
    // Each address once, at its shortest depth; the walk stops where it started.
    expect(down.map((r) => [r.address, r.depth])).toEqual([['c.y', 1], ['c.z', 2]]);
    expect((await upstreamAddresses(db.pool, 'c.x')).map((r) => r.address)).toEqual(['c.z', 'c.y']);
  });

  it('replaces a pipeline\'s edges when they change and recomputes the closure; unchanged lineage writes nothing', async () => {
    await store((c) => syncLineage(c, [lineage('p.m1', ['m.a'], 'm.b'), lineage('p.m2', ['m.b'], 'm.c')]));
    expect((await downstreamAddresses(db.pool, 'm.a')).map((r) => r.address)).toEqual(['m.b', 'm.c']);
    const unchanged = await store((c) => syncLineage(c, [lineage('p.m1', ['m.a'], 'm.b'), lineage('p.m2', ['m.b'], 'm.c')]));
    expect(unchanged.changedPipelines).toEqual([]);
    const changed = await store((c) => syncLineage(c, [lineage('p.m2', ['m.x'], 'm.c')]));
    expect(changed.changedPipelines).toEqual(['p.m2']);
    expect((await downstreamAddresses(db.pool, 'm.a')).map((r) => r.address)).toEqual(['m.b']);
    expect((await upstreamAddresses(db.pool, 'm.c')).map((r) => r.address)).toEqual(['m.x']);
  });
});

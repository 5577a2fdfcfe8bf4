// The checks and maintenance against real Postgres: freshness (stale, fresh, muted; once per
// DML value), timeliness (running, completed, failed ignored; once per execution), anomaly
// detection after a successful end, and log cleanup. Times are set in the data, no sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
/** The checks need write; log cleanup deletes data and needs admin. */
let token: string;
let admin: string;
beforeAll(async () => {
  api = await startTestApi();
  [token, admin] = await Promise.all([api.token('write'), api.token('admin')]);
});
afterAll(async () => api?.close());

const post = (path: string, body?: unknown, asToken = token) => api.call('POST', path, { token: asToken, body });
type Row = Record<string, unknown>;
const query = async <T = Row>(sql: string, params: unknown[] = []) => (await api.db.pool.query(sql, params)).rows as T[];
const one = async <T = Row>(sql: string, params: unknown[] = []) => (await query<T>(sql, params))[0]!;

const ago = (ms: number) => new Date(Date.now() - ms);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

interface PipelineOptions {
  type?: string;
  freshness?: [number, string];
  timeliness?: [number, string];
  muteFreshness?: boolean;
  muteTimeliness?: boolean;
  lastInsert?: Date;
  lastUpdate?: Date;
}

let names = 0;
async function newPipeline(o: PipelineOptions = {}): Promise<number> {
  const type = await one<{ id: number }>(`INSERT INTO pipeline_type (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`, [o.type ?? 'plain']);
  const row = await one<{ id: number }>(
    `INSERT INTO pipeline (name, pipeline_type_id, freshness_number, freshness_datepart, timeliness_number, timeliness_datepart,
                           mute_freshness_check, mute_timeliness_check, last_target_insert, last_target_update)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [`check_pipeline_${++names}`, type.id, o.freshness?.[0] ?? null, o.freshness?.[1] ?? null, o.timeliness?.[0] ?? null, o.timeliness?.[1] ?? null,
      o.muteFreshness ?? false, o.muteTimeliness ?? false, o.lastInsert ?? null, o.lastUpdate ?? null],
  );
  return row.id;
}

async function start(pipelineId: number, startDate: Date, extra: Record<string, unknown> = {}): Promise<number> {
  const r = await post('/start_pipeline_execution', { pipeline_id: pipelineId, start_date: startDate.toISOString(), ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as number;
}

async function end(id: number, endDate: Date, ok: boolean, counts: Record<string, number> = {}): Promise<void> {
  const r = await post('/end_pipeline_execution', { id, end_date: endDate.toISOString(), completed_successfully: ok, ...counts });
  expect(r.status, JSON.stringify(r.body)).toBe(204);
}

describe('freshness', () => {
  it('logs and reports stale pipelines once per DML value; fresh, muted and unconfigured ones are not', async () => {
    await query(`INSERT INTO pipeline_type (name, freshness_number, freshness_datepart) VALUES ('fresh_typed', 1, 'hour'), ('fresh_muted', 1, 'hour')`);
    await query(`UPDATE pipeline_type SET mute_freshness_check = true WHERE name = 'fresh_muted'`);
    const stale = await newPipeline({ freshness: [1, 'hour'], lastInsert: ago(3 * HOUR), lastUpdate: ago(2 * HOUR) });
    const staleByType = await newPipeline({ type: 'fresh_typed', lastInsert: ago(2 * HOUR) });
    const fresh = await newPipeline({ freshness: [1, 'day'], lastInsert: ago(2 * HOUR) });
    const mutedOwn = await newPipeline({ freshness: [1, 'minute'], muteFreshness: true, lastInsert: ago(DAY) });
    const mutedType = await newPipeline({ type: 'fresh_muted', lastInsert: ago(DAY) });
    const unconfigured = await newPipeline({ lastInsert: ago(30 * DAY) });
    const neverWrote = await newPipeline({ freshness: [1, 'minute'] });
    // calendar arithmetic: 1 month after 40 days ago is stale
    const monthly = await newPipeline({ freshness: [1, 'month'], lastInsert: ago(40 * DAY) });

    const first = await post('/freshness');
    expect(first.status).toBe(200);
    const alerted = first.body.new_alerts.map((a: { pipeline_id: number }) => a.pipeline_id).sort((x: number, y: number) => x - y);
    expect(alerted).toEqual([stale, staleByType, monthly]);
    for (const quiet of [fresh, mutedOwn, mutedType, unconfigured, neverWrote]) expect(alerted).not.toContain(quiet);
    const own = first.body.new_alerts.find((a: { pipeline_id: number }) => a.pipeline_id === stale);
    // last_dml is the latest of the last_target_* times
    const update = await one<{ t: Date }>('SELECT last_target_update AS t FROM pipeline WHERE id = $1', [stale]);
    expect(own).toMatchObject({ freshness_number: 1, freshness_datepart: 'hour', used_child_config: true, last_dml_timestamp: update.t.toISOString() });
    expect(first.body.new_alerts.find((a: { pipeline_id: number }) => a.pipeline_id === staleByType).used_child_config).toBe(false);

    const logged = await query('SELECT pipeline_id, used_child_config FROM freshness_pipeline_log ORDER BY pipeline_id');
    expect(logged.map((r) => r.pipeline_id)).toEqual([stale, staleByType, monthly]);

    // again: still stale, but the same DML values are not new
    const second = await post('/freshness', {});
    expect(second.status).toBe(200);
    expect(second.body.new_alerts).toEqual([]);
    expect(second.body.stale).toBe(first.body.stale);
    expect((await query('SELECT 1 FROM freshness_pipeline_log')).length).toBe(3);

    // a newer DML value that is stale again alerts once more
    await query('UPDATE pipeline SET last_target_insert = $2 WHERE id = $1', [staleByType, ago(90 * MIN)]);
    const third = await post('/freshness');
    expect(third.body.new_alerts.map((a: { pipeline_id: number }) => a.pipeline_id)).toEqual([staleByType]);
    expect((await query('SELECT 1 FROM freshness_pipeline_log WHERE pipeline_id = $1', [staleByType])).length).toBe(2);
  });

  it('rejects a body with unknown fields', async () => {
    const r = await post('/freshness', { now: 'later' });
    expect(r.status).toBe(422);
    expect(r.body.details[0].field).toBe('body.now');
  });
});

describe('timeliness', () => {
  it('logs late running and late completed executions once; ignores failed, on-time, muted and old ones', async () => {
    const p = await newPipeline({ timeliness: [30, 'minute'] });
    const muted = await newPipeline({ timeliness: [1, 'minute'], muteTimeliness: true });
    const running = await start(p, ago(40 * MIN));
    const completedLate = await start(p, ago(50 * MIN));
    await end(completedLate, ago(5 * MIN), true);
    const failedLate = await start(p, ago(55 * MIN));
    await end(failedLate, ago(2 * MIN), false);
    const onTime = await start(p, ago(45 * MIN));
    await end(onTime, ago(30 * MIN), true);
    const runningOnTime = await start(p, ago(10 * MIN));
    const old = await start(p, ago(3 * HOUR));
    const mutedLate = await start(muted, ago(20 * MIN));

    const first = await post('/timeliness', { lookback_minutes: 60 });
    expect(first.status).toBe(200);
    const found = Object.fromEntries(first.body.new_alerts.map((a: { pipeline_execution_id: number; execution_status: string }) => [a.pipeline_execution_id, a.execution_status]));
    expect(found).toEqual({ [running]: 'running', [completedLate]: 'completed' });
    for (const quiet of [failedLate, onTime, runningOnTime, old, mutedLate]) expect(found[quiet]).toBeUndefined();

    const rows = await query('SELECT pipeline_execution_id, execution_status, seconds_threshold, duration_seconds, timely_number, timely_datepart, used_child_config FROM timeliness_pipeline_execution_log ORDER BY pipeline_execution_id');
    expect(rows).toEqual([
      { pipeline_execution_id: running, execution_status: 'running', seconds_threshold: 1800, duration_seconds: expect.any(Number), timely_number: 30, timely_datepart: 'minute', used_child_config: true },
      { pipeline_execution_id: completedLate, execution_status: 'completed', seconds_threshold: 1800, duration_seconds: expect.closeTo(2700, 0), timely_number: 30, timely_datepart: 'minute', used_child_config: true },
    ]);
    expect(rows[0]!.duration_seconds).toBeGreaterThanOrEqual(2400);

    // the running one ends late: still logged once
    await end(running, new Date(), true);
    const second = await post('/timeliness');
    expect(second.status).toBe(200);
    expect(second.body.lookback_minutes).toBe(60);
    expect(second.body.new_alerts).toEqual([]);
    expect((await query('SELECT 1 FROM timeliness_pipeline_execution_log')).length).toBe(2);

    // a lookback of 4 hours reaches the old (still running) execution
    const wide = await post('/timeliness', { lookback_minutes: 240 });
    expect(wide.body.new_alerts.map((a: { pipeline_execution_id: number }) => a.pipeline_execution_id)).toEqual([old]);
  });

  it('rejects a lookback under 5 minutes naming it', async () => {
    const r = await post('/timeliness', { lookback_minutes: 4 });
    expect(r.status).toBe(422);
    expect(r.body.details[0].field).toBe('body.lookback_minutes');
  });
});

describe('anomaly detection', () => {
  // Baseline executions at 03:05 UTC on past days: same start hour, ended within the lookback.
  const atThree = (daysAgo: number) => {
    const d = new Date(Date.now() - daysAgo * DAY);
    d.setUTCHours(3, 5, 0, 0);
    return d;
  };
  async function run(pipelineId: number, daysAgo: number, totalRows: number): Promise<number> {
    const s = atThree(daysAgo);
    const id = await start(pipelineId, s);
    await end(id, new Date(s.getTime() + 10 * MIN), true, { total_rows: totalRows });
    return id;
  }
  async function withRule(minimum = 5): Promise<{ pipeline: number; rule: number }> {
    const pipeline = await newPipeline();
    const rule = await one<{ id: number }>(
      `INSERT INTO anomaly_detection_rule (pipeline_id, metric_field, z_threshold, lookback_days, minimum_executions) VALUES ($1, 'total_rows', 2, 30, $2) RETURNING id`,
      [pipeline, minimum],
    );
    return { pipeline, rule: rule.id };
  }
  const results = (executionId: number) => query('SELECT * FROM anomaly_detection_result WHERE pipeline_execution_id = $1', [executionId]);
  const flags = async (executionId: number) => (await one('SELECT anomaly_flags FROM pipeline_execution WHERE id = $1', [executionId])).anomaly_flags;

  it('flags values above and below the band, with a correct context; a normal value is not flagged', async () => {
    const { pipeline, rule } = await withRule();
    for (const [daysAgo, rows] of [[2, 90], [3, 95], [4, 100], [5, 105], [6, 110]] as const) await run(pipeline, daysAgo, rows);
    const sd = Math.sqrt(62.5);

    const above = await run(pipeline, 1, 200);
    const high = (await results(above))[0]!;
    expect(high).toMatchObject({ rule_id: rule, violation_value: 200, historical_mean: 100, z_threshold: 2, threshold_min_value: expect.closeTo(100 - 2 * sd, 6), threshold_max_value: expect.closeTo(100 + 2 * sd, 6) });
    expect(high.std_deviation_value).toBeCloseTo(sd, 6);
    expect(high.z_score).toBeCloseTo(100 / sd, 6);
    expect(high.context).toMatchObject({ execution_count: 5, lookback_days: 30, metric: 'total_rows' });
    expect(await flags(above)).toEqual({ total_rows: true });

    // the flagged one stays out of the baseline: still mean 100 over 5 executions
    const below = await run(pipeline, 7, 10);
    const low = (await results(below))[0]!;
    expect(low).toMatchObject({ violation_value: 10, historical_mean: 100, context: expect.objectContaining({ execution_count: 5 }) });
    expect(low.z_score).toBeLessThan(-2);

    const normal = await run(pipeline, 8, 101);
    expect(await results(normal)).toEqual([]);
    expect(await flags(normal)).toBeNull();

    // a repeated identical end writes no second result
    const s = atThree(1);
    await end(above, new Date(s.getTime() + 10 * MIN), true, { total_rows: 200 });
    expect((await results(above)).length).toBe(1);
  });

  it('skips a rule when the baseline has no variance or too few executions, and ignores failed ends', async () => {
    const flat = await withRule();
    for (const daysAgo of [2, 3, 4, 5, 6]) await run(flat.pipeline, daysAgo, 100);
    const afterFlat = await run(flat.pipeline, 1, 10_000);
    expect(await results(afterFlat)).toEqual([]);

    const few = await withRule(5);
    for (const [daysAgo, rows] of [[2, 90], [3, 100], [4, 110], [5, 95]] as const) await run(few.pipeline, daysAgo, rows);
    const afterFew = await run(few.pipeline, 1, 10_000);
    expect(await results(afterFew)).toEqual([]);

    // a fifth baseline value makes the next one detectable (the same rule, so the skip above was the count)
    await run(few.pipeline, 6, 105);
    const detected = await run(few.pipeline, 7, 10_000);
    expect((await results(detected)).length).toBe(1);

    const failed = await start(few.pipeline, atThree(8));
    await end(failed, new Date(atThree(8).getTime() + MIN), false, { total_rows: 1_000_000 });
    expect(await results(failed)).toEqual([]);
  });
});

describe('log cleanup', () => {
  it('deletes old ended trees with their logs in batches; keeps recent ones and trees with a running execution', async () => {
    const p = await newPipeline({ timeliness: [1, 'minute'] });
    // an old ended tree: root + child, with a timeliness log and an anomaly result
    const oldRoot = await start(p, ago(200 * DAY));
    const oldChild = await start(p, ago(200 * DAY - MIN), { parent_id: oldRoot });
    await end(oldChild, ago(200 * DAY - 2 * MIN), true);
    await end(oldRoot, ago(200 * DAY - 3 * MIN), true);
    const rule = await one<{ id: number }>(`INSERT INTO anomaly_detection_rule (pipeline_id, metric_field) VALUES ($1, 'inserts') RETURNING id`, [p]);
    await query(
      `INSERT INTO anomaly_detection_result (pipeline_execution_id, rule_id, violation_value, z_score, historical_mean, std_deviation_value, z_threshold, threshold_min_value, threshold_max_value)
       VALUES ($1, $2, 1, 1, 1, 1, 3, 0, 2)`,
      [oldChild, rule.id],
    );
    await query(
      `INSERT INTO timeliness_pipeline_execution_log (pipeline_execution_id, pipeline_id, duration_seconds, seconds_threshold, execution_status, timely_number, timely_datepart, used_child_config)
       VALUES ($1, $2, 180, 60, 'completed', 1, 'minute', true)`,
      [oldRoot, p],
    );
    // an old root whose child is still running: the whole tree stays
    const busyRoot = await start(p, ago(300 * DAY));
    await end(busyRoot, ago(299 * DAY), true);
    const busyChild = await start(p, ago(300 * DAY - MIN), { parent_id: busyRoot });
    // an old root with a recent child: stays whole
    const spanningRoot = await start(p, ago(120 * DAY));
    const recentChild = await start(p, ago(DAY), { parent_id: spanningRoot });
    await end(recentChild, ago(DAY - MIN), true);
    await end(spanningRoot, ago(DAY - 2 * MIN), true);
    // recent: stays
    const recent = await start(p, ago(10 * DAY));
    await end(recent, ago(10 * DAY - MIN), true);
    // freshness logs: an old one goes, a recent one and the current DML value's stay
    const currentDml = ago(500 * DAY);
    const f = await newPipeline({ lastInsert: currentDml });
    await query(
      `INSERT INTO freshness_pipeline_log (pipeline_id, last_dml_timestamp, evaluation_timestamp, freshness_number, freshness_datepart, used_child_config)
       VALUES ($1, $2, $3, 1, 'day', true), ($1, $4, $3, 1, 'day', true), ($1, $5, $5, 1, 'day', true)`,
      [f, ago(600 * DAY), ago(400 * DAY), currentDml, ago(DAY)],
    );

    // the alert ledger: settled rows tried before the cutoff go; a pending one and a recent one stay
    const alertKey = `cleanup-test:${p}`;
    await query(
      `INSERT INTO alert_delivery (channel, idempotency_key, kind, status, first_attempt_at, last_attempt_at)
       VALUES ('log', $1 || ':old', 'anomaly', 'delivered', $2, $2), ('log', $1 || ':refused', 'anomaly', 'failed', $2, $2),
              ('log', $1 || ':pending', 'anomaly', 'retrying', $2, $2), ('log', $1 || ':recent', 'anomaly', 'delivered', $3, $3)`,
      [alertKey, ago(200 * DAY), ago(DAY)],
    );

    const tooShort = await post('/log_cleanup', { retention_days: 89 }, admin);
    expect(tooShort.status).toBe(422);
    expect(tooShort.body.details[0].field).toBe('body.retention_days');
    expect((await post('/log_cleanup', { retention_days: 90 })).status).toBe(403); // a write token is not enough

    const r = await post('/log_cleanup', { retention_days: 90, batch_size: 1 }, admin);
    expect(r.status).toBe(200);
    expect(r.body.deleted).toEqual({
      freshness_pipeline_log: 1,
      timeliness_pipeline_execution_log: 1,
      anomaly_detection_result: 1,
      pipeline_execution_closure: 3,
      pipeline_execution: 2,
      alert_delivery: 2,
    });
    const ledger = await query<{ idempotency_key: string }>('SELECT idempotency_key FROM alert_delivery WHERE idempotency_key LIKE $1 ORDER BY 1', [`${alertKey}:%`]);
    expect(ledger.map((r) => r.idempotency_key)).toEqual([`${alertKey}:pending`, `${alertKey}:recent`]);
    const left = (await query<{ id: number }>('SELECT id FROM pipeline_execution WHERE pipeline_id = $1 ORDER BY id', [p])).map((e) => e.id);
    expect(left).toEqual([busyRoot, busyChild, spanningRoot, recentChild, recent].sort((a, b) => a - b));
    expect(await query('SELECT 1 FROM pipeline_execution_closure WHERE $1 IN (parent_execution_id, child_execution_id) OR $2 IN (parent_execution_id, child_execution_id)', [oldRoot, oldChild])).toEqual([]);
    expect((await query('SELECT 1 FROM pipeline_execution_closure WHERE parent_execution_id = $1 AND child_execution_id = $2', [busyRoot, busyChild])).length).toBe(1);
    expect((await query('SELECT 1 FROM freshness_pipeline_log WHERE pipeline_id = $1', [f])).length).toBe(2);

    const again = await post('/log_cleanup', { retention_days: 90 }, admin);
    expect(Object.values(again.body.deleted).every((n) => n === 0)).toBe(true);
  });
});

// Pipelines as code: one per build definition and one per dbt node, typed, with their config
// synced by a stable hash (SHA-256 of canonical JSON): an unchanged config writes nothing.
import type { NodeConfig } from '../contracts/node-config.js';
import { booleanFromEnv } from '../config.js';
import { canonicalHash } from './canonical-json.js';
import type { Pool, PoolClient } from './db.js';

export interface PipelineSpec {
  name: string;
  /** pipeline_type name, e.g. `dbt_model`, `dbt_build`. */
  type: string;
  /** Settings as code; undefined = only make sure the pipeline exists. */
  config?: NodeConfig;
}

const KNOWN_KEYS = new Set(['freshness', 'timeliness', 'mute_freshness_check', 'mute_timeliness_check', 'active']);

/** The columns a config sets, and the metadata it keeps (everything else, owner included). */
export function pipelineColumns(config: NodeConfig) {
  const metadata = Object.fromEntries(Object.entries(config).filter(([k, v]) => !KNOWN_KEYS.has(k) && v !== undefined));
  return {
    freshness_number: config.freshness?.number ?? null,
    freshness_datepart: config.freshness?.datepart ?? null,
    timeliness_number: config.timeliness?.number ?? null,
    timeliness_datepart: config.timeliness?.datepart ?? null,
    mute_freshness_check: config.mute_freshness_check ?? false,
    mute_timeliness_check: config.mute_timeliness_check ?? false,
    active: config.active ?? true,
    pipeline_metadata: Object.keys(metadata).length ? metadata : null,
  };
}

/** The hash of what a spec sets: type and config, never the name or watermarks. */
export function pipelineInputHash(spec: PipelineSpec): string {
  return canonicalHash({ type: spec.type, config: spec.config ? pipelineColumns(spec.config) : null });
}

export interface SyncResult {
  ids: Map<string, number>;
  /** Pipelines inserted or whose config changed (rows written). */
  written: string[];
}

async function ensureTypes(client: PoolClient, types: string[]): Promise<Map<string, number>> {
  const unique = [...new Set(types)];
  await client.query('INSERT INTO pipeline_type (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [unique]);
  const rows = await client.query<{ id: number; name: string }>('SELECT id, name FROM pipeline_type WHERE name = ANY($1::text[])', [unique]);
  return new Map(rows.rows.map((r) => [r.name, r.id]));
}

/**
 * Upsert pipelines in one statement. A spec with a config rewrites the row only when its
 * hash changed; a spec without one only creates a missing pipeline.
 */
export async function syncPipelines(client: PoolClient, specs: PipelineSpec[]): Promise<SyncResult> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const unique = [...byName.values()];
  if (unique.length === 0) return { ids: new Map(), written: [] };
  const typeIds = await ensureTypes(client, unique.map((s) => s.type));

  const withConfig = unique.filter((s) => s.config);
  const withoutConfig = unique.filter((s) => !s.config);
  const written: string[] = [];
  if (withConfig.length) {
    const cols = withConfig.map((s) => pipelineColumns(s.config!));
    const result = await client.query<{ name: string }>(
      `INSERT INTO pipeline AS p (name, pipeline_type_id, freshness_number, freshness_datepart, timeliness_number, timeliness_datepart,
                                  mute_freshness_check, mute_timeliness_check, active, pipeline_metadata, input_hash)
       SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::datepart[], $5::int[], $6::datepart[], $7::bool[], $8::bool[], $9::bool[], $10::jsonb[], $11::text[])
       ON CONFLICT (name) DO UPDATE SET
         pipeline_type_id = EXCLUDED.pipeline_type_id,
         freshness_number = EXCLUDED.freshness_number, freshness_datepart = EXCLUDED.freshness_datepart,
         timeliness_number = EXCLUDED.timeliness_number, timeliness_datepart = EXCLUDED.timeliness_datepart,
         mute_freshness_check = EXCLUDED.mute_freshness_check, mute_timeliness_check = EXCLUDED.mute_timeliness_check,
         active = EXCLUDED.active, pipeline_metadata = EXCLUDED.pipeline_metadata,
         input_hash = EXCLUDED.input_hash, updated_at = now()
       WHERE p.input_hash IS DISTINCT FROM EXCLUDED.input_hash
       RETURNING p.name`,
      [
        withConfig.map((s) => s.name),
        withConfig.map((s) => typeIds.get(s.type)!),
        cols.map((c) => c.freshness_number),
        cols.map((c) => c.freshness_datepart),
        cols.map((c) => c.timeliness_number),
        cols.map((c) => c.timeliness_datepart),
        cols.map((c) => c.mute_freshness_check),
        cols.map((c) => c.mute_timeliness_check),
        cols.map((c) => c.active),
        cols.map((c) => (c.pipeline_metadata ? JSON.stringify(c.pipeline_metadata) : null)),
        withConfig.map((s) => pipelineInputHash(s)),
      ],
    );
    written.push(...result.rows.map((r) => r.name));
  }
  if (withoutConfig.length) {
    const result = await client.query<{ name: string }>(
      `INSERT INTO pipeline (name, pipeline_type_id)
       SELECT * FROM unnest($1::text[], $2::int[])
       ON CONFLICT (name) DO NOTHING
       RETURNING name`,
      [withoutConfig.map((s) => s.name), withoutConfig.map((s) => typeIds.get(s.type)!)],
    );
    written.push(...result.rows.map((r) => r.name));
  }
  const rows = await client.query<{ id: number; name: string }>('SELECT id, name FROM pipeline WHERE name = ANY($1::text[])', [unique.map((s) => s.name)]);
  return { ids: new Map(rows.rows.map((r) => [r.name, r.id])), written };
}

/** Store a build pipeline's next watermark and read its current one (readable before a run). */
export async function setNextWatermark(client: PoolClient, pipelineId: number, nextWatermark: string | undefined): Promise<string | null> {
  const result = nextWatermark !== undefined
    ? await client.query<{ watermark: string | null }>('UPDATE pipeline SET next_watermark = $2 WHERE id = $1 RETURNING watermark', [pipelineId, nextWatermark])
    : await client.query<{ watermark: string | null }>('SELECT watermark FROM pipeline WHERE id = $1', [pipelineId]);
  return result.rows[0]?.watermark ?? null;
}

/**
 * Once a build holds its target lock (the build before it has promoted its range by then): the
 * pipeline's watermark now, recorded on the build's own execution as the start of the range it
 * processes; the pipeline's next_watermark becomes the build's again (a build queued meanwhile
 * may have set its own). Undefined when the execution is not recorded.
 */
export async function takeWatermark(client: PoolClient, executionKey: string, nextWatermark: string): Promise<{ watermark: string | null } | undefined> {
  const pipeline = await client.query<{ watermark: string | null }>(
    `UPDATE pipeline p SET next_watermark = $2
     FROM pipeline_execution e
     WHERE e.execution_key = $1 AND p.id = e.pipeline_id
     RETURNING p.watermark`,
    [executionKey, nextWatermark],
  );
  const row = pipeline.rows[0];
  if (!row) return undefined;
  await client.query('UPDATE pipeline_execution SET watermark = $2 WHERE execution_key = $1', [executionKey, row.watermark]);
  return { watermark: row.watermark };
}

/**
 * The metrics each dbt node pipeline gets an anomaly rule for when a build syncs it (with the
 * table's defaults, etl-watcher's: z 3, 30 days of lookback, at least 30 executions).
 */
export const DBT_DEFAULT_ANOMALY_METRICS = ['duration_seconds', 'total_rows', 'throughput'] as const;

/** WATCHER_DBT_DEFAULT_ANOMALY_RULES: on unless `false` (or 0/no/off); anything else is refused, naming the variable. */
export function dbtDefaultAnomalyRules(env: NodeJS.ProcessEnv = process.env): boolean {
  return booleanFromEnv('WATCHER_DBT_DEFAULT_ANOMALY_RULES', true, env);
}

/**
 * Give these pipelines a rule (the table's defaults) for each metric they have none for. Never
 * changes an existing rule, a user's included (inactive ones stay inactive). Returns how many
 * rules were created.
 */
export async function createDefaultAnomalyRules(client: Pool | PoolClient, pipelineIds: readonly number[], metrics: readonly string[]): Promise<number> {
  if (pipelineIds.length === 0 || metrics.length === 0) return 0;
  // NOT EXISTS first, so an existing rule does not even draw an id from the identity sequence.
  const result = await client.query(
    `INSERT INTO anomaly_detection_rule (pipeline_id, metric_field)
     SELECT p.id, m.metric
     FROM unnest($1::int[]) AS p(id) CROSS JOIN unnest($2::anomaly_metric[]) AS m(metric)
     WHERE NOT EXISTS (SELECT 1 FROM anomaly_detection_rule r WHERE r.pipeline_id = p.id AND r.metric_field = m.metric)
     ON CONFLICT (pipeline_id, metric_field) DO NOTHING`,
    [[...new Set(pipelineIds)], metrics],
  );
  return result.rowCount ?? 0;
}

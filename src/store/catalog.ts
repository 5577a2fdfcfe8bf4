// etl-watcher's catalog: pipelines, pipeline types, address types, addresses, lineage,
// anomaly rules, as the HTTP API reads and writes them. Get-or-create by name (created or
// found), change detection by a stable hash, partial updates from a column whitelist.
//
// Two writers share the pipeline rows: dbt builds (pipelines.ts syncPipelines, hash of
// {type, config}) and the API (pipelineRequestHash below, hash of {api: 'pipeline', ...the
// fields the request set}). The shapes differ, so one writer's hash never matches the
// other's: a pipeline written last by a build and then synced by the SDK is rewritten
// once, and unchanged requests from the same writer write nothing.
import type { Datepart } from '../contracts/node-config.js';
import { booleanFromEnv } from '../config.js';
import { canonicalHash } from './canonical-json.js';
import { withTransaction, type Pool, type PoolClient } from './db.js';
import { syncLineage } from './lineage.js';
import { createDefaultAnomalyRules } from './pipelines.js';

export const ANOMALY_METRICS = ['duration_seconds', 'inserts', 'updates', 'soft_deletes', 'total_rows', 'throughput'] as const;
export type AnomalyMetric = (typeof ANOMALY_METRICS)[number];

type Queryable = Pool | PoolClient;
type Row = Record<string, unknown>;

/** A problem with one request field, for a 4xx that names it. */
export class CatalogError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict' | 'invalid',
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'CatalogError';
  }
}

// ---------------------------------------------------------------- pure decisions

/**
 * A number/datepart pair must be set together: both null (or absent) or both given. With
 * `keysTogether` (a PATCH) sending one key without the other is also refused, since it
 * would leave the stored pair half-changed. Returns the field to blame, or undefined.
 */
export function pairProblem(
  prefix: 'freshness' | 'timeliness',
  input: Record<string, unknown>,
  keysTogether = false,
): { field: string; message: string } | undefined {
  const numberKey = `${prefix}_number`;
  const datepartKey = `${prefix}_datepart`;
  const n = input[numberKey];
  const d = input[datepartKey];
  if (keysTogether && (n === undefined) !== (d === undefined)) {
    const missing = n === undefined ? numberKey : datepartKey;
    return { field: missing, message: `send ${numberKey} and ${datepartKey} together` };
  }
  if ((n ?? null) === null && (d ?? null) !== null) return { field: numberKey, message: `required when ${datepartKey} is set` };
  if ((n ?? null) !== null && (d ?? null) === null) return { field: datepartKey, message: `required when ${numberKey} is set` };
  return undefined;
}

/** etl-watcher's rule: an address of the `database` group named `a.b.c` is database a, schema b, table c. */
export function splitDatabaseAddress(name: string, groupName: string): { database_name: string; schema_name: string; table_name: string } | undefined {
  if (groupName !== 'database') return undefined;
  const parts = name.split('.');
  if (parts.length !== 3) return undefined;
  return { database_name: parts[0]!, schema_name: parts[1]!, table_name: parts[2]! };
}

export interface PipelineInput {
  name: string;
  pipeline_type_name: string;
  pipeline_metadata?: Record<string, unknown> | null;
  freshness_number?: number | null;
  freshness_datepart?: Datepart | null;
  timeliness_number?: number | null;
  timeliness_datepart?: Datepart | null;
  next_watermark?: string | null;
}

/** The config fields a POST /pipeline may set (name and type are handled on their own). */
const PIPELINE_CONFIG_FIELDS = ['pipeline_metadata', 'freshness_number', 'freshness_datepart', 'timeliness_number', 'timeliness_datepart'] as const;

/** SHA-256 of the fields the request set (null counts as set), next_watermark excluded. */
export function pipelineRequestHash(input: PipelineInput): string {
  const { next_watermark: _ignored, ...fields } = input;
  return canonicalHash({ api: 'pipeline', ...fields });
}

export interface AddressInput {
  name: string;
  address_type_name: string;
  address_type_group_name: string;
  database_name?: string | null;
  schema_name?: string | null;
  table_name?: string | null;
  primary_key?: string | null;
  address_metadata?: Record<string, unknown> | null;
}

export function addressRequestHash(input: AddressInput): string {
  return canonicalHash({ api: 'address', ...input });
}

/** `col = $n` for each defined value; column names come from the caller's whitelist, never from input keys. */
export function setClause(values: Record<string, unknown>, columns: readonly string[], firstParam: number): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  for (const column of columns) {
    const value = values[column];
    if (value === undefined) continue;
    params.push(value !== null && typeof value === 'object' ? JSON.stringify(value) : value);
    sql.push(`${column} = $${firstParam + params.length - 1}`);
  }
  return { sql, params };
}

// ---------------------------------------------------------------- records (as the API returns them)

type Stamp = string | null;

export interface PipelineTypeRecord {
  id: number;
  name: string;
  freshness_number: number | null;
  freshness_datepart: Datepart | null;
  timeliness_number: number | null;
  timeliness_datepart: Datepart | null;
  mute_freshness_check: boolean;
  mute_timeliness_check: boolean;
  created_at: string;
  updated_at: Stamp;
}

export interface PipelineRecord {
  id: number;
  name: string;
  pipeline_type_id: number;
  pipeline_type_name: string;
  watermark: string | null;
  next_watermark: string | null;
  pipeline_metadata: Record<string, unknown> | null;
  last_target_insert: Stamp;
  last_target_update: Stamp;
  last_target_soft_delete: Stamp;
  freshness_number: number | null;
  freshness_datepart: Datepart | null;
  timeliness_number: number | null;
  timeliness_datepart: Datepart | null;
  mute_freshness_check: boolean;
  mute_timeliness_check: boolean;
  load_lineage: boolean;
  active: boolean;
  input_hash: string | null;
  created_at: string;
  updated_at: Stamp;
}

export interface AddressTypeRecord {
  id: number;
  name: string;
  group_name: string;
  created_at: string;
}

export interface AddressRecord {
  id: number;
  name: string;
  address_type_id: number;
  address_type_name: string;
  address_type_group_name: string;
  database_name: string | null;
  schema_name: string | null;
  table_name: string | null;
  primary_key: string | null;
  address_metadata: Record<string, unknown> | null;
  input_hash: string | null;
  created_at: string;
  updated_at: Stamp;
}

export interface AnomalyRuleRecord {
  id: number;
  pipeline_id: number;
  metric_field: AnomalyMetric;
  z_threshold: number;
  lookback_days: number;
  minimum_executions: number;
  active: boolean;
  created_at: string;
  updated_at: Stamp;
}

// ---------------------------------------------------------------- shared helpers

const iso = (d: unknown): string | null => (d instanceof Date ? d.toISOString() : null);

/** A row with its timestamps as ISO strings (JSON has no dates). */
function withIsoDates<T>(row: Row, keys: readonly string[]): T {
  const out: Row = { ...row };
  for (const k of keys) out[k] = iso(row[k]);
  return out as T;
}

/** One page of rows of a SELECT. */
async function selectPage<T>(pool: Queryable, sql: string, params: unknown[], stamps: readonly string[]): Promise<T[]> {
  const rows = await pool.query<Row>(sql, params);
  return rows.rows.map((r) => withIsoDates<T>(r, stamps));
}

/** A table's reads: a page of rows by id, and one row by id. */
function reader<T>(select: string, idColumn: string, stamps: readonly string[]) {
  return {
    list: (pool: Queryable, page: Page) => selectPage<T>(pool, `${select} ORDER BY ${idColumn} LIMIT $1 OFFSET $2`, [page.limit, page.offset], stamps),
    get: async (pool: Queryable, id: number): Promise<T | undefined> => (await selectPage<T>(pool, `${select} WHERE ${idColumn} = $1`, [id], stamps))[0],
  };
}

/** Insert unless the unique key exists; then find the existing row. */
async function insertOrFind(client: Queryable, insert: { sql: string; params: unknown[] }, find: { sql: string; params: unknown[] }): Promise<{ id: number; created: boolean }> {
  const inserted = await client.query<{ id: number }>(insert.sql, insert.params);
  if (inserted.rows[0]) return { id: inserted.rows[0].id, created: true };
  const found = await client.query<{ id: number }>(find.sql, find.params);
  if (!found.rows[0]) throw new Error(`row vanished after a conflicting insert: ${find.sql}`);
  return { id: found.rows[0].id, created: false };
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === '23505';
}

export interface Page {
  limit: number;
  offset: number;
}

/** How a PATCH names its row: by id, or by its current name. */
export type RowRef = { id: number } | { name: string };

const describeRef = (what: string, ref: RowRef) => ('id' in ref ? `${what} ${ref.id}` : `${what} "${ref.name}"`);
const refField = (ref: RowRef) => ('id' in ref ? 'id' : 'name');

/** What a PATCH may change in one table, and how to read the row back. */
interface PatchTarget<T> {
  table: string;
  columns: readonly string[];
  read: (client: Queryable, id: number) => Promise<T | undefined>;
}

/** PATCH one row named by id or name: only the defined values, updated_at stamped; 404 when missing, 409 on a taken name. */
async function patchRow<T>(client: Queryable, target: PatchTarget<T>, ref: RowRef, values: Row, stamped = true): Promise<T> {
  const what = describeRef(target.table, ref);
  const sets = setClause(values, target.columns, 2);
  if (stamped) sets.sql.push('updated_at = now()');
  let id: number | undefined;
  try {
    const key = ['id' in ref ? ref.id : ref.name, ...sets.params];
    const where = `WHERE ${'id' in ref ? 'id' : 'name'} = $1`;
    // Nothing to change (an identity id cannot be SET to itself): only say whether the row exists.
    const result = sets.sql.length === 0
      ? await client.query<{ id: number }>(`SELECT id FROM ${target.table} ${where}`, key)
      : await client.query<{ id: number }>(`UPDATE ${target.table} SET ${sets.sql.join(', ')} ${where} RETURNING id`, key);
    id = result.rows[0]?.id;
  } catch (err) {
    if (isUniqueViolation(err)) throw new CatalogError('conflict', 'name', `${what}: name already taken by another ${target.table}`);
    throw err;
  }
  if (id === undefined) throw new CatalogError('not_found', refField(ref), `${what} not found`);
  return (await target.read(client, id))!;
}

// ---------------------------------------------------------------- pipeline types

export interface PipelineTypeInput {
  name: string;
  freshness_number?: number | null;
  freshness_datepart?: Datepart | null;
  timeliness_number?: number | null;
  timeliness_datepart?: Datepart | null;
  mute_freshness_check?: boolean;
  mute_timeliness_check?: boolean;
}

const PIPELINE_TYPE_COLUMNS = ['name', 'freshness_number', 'freshness_datepart', 'timeliness_number', 'timeliness_datepart', 'mute_freshness_check', 'mute_timeliness_check'] as const;

/** The type's id, created with only its name when missing. */
async function ensurePipelineType(client: Queryable, name: string): Promise<number> {
  return (await getOrCreatePipelineType(client, { name })).id;
}

/** etl-watcher: creates the type when missing; an existing type is returned unchanged. */
export async function getOrCreatePipelineType(client: Queryable, input: PipelineTypeInput): Promise<{ id: number; created: boolean }> {
  const values = { mute_freshness_check: false, mute_timeliness_check: false, ...input };
  return insertOrFind(
    client,
    {
      sql: `INSERT INTO pipeline_type (${PIPELINE_TYPE_COLUMNS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING id`,
      params: PIPELINE_TYPE_COLUMNS.map((c) => values[c] ?? null),
    },
    { sql: 'SELECT id FROM pipeline_type WHERE name = $1', params: [input.name] },
  );
}

const PIPELINE_TYPE_SELECT = `SELECT id, name, freshness_number, freshness_datepart, timeliness_number, timeliness_datepart,
  mute_freshness_check, mute_timeliness_check, created_at, updated_at FROM pipeline_type`;
const STAMPS = ['created_at', 'updated_at'] as const;

const pipelineTypesReader = reader<PipelineTypeRecord>(PIPELINE_TYPE_SELECT, 'id', STAMPS);
export const listPipelineTypes = pipelineTypesReader.list;
export const getPipelineType = pipelineTypesReader.get;

export async function patchPipelineType(pool: Pool, ref: RowRef, changes: Partial<PipelineTypeInput>): Promise<PipelineTypeRecord> {
  return patchRow(pool, { table: 'pipeline_type', columns: PIPELINE_TYPE_COLUMNS, read: getPipelineType }, ref, changes);
}

// ---------------------------------------------------------------- pipelines

export interface PipelineSummary {
  id: number;
  active: boolean;
  load_lineage: boolean;
  watermark: string | null;
}

/** Whether a new pipeline gets the 6 default anomaly rules (etl-watcher's setting of the same name). */
export function autoCreateAnomalyRules(env: NodeJS.ProcessEnv = process.env): boolean {
  return booleanFromEnv('WATCHER_AUTO_CREATE_ANOMALY_DETECTION_RULES', false, env);
}

/**
 * POST /pipeline: get or create by name. An existing pipeline's config is rewritten only
 * when the request's hash changed; a sent next_watermark is stored. The response always
 * carries the current stored watermark.
 */
export async function getOrCreatePipeline(pool: Pool, input: PipelineInput, options: { defaultRules: boolean }): Promise<{ created: boolean; pipeline: PipelineSummary }> {
  const hash = pipelineRequestHash(input);
  const nextWatermark = input.next_watermark ?? null;
  // The common case (same config, nothing to store) is one read and no transaction.
  const existing = await pool.query<PipelineSummary & { input_hash: string | null }>(
    'SELECT id, active, load_lineage, watermark, input_hash FROM pipeline WHERE name = $1',
    [input.name],
  );
  const row = existing.rows[0];
  if (row && row.input_hash === hash && nextWatermark === null) {
    return { created: false, pipeline: { id: row.id, active: row.active, load_lineage: row.load_lineage, watermark: row.watermark } };
  }

  return withTransaction(pool, async (client) => {
    const typeId = await ensurePipelineType(client, input.pipeline_type_name);
    const inserted = await client.query<PipelineSummary>(
      `INSERT INTO pipeline (name, pipeline_type_id, pipeline_metadata, freshness_number, freshness_datepart, timeliness_number, timeliness_datepart, next_watermark, input_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (name) DO NOTHING
       RETURNING id, active, load_lineage, watermark`,
      [
        input.name,
        typeId,
        input.pipeline_metadata ? JSON.stringify(input.pipeline_metadata) : null,
        input.freshness_number ?? null,
        input.freshness_datepart ?? null,
        input.timeliness_number ?? null,
        input.timeliness_datepart ?? null,
        nextWatermark,
        hash,
      ],
    );
    const created = inserted.rows[0];
    if (created) {
      if (options.defaultRules) {
        await createDefaultAnomalyRules(client, [created.id], ANOMALY_METRICS);
      }
      return { created: true, pipeline: created };
    }

    const current = await client.query<{ input_hash: string | null }>('SELECT input_hash FROM pipeline WHERE name = $1 FOR UPDATE', [input.name]);
    const changes: Row = {};
    if (current.rows[0]?.input_hash !== hash) {
      // Only the fields the request set: the SDK sends all of them, nulls included.
      for (const field of PIPELINE_CONFIG_FIELDS) changes[field] = input[field];
      Object.assign(changes, { pipeline_type_id: typeId, input_hash: hash });
    }
    if (nextWatermark !== null) changes.next_watermark = nextWatermark;
    const sets = setClause(changes, [...PIPELINE_CONFIG_FIELDS, 'pipeline_type_id', 'input_hash', 'next_watermark'], 2);
    if (changes.input_hash !== undefined) sets.sql.push('updated_at = now()');
    // Nothing to write when a concurrent request stored this very config first.
    const result = sets.sql.length
      ? await client.query<PipelineSummary>(`UPDATE pipeline SET ${sets.sql.join(', ')} WHERE name = $1 RETURNING id, active, load_lineage, watermark`, [input.name, ...sets.params])
      : await client.query<PipelineSummary>('SELECT id, active, load_lineage, watermark FROM pipeline WHERE name = $1', [input.name]);
    return { created: false, pipeline: result.rows[0]! };
  });
}

const PIPELINE_SELECT = `SELECT p.id, p.name, p.pipeline_type_id, t.name AS pipeline_type_name, p.watermark, p.next_watermark,
  p.pipeline_metadata, p.last_target_insert, p.last_target_update, p.last_target_soft_delete,
  p.freshness_number, p.freshness_datepart, p.timeliness_number, p.timeliness_datepart,
  p.mute_freshness_check, p.mute_timeliness_check, p.load_lineage, p.active, p.input_hash, p.created_at, p.updated_at
  FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id`;
const PIPELINE_STAMPS = ['last_target_insert', 'last_target_update', 'last_target_soft_delete', ...STAMPS] as const;

const pipelinesReader = reader<PipelineRecord>(PIPELINE_SELECT, 'p.id', PIPELINE_STAMPS);
/** Every pipeline, SDK-made and dbt-made alike. */
export const listPipelines = pipelinesReader.list;
export const getPipeline = pipelinesReader.get;

export interface PipelinePatch {
  name?: string;
  pipeline_type_name?: string;
  active?: boolean;
  mute_freshness_check?: boolean;
  mute_timeliness_check?: boolean;
  load_lineage?: boolean;
  watermark?: string | null;
  next_watermark?: string | null;
  freshness_number?: number | null;
  freshness_datepart?: Datepart | null;
  timeliness_number?: number | null;
  timeliness_datepart?: Datepart | null;
  pipeline_metadata?: Record<string, unknown> | null;
}

const PIPELINE_PATCH_COLUMNS = [
  'name', 'pipeline_type_id', 'active', 'mute_freshness_check', 'mute_timeliness_check', 'load_lineage', 'watermark', 'next_watermark',
  'freshness_number', 'freshness_datepart', 'timeliness_number', 'timeliness_datepart', 'pipeline_metadata',
] as const;

export async function patchPipeline(pool: Pool, ref: RowRef, patch: PipelinePatch): Promise<PipelineRecord> {
  return withTransaction(pool, async (client) => {
    const { pipeline_type_name: typeName, ...columns } = patch;
    const values: Row = { ...columns };
    if (typeName !== undefined) values.pipeline_type_id = await ensurePipelineType(client, typeName);
    return patchRow(client, { table: 'pipeline', columns: PIPELINE_PATCH_COLUMNS, read: getPipeline }, ref, values);
  });
}

// ---------------------------------------------------------------- address types

async function getOrCreateAddressTypeIn(client: Queryable, name: string, groupName: string): Promise<{ id: number; created: boolean }> {
  return insertOrFind(
    client,
    { sql: 'INSERT INTO address_type (name, group_name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id', params: [name, groupName] },
    { sql: 'SELECT id FROM address_type WHERE name = $1', params: [name] },
  );
}

/** etl-watcher: an existing type is returned unchanged (its group is not rewritten). */
export async function getOrCreateAddressType(pool: Pool, input: { name: string; group_name: string }): Promise<{ id: number; created: boolean }> {
  return getOrCreateAddressTypeIn(pool, input.name, input.group_name);
}

const ADDRESS_TYPE_SELECT = 'SELECT id, name, group_name, created_at FROM address_type';

const addressTypesReader = reader<AddressTypeRecord>(ADDRESS_TYPE_SELECT, 'id', ['created_at']);
export const listAddressTypes = addressTypesReader.list;
export const getAddressType = addressTypesReader.get;

export async function patchAddressType(pool: Pool, ref: RowRef, changes: { name?: string; group_name?: string }): Promise<AddressTypeRecord> {
  // address_type has no updated_at column
  return patchRow(pool, { table: 'address_type', columns: ['name', 'group_name'], read: getAddressType }, ref, changes, false);
}

// ---------------------------------------------------------------- addresses

const ADDRESS_COLUMNS = ['address_type_id', 'database_name', 'schema_name', 'table_name', 'primary_key', 'address_metadata', 'input_hash'] as const;

/** Get or create by name; an existing address is rewritten only when the request's hash changed. */
async function getOrCreateAddressIn(client: PoolClient, input: AddressInput): Promise<{ id: number; created: boolean }> {
  const hash = addressRequestHash(input);
  const found = await client.query<{ id: number; input_hash: string | null }>('SELECT id, input_hash FROM address WHERE name = $1', [input.name]);
  if (found.rows[0]?.input_hash === hash) return { id: found.rows[0].id, created: false };

  const type = await getOrCreateAddressTypeIn(client, input.address_type_name, input.address_type_group_name);
  const values: Row = {
    address_type_id: type.id,
    database_name: input.database_name,
    schema_name: input.schema_name,
    table_name: input.table_name,
    primary_key: input.primary_key,
    address_metadata: input.address_metadata,
    ...splitDatabaseAddress(input.name, input.address_type_group_name),
    input_hash: hash,
  };
  const insert = await client.query<{ id: number }>(
    `INSERT INTO address (name, ${ADDRESS_COLUMNS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (name) DO NOTHING RETURNING id`,
    [input.name, ...ADDRESS_COLUMNS.map((c) => (c === 'address_metadata' && values[c] ? JSON.stringify(values[c]) : values[c] ?? null))],
  );
  if (insert.rows[0]) return { id: insert.rows[0].id, created: true };
  const sets = setClause(values, ADDRESS_COLUMNS, 2);
  sets.sql.push('updated_at = now()');
  const updated = await client.query<{ id: number }>(`UPDATE address SET ${sets.sql.join(', ')} WHERE name = $1 RETURNING id`, [input.name, ...sets.params]);
  return { id: updated.rows[0]!.id, created: false };
}

export async function getOrCreateAddress(pool: Pool, input: AddressInput): Promise<{ id: number; created: boolean }> {
  return withTransaction(pool, (client) => getOrCreateAddressIn(client, input));
}

const ADDRESS_SELECT = `SELECT a.id, a.name, a.address_type_id, t.name AS address_type_name, t.group_name AS address_type_group_name,
  a.database_name, a.schema_name, a.table_name, a.primary_key, a.address_metadata, a.input_hash, a.created_at, a.updated_at
  FROM address a JOIN address_type t ON t.id = a.address_type_id`;

const addressesReader = reader<AddressRecord>(ADDRESS_SELECT, 'a.id', STAMPS);
export const listAddresses = addressesReader.list;
export const getAddress = addressesReader.get;

export interface AddressPatch {
  name?: string;
  address_type_id?: number;
  database_name?: string | null;
  schema_name?: string | null;
  table_name?: string | null;
  primary_key?: string | null;
  address_metadata?: Record<string, unknown> | null;
}

export async function patchAddress(pool: Pool, ref: RowRef, patch: AddressPatch): Promise<AddressRecord> {
  return withTransaction(pool, async (client) => {
    if (patch.address_type_id !== undefined) {
      const type = await client.query('SELECT 1 FROM address_type WHERE id = $1', [patch.address_type_id]);
      if (!type.rowCount) throw new CatalogError('not_found', 'address_type_id', `address_type ${patch.address_type_id} not found`);
    }
    const columns = ['name', 'address_type_id', 'database_name', 'schema_name', 'table_name', 'primary_key', 'address_metadata'];
    return patchRow(client, { table: 'address', columns, read: getAddress }, ref, { ...patch });
  });
}

// ---------------------------------------------------------------- address lineage

export interface LineageResult {
  /** false: the pipeline's load_lineage is off, nothing was written. */
  loaded: boolean;
  pipeline_id: number;
  lineage_relationships_created: number;
  message: string;
}

/**
 * POST /address_lineage: when the pipeline's load_lineage is on, upsert the addresses and
 * replace the pipeline's edges with every source x target pair, closure included, in one
 * transaction (syncLineage, the same code as dbt builds: diamonds and cycles are safe), and
 * turn load_lineage off (etl-watcher leaves it on until the next successful end).
 */
export async function loadAddressLineage(pool: Pool, input: { pipeline_id: number; source_addresses: AddressInput[]; target_addresses: AddressInput[] }): Promise<LineageResult> {
  return withTransaction(pool, async (client) => {
    const pipeline = await client.query<{ name: string; type: string; load_lineage: boolean }>(
      'SELECT p.name, t.name AS type, p.load_lineage FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id WHERE p.id = $1 FOR UPDATE OF p',
      [input.pipeline_id],
    );
    const p = pipeline.rows[0];
    if (!p) throw new CatalogError('not_found', 'pipeline_id', `pipeline ${input.pipeline_id} not found`);
    if (!p.load_lineage) {
      return { loaded: false, pipeline_id: input.pipeline_id, lineage_relationships_created: 0, message: `pipeline ${input.pipeline_id} has load_lineage=false: no lineage written` };
    }
    // One address appearing twice keeps its last spelling; a fixed order keeps concurrent writers from deadlocking.
    const addresses = [...new Map([...input.source_addresses, ...input.target_addresses].map((a) => [a.name, a])).values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const address of addresses) await getOrCreateAddressIn(client, address);
    const spec = (a: AddressInput) => ({ name: a.name, type: a.address_type_name });
    await syncLineage(client, [{ pipelineName: p.name, pipelineType: p.type, sources: input.source_addresses.map(spec), targets: input.target_addresses.map(spec) }]);
    // Stored lineage clears load_lineage, as syncLineage does for changed edges: also when
    // the edges were unchanged, so the answer does not depend on what was stored before.
    await client.query('UPDATE pipeline SET load_lineage = false WHERE id = $1 AND load_lineage', [input.pipeline_id]);
    const edges = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM address_lineage WHERE pipeline_id = $1', [input.pipeline_id]);
    return { loaded: true, pipeline_id: input.pipeline_id, lineage_relationships_created: edges.rows[0]!.n, message: `lineage stored for pipeline ${input.pipeline_id}` };
  });
}

// ---------------------------------------------------------------- anomaly rules

export interface AnomalyRuleInput {
  pipeline_id: number;
  metric_field: AnomalyMetric;
  z_threshold: number;
  lookback_days: number;
  minimum_executions: number;
  active: boolean;
}

const RULE_COLUMNS = ['pipeline_id', 'metric_field', 'z_threshold', 'lookback_days', 'minimum_executions', 'active'] as const;

/** Get or create per (pipeline, metric); an existing rule is returned unchanged (PATCH changes it). */
export async function getOrCreateAnomalyRule(pool: Pool, input: AnomalyRuleInput): Promise<{ id: number; created: boolean }> {
  const pipeline = await pool.query('SELECT 1 FROM pipeline WHERE id = $1', [input.pipeline_id]);
  if (!pipeline.rowCount) throw new CatalogError('not_found', 'pipeline_id', `pipeline ${input.pipeline_id} not found`);
  return insertOrFind(
    pool,
    {
      sql: `INSERT INTO anomaly_detection_rule (${RULE_COLUMNS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pipeline_id, metric_field) DO NOTHING RETURNING id`,
      params: RULE_COLUMNS.map((c) => input[c]),
    },
    { sql: 'SELECT id FROM anomaly_detection_rule WHERE pipeline_id = $1 AND metric_field = $2', params: [input.pipeline_id, input.metric_field] },
  );
}

const RULE_SELECT = `SELECT id, pipeline_id, metric_field::text AS metric_field, z_threshold, lookback_days, minimum_executions, active, created_at, updated_at
  FROM anomaly_detection_rule`;

export async function listAnomalyRules(pool: Pool, filter: { pipeline_id?: number } & Page): Promise<AnomalyRuleRecord[]> {
  return selectPage(pool, `${RULE_SELECT} WHERE ($1::int IS NULL OR pipeline_id = $1) ORDER BY id LIMIT $2 OFFSET $3`, [filter.pipeline_id ?? null, filter.limit, filter.offset], STAMPS);
}

export const getAnomalyRule = reader<AnomalyRuleRecord>(RULE_SELECT, 'id', STAMPS).get;

export async function patchAnomalyRule(pool: Pool, id: number, patch: Partial<Pick<AnomalyRuleInput, 'z_threshold' | 'lookback_days' | 'minimum_executions' | 'active'>>): Promise<AnomalyRuleRecord> {
  return patchRow(pool, { table: 'anomaly_detection_rule', columns: ['z_threshold', 'lookback_days', 'minimum_executions', 'active'], read: getAnomalyRule }, { id }, patch);
}

/**
 * POST /unflag_anomaly: the metrics' flags become false and their results are deleted, so
 * the execution counts in future baselines again. Repeating it changes nothing more.
 */
export async function unflagAnomaly(pool: Pool, input: { pipeline_id: number; pipeline_execution_id: number; metric_field: AnomalyMetric[] }): Promise<void> {
  await withTransaction(pool, async (client) => {
    const execution = await client.query<{ pipeline_id: number }>('SELECT pipeline_id FROM pipeline_execution WHERE id = $1 FOR UPDATE', [input.pipeline_execution_id]);
    const found = execution.rows[0];
    if (!found) throw new CatalogError('not_found', 'pipeline_execution_id', `pipeline_execution ${input.pipeline_execution_id} not found`);
    if (found.pipeline_id !== input.pipeline_id) {
      throw new CatalogError('not_found', 'pipeline_execution_id', `pipeline_execution ${input.pipeline_execution_id} is not an execution of pipeline ${input.pipeline_id}`);
    }
    await client.query(
      `UPDATE pipeline_execution
       SET anomaly_flags = coalesce(anomaly_flags, '{}'::jsonb) || (SELECT jsonb_object_agg(m, false) FROM unnest($2::text[]) AS m)
       WHERE id = $1`,
      [input.pipeline_execution_id, input.metric_field],
    );
    await client.query(
      `DELETE FROM anomaly_detection_result r USING anomaly_detection_rule ru
       WHERE r.rule_id = ru.id AND r.pipeline_execution_id = $1 AND ru.metric_field = ANY($2::anomaly_metric[])`,
      [input.pipeline_execution_id, input.metric_field],
    );
  });
}

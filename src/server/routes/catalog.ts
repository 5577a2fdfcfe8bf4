// etl-watcher's catalog routes: /pipeline, /pipeline_type, /address_type, /address,
// /address_lineage, /anomaly_detection_rule, /unflag_anomaly. Each validates its input
// once (names trimmed and lower-cased, watermarks kept as sent), calls src/store/catalog.ts
// and shapes the response. POSTs get or create: 201 when created, 200 when found.
import { z } from 'zod';
import {
  ANOMALY_METRICS,
  autoCreateAnomalyRules,
  CatalogError,
  getAddress,
  getAddressType,
  getAnomalyRule,
  getOrCreateAddress,
  getOrCreateAddressType,
  getOrCreateAnomalyRule,
  getOrCreatePipeline,
  getOrCreatePipelineType,
  getPipeline,
  getPipelineType,
  listAddresses,
  listAddressTypes,
  listAnomalyRules,
  listPipelines,
  listPipelineTypes,
  loadAddressLineage,
  pairProblem,
  patchAddress,
  patchAddressType,
  patchAnomalyRule,
  patchPipeline,
  patchPipelineType,
  unflagAnomaly,
  type RowRef,
} from '../../store/catalog.js';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';
import { ApiError, conflict, invalid, notFound } from '../errors.js';
import { DATEPARTS } from '../../contracts/node-config.js';
import { datepart, errorResponses, jsonObject, lowerName, positiveInt, watermark } from '../schemas.js';

// ---------------------------------------------------------------- input pieces

const INT4_MAX = 2_147_483_647;
// Postgres jsonb cannot hold the NUL character: refuse it here (a 422 naming the field)
// rather than let the insert fail. Names and watermarks are refused by the shared schemas.
const NO_NUL = 'must not contain the NUL character (\\u0000)';
const json = jsonObject.refine((o) => !JSON.stringify(o).includes('\\u0000'), NO_NUL);
/** An id of an integer-keyed table (pipeline, address, rule, ...). */
const rowId = z.number().int().positive().max(INT4_MAX);
const idParams = z.object({ id: z.coerce.number().int().positive().max(INT4_MAX) });
/** etl-watcher's SDK types watermarks as str | int: an integer is stored as its decimal string. */
const watermarkIn = z.union([watermark, z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)]).transform((w) => String(w));
const metric = z.string().trim().toLowerCase().pipe(z.enum(ANOMALY_METRICS));
const page = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('rows per page (1-1000, default 100)'),
  offset: z.coerce.number().int().min(0).max(INT4_MAX).default(0),
});

/** The number/datepart pairs: 422 naming the field when only one of a pair is set. */
function pairsTogether(keysTogether: boolean) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const prefix of ['freshness', 'timeliness'] as const) {
      const problem = pairProblem(prefix, value, keysTogether);
      if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
    }
  };
}

/** A PATCH names its row by id or by name; with an id, a name renames it. */
function patchArgs<T extends { id?: number; name?: string }>(body: T): { ref: RowRef; changes: Omit<T, 'id' | 'name'> & { name?: string } } {
  const { id, name, ...rest } = body;
  if (id !== undefined) return { ref: { id }, changes: { ...rest, name } };
  if (name !== undefined) return { ref: { name }, changes: { ...rest, name: undefined } };
  throw invalid('id', 'send id or name to say which row to change');
}

const intervalFields = {
  freshness_number: positiveInt.nullish(),
  freshness_datepart: datepart.nullish(),
  timeliness_number: positiveInt.nullish(),
  timeliness_datepart: datepart.nullish(),
};

// ---------------------------------------------------------------- response pieces

const stamp = z.string().nullable();
const CreatedId = z.object({ id: z.number().int() });
const datepartOut = z.enum(DATEPARTS).nullable();
const intervalOut = {
  freshness_number: z.number().int().nullable(),
  freshness_datepart: datepartOut,
  timeliness_number: z.number().int().nullable(),
  timeliness_datepart: datepartOut,
};
const PipelineType = z.object({
  id: z.number().int(),
  name: z.string(),
  ...intervalOut,
  mute_freshness_check: z.boolean(),
  mute_timeliness_check: z.boolean(),
  created_at: z.string(),
  updated_at: stamp,
});
const Pipeline = z.object({
  id: z.number().int(),
  name: z.string(),
  pipeline_type_id: z.number().int(),
  pipeline_type_name: z.string(),
  watermark: z.string().nullable(),
  next_watermark: z.string().nullable(),
  pipeline_metadata: jsonObject.nullable(),
  last_target_insert: stamp,
  last_target_update: stamp,
  last_target_soft_delete: stamp,
  ...intervalOut,
  mute_freshness_check: z.boolean(),
  mute_timeliness_check: z.boolean(),
  load_lineage: z.boolean(),
  active: z.boolean(),
  input_hash: z.string().nullable(),
  created_at: z.string(),
  updated_at: stamp,
});
const PipelineSummary = z.object({ id: z.number().int(), active: z.boolean(), load_lineage: z.boolean(), watermark: z.string().nullable() });
const AddressType = z.object({ id: z.number().int(), name: z.string(), group_name: z.string(), created_at: z.string() });
const Address = z.object({
  id: z.number().int(),
  name: z.string(),
  address_type_id: z.number().int(),
  address_type_name: z.string(),
  address_type_group_name: z.string(),
  database_name: z.string().nullable(),
  schema_name: z.string().nullable(),
  table_name: z.string().nullable(),
  primary_key: z.string().nullable(),
  address_metadata: jsonObject.nullable(),
  input_hash: z.string().nullable(),
  created_at: z.string(),
  updated_at: stamp,
});
const AnomalyRule = z.object({
  id: z.number().int(),
  pipeline_id: z.number().int(),
  metric_field: z.enum(ANOMALY_METRICS),
  z_threshold: z.number(),
  lookback_days: z.number().int(),
  minimum_executions: z.number().int(),
  active: z.boolean(),
  created_at: z.string(),
  updated_at: stamp,
});
const LineageResponse = z.object({ pipeline_id: z.number().int(), lineage_relationships_created: z.number().int(), message: z.string() });

// ---------------------------------------------------------------- bodies

const PipelinePost = z
  .object({
    name: lowerName(512),
    pipeline_type_name: lowerName(),
    pipeline_metadata: json.nullish(),
    ...intervalFields,
    next_watermark: watermarkIn.nullish(),
  })
  .strict()
  .superRefine(pairsTogether(false));

const PipelinePatch = z
  .object({
    id: rowId.optional(),
    pipeline_id: rowId.optional().describe("the SDK's update_pipeline_next_watermark names the pipeline so; same as id"),
    name: lowerName(512).optional(),
    pipeline_type_name: lowerName().optional(),
    active: z.boolean().optional(),
    mute_freshness_check: z.boolean().optional(),
    mute_timeliness_check: z.boolean().optional(),
    load_lineage: z.boolean().optional(),
    watermark: watermarkIn.nullable().optional(),
    next_watermark: watermarkIn.nullable().optional(),
    ...intervalFields,
    pipeline_metadata: json.nullable().optional(),
  })
  .strict()
  .superRefine(pairsTogether(true))
  .superRefine((body, ctx) => {
    if (body.id !== undefined && body.pipeline_id !== undefined && body.id !== body.pipeline_id) {
      ctx.addIssue({ code: 'custom', path: ['pipeline_id'], message: 'must equal id when both are sent' });
    }
  });

const PipelineTypePost = z
  .object({
    name: lowerName(),
    ...intervalFields,
    mute_freshness_check: z.boolean().optional(),
    mute_timeliness_check: z.boolean().optional(),
  })
  .strict()
  .superRefine(pairsTogether(false));

const PipelineTypePatch = z
  .object({
    id: rowId.optional(),
    name: lowerName().optional(),
    ...intervalFields,
    mute_freshness_check: z.boolean().optional(),
    mute_timeliness_check: z.boolean().optional(),
  })
  .strict()
  .superRefine(pairsTogether(true));

const AddressTypePost = z.object({ name: lowerName(), group_name: lowerName() }).strict();
const AddressTypePatch = z.object({ id: rowId.optional(), name: lowerName().optional(), group_name: lowerName().optional() }).strict();

// 256: the longest name whose `a.b.c` parts always fit the 256-character columns.
const addressFields = {
  database_name: lowerName(256).nullish(),
  schema_name: lowerName(256).nullish(),
  table_name: lowerName(256).nullish(),
  primary_key: lowerName(256).nullish(),
  address_metadata: json.nullish(),
};
const AddressPost = z
  .object({ name: lowerName(256), address_type_name: lowerName(), address_type_group_name: lowerName(), ...addressFields })
  .strict();
const AddressPatch = z
  .object({ id: rowId.optional(), name: lowerName(256).optional(), address_type_id: rowId.optional(), ...addressFields })
  .strict();

const LineagePost = z
  .object({
    pipeline_id: rowId,
    source_addresses: z.array(AddressPost).max(1000),
    target_addresses: z.array(AddressPost).max(1000),
  })
  .strict();

const ruleSettings = {
  z_threshold: z.number().min(1).max(10),
  lookback_days: z.number().int().min(1).max(365),
  minimum_executions: z.number().int().min(5).max(1000),
  active: z.boolean(),
};
const RulePost = z
  .object({
    pipeline_id: rowId,
    metric_field: metric,
    z_threshold: ruleSettings.z_threshold.default(3),
    lookback_days: ruleSettings.lookback_days.default(30),
    minimum_executions: ruleSettings.minimum_executions.default(30),
    active: ruleSettings.active.default(true),
  })
  .strict();
const RulePatch = z
  .object({
    id: rowId,
    z_threshold: ruleSettings.z_threshold.optional(),
    lookback_days: ruleSettings.lookback_days.optional(),
    minimum_executions: ruleSettings.minimum_executions.optional(),
    active: ruleSettings.active.optional(),
  })
  .strict();

const UnflagPost = z
  .object({
    pipeline_id: rowId,
    pipeline_execution_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    metric_field: z.array(metric).min(1).max(ANOMALY_METRICS.length),
  })
  .strict();

// ---------------------------------------------------------------- helpers

/** The store's field-named failures as API errors. */
async function store<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof CatalogError)) throw err;
    if (err.kind === 'not_found') throw new ApiError(404, 'not_found', err.message, [{ field: err.field, message: err.message }]);
    if (err.kind === 'conflict') throw conflict(err.message);
    throw invalid(err.field, err.message);
  }
}

function found<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw notFound(what);
  return row;
}

const created = { 200: CreatedId, 201: CreatedId, ...errorResponses };
const tags = ['etl-watcher'];

/**
 * GET <path> (a page of rows, by id) and GET <path>/{id} (one row, or 404 naming it). The
 * rows are typed `unknown` here (a generic schema defeats the type provider); the PATCH
 * route of each resource returns the same record against the same schema, which keeps the
 * store's record and the schema in step at compile time, and the serializer checks every row.
 */
function readRoutes(
  app: Api,
  path: string,
  row: z.ZodType,
  read: { list: (query: z.infer<typeof page>) => Promise<unknown[]>; one: (id: number) => Promise<unknown> },
): void {
  const what = path.slice(1);
  app.get(path, {
    schema: { summary: `List ${what} rows, by id`, tags, querystring: page, response: { 200: z.array(row), ...errorResponses } },
  }, async (request) => read.list(request.query));
  app.get(`${path}/:id`, {
    schema: { summary: `One ${what}`, tags, params: idParams, response: { 200: row, ...errorResponses } },
  }, async (request) => found(await read.one(request.params.id), `${what} ${request.params.id}`));
}

// ---------------------------------------------------------------- routes

export function catalogRoutes(app: Api, deps: ServerDeps): void {
  const { pool } = deps;

  // ---- pipelines
  app.post('/pipeline', {
    schema: {
      summary: 'Get or create a pipeline by name (201 created, 200 found); its config is rewritten when it changed',
      description: 'Returns the current stored watermark (etl-watcher returns it only when next_watermark was sent).',
      tags,
      body: PipelinePost,
      response: { 200: PipelineSummary, 201: PipelineSummary, ...errorResponses },
    },
  }, async (request, reply) => {
    const result = await getOrCreatePipeline(pool, request.body, { defaultRules: autoCreateAnomalyRules() });
    return reply.code(result.created ? 201 : 200).send(result.pipeline);
  });

  readRoutes(app, '/pipeline', Pipeline, { list: (q) => listPipelines(pool, q), one: (id) => getPipeline(pool, id) });

  app.patch('/pipeline', {
    schema: {
      summary: 'Change a pipeline named by id, pipeline_id or name (with an id, name renames it)',
      tags,
      body: PipelinePatch,
      response: { 200: Pipeline, ...errorResponses },
    },
  }, async (request) => {
    const { id, pipeline_id: pipelineId, ...body } = request.body;
    const { ref, changes } = patchArgs({ ...body, id: id ?? pipelineId });
    return store(() => patchPipeline(pool, ref, changes));
  });

  // ---- pipeline types
  app.post('/pipeline_type', {
    schema: { summary: 'Get or create a pipeline type by name (201 created, 200 found, unchanged)', tags, body: PipelineTypePost, response: created },
  }, async (request, reply) => {
    const result = await getOrCreatePipelineType(pool, request.body);
    return reply.code(result.created ? 201 : 200).send({ id: result.id });
  });

  readRoutes(app, '/pipeline_type', PipelineType, { list: (q) => listPipelineTypes(pool, q), one: (id) => getPipelineType(pool, id) });

  app.patch('/pipeline_type', {
    schema: { summary: 'Change a pipeline type named by id or name', tags, body: PipelineTypePatch, response: { 200: PipelineType, ...errorResponses } },
  }, async (request) => {
    const { ref, changes } = patchArgs(request.body);
    return store(() => patchPipelineType(pool, ref, changes));
  });

  // ---- address types
  app.post('/address_type', {
    schema: { summary: 'Get or create an address type by name (201 created, 200 found, unchanged)', tags, body: AddressTypePost, response: created },
  }, async (request, reply) => {
    const result = await getOrCreateAddressType(pool, request.body);
    return reply.code(result.created ? 201 : 200).send({ id: result.id });
  });

  readRoutes(app, '/address_type', AddressType, { list: (q) => listAddressTypes(pool, q), one: (id) => getAddressType(pool, id) });

  app.patch('/address_type', {
    schema: { summary: 'Change an address type named by id or name', tags, body: AddressTypePatch, response: { 200: AddressType, ...errorResponses } },
  }, async (request) => {
    const { ref, changes } = patchArgs(request.body);
    return store(() => patchAddressType(pool, ref, changes));
  });

  // ---- addresses
  app.post('/address', {
    schema: {
      summary: 'Get or create an address by name (201 created, 200 found); rewritten when it changed',
      description: 'A `database`-group address named a.b.c gets database_name a, schema_name b, table_name c.',
      tags,
      body: AddressPost,
      response: created,
    },
  }, async (request, reply) => {
    const result = await getOrCreateAddress(pool, request.body);
    return reply.code(result.created ? 201 : 200).send({ id: result.id });
  });

  readRoutes(app, '/address', Address, { list: (q) => listAddresses(pool, q), one: (id) => getAddress(pool, id) });

  app.patch('/address', {
    schema: { summary: 'Change an address named by id or name', tags, body: AddressPatch, response: { 200: Address, ...errorResponses } },
  }, async (request) => {
    const { ref, changes } = patchArgs(request.body);
    return store(() => patchAddress(pool, ref, changes));
  });

  // ---- lineage
  app.post('/address_lineage', {
    schema: {
      summary: "Replace a pipeline's lineage with every source x target pair (201), or do nothing (200) unless its load_lineage is on",
      tags,
      body: LineagePost,
      response: { 200: LineageResponse, 201: LineageResponse, ...errorResponses },
    },
  }, async (request, reply) => {
    const { loaded, ...result } = await store(() => loadAddressLineage(pool, request.body));
    return reply.code(loaded ? 201 : 200).send(result);
  });

  // ---- anomaly detection rules
  app.post('/anomaly_detection_rule', {
    schema: { summary: 'Get or create the rule of a pipeline and metric (201 created, 200 found, unchanged)', tags, body: RulePost, response: created },
  }, async (request, reply) => {
    const result = await store(() => getOrCreateAnomalyRule(pool, request.body));
    return reply.code(result.created ? 201 : 200).send({ id: result.id });
  });

  app.get('/anomaly_detection_rule', {
    schema: {
      summary: 'List anomaly detection rules, optionally of one pipeline',
      tags,
      querystring: page.extend({ pipeline_id: z.coerce.number().int().positive().max(INT4_MAX).optional() }),
      response: { 200: z.array(AnomalyRule), ...errorResponses },
    },
  }, async (request) => listAnomalyRules(pool, request.query));

  app.get('/anomaly_detection_rule/:id', {
    schema: { summary: 'One anomaly detection rule', tags, params: idParams, response: { 200: AnomalyRule, ...errorResponses } },
  }, async (request) => found(await getAnomalyRule(pool, request.params.id), `anomaly_detection_rule ${request.params.id}`));

  app.patch('/anomaly_detection_rule', {
    schema: { summary: 'Change an anomaly detection rule by id', tags, body: RulePatch, response: { 200: AnomalyRule, ...errorResponses } },
  }, async (request) => {
    const { id, ...changes } = request.body;
    return store(() => patchAnomalyRule(pool, id, changes));
  });

  app.post('/unflag_anomaly', {
    schema: {
      summary: "Clear an execution's anomaly flags for these metrics and delete their results (204)",
      tags,
      body: UnflagPost,
      response: { 204: z.undefined().describe('unflagged (or nothing to unflag); no body'), ...errorResponses },
    },
  }, async (request, reply) => {
    await store(() => unflagAnomaly(pool, request.body));
    return reply.code(204).send();
  });
}

// The dashboard's lineage data: the graph of relations and the pipelines between them around
// one address (or the whole lineage), each node with its last status and freshness, capped
// with a truncated flag; and addresses found by name for the page's search box.
import { z } from 'zod';
import { CONTROL_CHARS } from '../../contracts/validation.js';
import { searchAddresses } from '../../store/lineage-view.js';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { lineageView } from '../lineage-graph.js';
import { errorResponses } from '../schemas.js';

const TAGS = ['dashboard'];
const DIRECTIONS = ['upstream', 'downstream', 'both'] as const;
const FRESHNESS_STATES = ['fresh', 'stale', 'muted', 'no_dml', 'no_threshold'] as const;
/** Address names as stored (relation names keep their case; matched in any case). */
const addressName = z.string().min(1).max(1024).refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters');
const isoDate = z.iso.datetime({ offset: true });

const ViewNode = z.object({
  id: z.string().describe('a:<address id> or p:<pipeline id>'),
  kind: z.enum(['address', 'pipeline']),
  name: z.string(),
  type: z.string().nullable().describe("The address type (null for a pipeline)"),
  upstreamDepth: z.number().int().nullable(),
  downstreamDepth: z.number().int().nullable(),
  status: z.string().nullable().describe("Last execution's status: a pipeline's own, an address's latest writer's"),
  lastRun: isoDate.nullable(),
  freshness: z.enum(FRESHNESS_STATES).nullable(),
  dueBy: isoDate.nullable(),
  writers: z.array(z.string()).optional(),
  targets: z.array(z.string()).optional(),
});

export function lineageViewRoutes(app: Api, deps: ServerDeps): void {
  app.get('/dashboard/lineage', {
    schema: {
      summary: 'The lineage graph for the dashboard: relations and the pipelines between them, with last status and freshness',
      description:
        'Around `address` (any case), `depth` hops upstream, downstream or both; without `address`, every address with lineage (newest first). ' +
        'At most `limit` addresses, the nearest kept; `truncated` says when more were in reach.',
      tags: TAGS,
      querystring: z.object({
        address: addressName.optional(),
        direction: z.enum(DIRECTIONS).default('both'),
        depth: z.coerce.number().int().min(1).max(100).default(3),
        limit: z.coerce.number().int().min(1).max(5000).default(2000),
      }).strict(),
      response: {
        200: z.object({
          address: z.string().nullable(),
          direction: z.enum(DIRECTIONS),
          depth: z.number().int(),
          limit: z.number().int(),
          truncated: z.boolean(),
          nodes: z.array(ViewNode),
          edges: z.array(z.object({ source: z.string(), target: z.string() })),
        }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const { address, direction, depth, limit } = request.query;
    const view = await lineageView(deps.pool, { address, direction, depth, limit });
    if (!view) throw notFound(`address "${address}"`);
    return view;
  });

  app.get('/dashboard/lineage/addresses', {
    schema: {
      summary: 'Addresses whose name contains `q` (any case), those with lineage first',
      tags: TAGS,
      querystring: z.object({
        q: z.string().trim().min(1).max(1024).refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters'),
        limit: z.coerce.number().int().min(1).max(100).default(20),
      }).strict(),
      response: {
        200: z.object({ addresses: z.array(z.object({ name: z.string(), type: z.string(), hasLineage: z.boolean() })) }),
        ...errorResponses,
      },
    },
  }, async (request) => ({ addresses: await searchAddresses(deps.pool, request.query.q, request.query.limit) }));
}

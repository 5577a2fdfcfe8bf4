// Address lineage from dbt's manifest: addresses are relations (database.schema.alias) and
// sources; each node's pipeline declares its edges (parents -> its relation), replaced when
// they change (a hash per pipeline); the closure is recomputed for the addresses affected.
import type { AddressSpec } from '../contracts/messages.js';
import { canonicalHash } from './canonical-json.js';
import type { PoolClient } from './db.js';
import { lineageClosure, upstreamOf, type Edge } from './lineage-closure.js';
import { syncPipelines } from './pipelines.js';

export type { AddressSpec };

/** An address of a lineage: dbt's relations and sources, or any address_type name (the HTTP API). */
export type LineageAddress = Omit<AddressSpec, 'type'> & { type: string };

export interface PipelineLineage {
  pipelineName: string;
  pipelineType: string;
  sources: LineageAddress[];
  targets: LineageAddress[];
}

export interface LineageSyncResult {
  changedPipelines: string[];
  closureRowsWritten: number;
}

const LINEAGE_LOCK = 0x5741_5443; // one lineage writer at a time ("WATC")

async function upsertAddresses(client: PoolClient, specs: LineageAddress[]): Promise<Map<string, number>> {
  const unique = [...new Map(specs.map((a) => [a.name, a])).values()];
  if (unique.length === 0) return new Map();
  await client.query(
    `INSERT INTO address (name, address_type_id, database_name, schema_name, table_name)
     SELECT i.name, t.id, i.db, i.sch, i.tbl
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS i(name, type, db, sch, tbl)
     JOIN address_type t ON t.name = i.type
     ON CONFLICT (name) DO NOTHING`,
    [unique.map((a) => a.name), unique.map((a) => a.type), unique.map((a) => a.database ?? null), unique.map((a) => a.schema ?? null), unique.map((a) => a.table ?? null)],
  );
  const rows = await client.query<{ id: number; name: string }>('SELECT id, name FROM address WHERE name = ANY($1::text[])', [unique.map((a) => a.name)]);
  return new Map(rows.rows.map((r) => [r.name, r.id]));
}

function edgesOf(lineage: PipelineLineage): Array<[string, string]> {
  const edges = new Map<string, [string, string]>();
  for (const s of lineage.sources) for (const t of lineage.targets) if (s.name !== t.name) edges.set(`${s.name}\u0000${t.name}`, [s.name, t.name]);
  return [...edges.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}

export async function syncLineage(client: PoolClient, lineages: PipelineLineage[]): Promise<LineageSyncResult> {
  if (lineages.length === 0) return { changedPipelines: [], closureRowsWritten: 0 };
  await client.query('SELECT pg_advisory_xact_lock($1)', [LINEAGE_LOCK]);
  const pipelines = await syncPipelines(client, lineages.map((l) => ({ name: l.pipelineName, type: l.pipelineType })));
  const hashes = await client.query<{ name: string; lineage_hash: string | null }>('SELECT name, lineage_hash FROM pipeline WHERE name = ANY($1::text[])', [
    lineages.map((l) => l.pipelineName),
  ]);
  const stored = new Map(hashes.rows.map((r) => [r.name, r.lineage_hash]));
  const changed = lineages.filter((l) => stored.get(l.pipelineName) !== canonicalHash(edgesOf(l)));
  if (changed.length === 0) return { changedPipelines: [], closureRowsWritten: 0 };

  const addressIds = await upsertAddresses(client, changed.flatMap((l) => [...l.sources, ...l.targets]));
  const changedIds = changed.map((l) => pipelines.ids.get(l.pipelineName)!);
  const old = await client.query<{ source_address_id: number; target_address_id: number }>(
    'DELETE FROM address_lineage WHERE pipeline_id = ANY($1::int[]) RETURNING source_address_id, target_address_id',
    [changedIds],
  );
  const newEdges = changed.flatMap((l) => edgesOf(l).map(([s, t]) => [pipelines.ids.get(l.pipelineName)!, addressIds.get(s)!, addressIds.get(t)!] as const));
  if (newEdges.length) {
    await client.query(
      `INSERT INTO address_lineage (pipeline_id, source_address_id, target_address_id)
       SELECT * FROM unnest($1::int[], $2::int[], $3::int[]) ON CONFLICT DO NOTHING`,
      [newEdges.map((e) => e[0]), newEdges.map((e) => e[1]), newEdges.map((e) => e[2])],
    );
  }
  await client.query(
    'UPDATE pipeline SET lineage_hash = h.hash, load_lineage = false FROM unnest($1::text[], $2::text[]) AS h(name, hash) WHERE pipeline.name = h.name',
    [changed.map((l) => l.pipelineName), changed.map((l) => canonicalHash(edgesOf(l)))],
  );

  // Closure rows can change for every address upstream of a touched one.
  const touched = new Set<number>([
    ...old.rows.flatMap((r) => [r.source_address_id, r.target_address_id]),
    ...newEdges.flatMap((e) => [e[1], e[2]]),
  ]);
  const all = await client.query<{ s: number; t: number }>('SELECT DISTINCT source_address_id AS s, target_address_id AS t FROM address_lineage');
  const edges: Edge[] = all.rows.map((r) => [r.s, r.t]);
  const recompute = [...upstreamOf(touched, edges)];
  await client.query('DELETE FROM address_lineage_closure WHERE source_address_id = ANY($1::int[])', [recompute]);
  const rows = lineageClosure(recompute, edges);
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    await client.query(
      `INSERT INTO address_lineage_closure (source_address_id, target_address_id, depth, lineage_path)
       SELECT s, t, d, p::int[] FROM unnest($1::int[], $2::int[], $3::int[], $4::text[]) AS x(s, t, d, p)`,
      [chunk.map((r) => r.source), chunk.map((r) => r.target), chunk.map((r) => r.depth), chunk.map((r) => `{${r.path.join(',')}}`)],
    );
  }
  return { changedPipelines: changed.map((l) => l.pipelineName), closureRowsWritten: rows.length };
}

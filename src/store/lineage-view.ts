// Reads behind the dashboard's lineage page that the other lineage reads do not cover: every
// address with lineage (the page without a centre) and addresses found by name.
import type { AddressMatch } from '../contracts/lineage-view.js';
import type { Pool } from './db.js';
import type { LineageNode } from './reporting.js';

/** Every address with lineage, newest first, at most `limit` (+1 to tell truncation). */
export async function lineageOverview(pool: Pool, limit: number): Promise<LineageNode[]> {
  const r = await pool.query<LineageNode>(
    `WITH ids AS (SELECT source_address_id AS id FROM address_lineage UNION SELECT target_address_id FROM address_lineage)
     SELECT a.id, a.name, ty.name AS address_type_name, ty.group_name AS address_type_group_name, a.database_name, a.schema_name, a.table_name,
            NULL::int AS upstream_depth, NULL::int AS downstream_depth
     FROM ids JOIN address a ON a.id = ids.id JOIN address_type ty ON ty.id = a.address_type_id
     ORDER BY a.id DESC
     LIMIT $1`,
    [limit],
  );
  return r.rows;
}

/** Addresses whose name contains `q` (any case): those with lineage first, exact table names first. */
export async function searchAddresses(pool: Pool, q: string, limit: number): Promise<AddressMatch[]> {
  const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const r = await pool.query<AddressMatch>(
    `SELECT a.name, ty.name AS type,
            (EXISTS (SELECT 1 FROM address_lineage l WHERE l.source_address_id = a.id)
             OR EXISTS (SELECT 1 FROM address_lineage l WHERE l.target_address_id = a.id)) AS "hasLineage"
     FROM address a JOIN address_type ty ON ty.id = a.address_type_id
     WHERE a.name ILIKE $1
     ORDER BY 3 DESC, lower(coalesce(a.table_name, a.name)) = lower($2) DESC, a.id DESC
     LIMIT $3`,
    [pattern, q, limit],
  );
  return r.rows;
}

export interface AddressWriter {
  address_id: number;
  pipeline_id: number;
  pipeline_name: string;
}

/** The pipelines that write each of these addresses (lineage edges into them), whatever they read. */
export async function writersOf(pool: Pool, addressIds: readonly number[]): Promise<AddressWriter[]> {
  if (addressIds.length === 0) return [];
  const r = await pool.query<AddressWriter>(
    `SELECT DISTINCT l.target_address_id AS address_id, l.pipeline_id, p.name AS pipeline_name
     FROM address_lineage l JOIN pipeline p ON p.id = l.pipeline_id
     WHERE l.target_address_id = ANY($1::int[])`,
    [addressIds],
  );
  return r.rows;
}

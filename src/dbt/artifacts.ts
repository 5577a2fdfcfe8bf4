// dbt's artifacts: manifest.json (the graph) and run_results.json (the end-of-run truth).
// Only the fields Watcher reads are typed.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ManifestNode {
  unique_id: string;
  resource_type: string;
  name: string;
  package_name: string;
  fqn?: string[];
  original_file_path?: string;
  database?: string | null;
  schema?: string | null;
  alias?: string | null;
  /** Sources: the table's name in the warehouse. */
  identifier?: string | null;
  /** Sources: the name of the source the table belongs to (`name` is the table's). */
  source_name?: string;
  relation_name?: string | null;
  config?: { materialized?: string; meta?: Record<string, unknown>; enabled?: boolean; severity?: string };
  meta?: Record<string, unknown>;
  depends_on?: { nodes?: string[] };
  attached_node?: string | null;
}

export interface Manifest {
  metadata: { dbt_version?: string; project_name?: string; invocation_id?: string };
  nodes: Record<string, ManifestNode>;
  sources?: Record<string, ManifestNode>;
  unit_tests?: Record<string, ManifestNode>;
}

export interface RunResultEntry {
  unique_id: string;
  status: string;
  message?: string | null;
  failures?: number | null;
  thread_id?: string | null;
  execution_time?: number;
  timing?: Array<{ name: string; started_at?: string | null; completed_at?: string | null }>;
  adapter_response?: Record<string, unknown>;
  relation_name?: string | null;
}

export interface RunResults {
  metadata: { invocation_id?: string; dbt_version?: string; generated_at?: string };
  results: RunResultEntry[];
  elapsed_time?: number;
  /** The invocation's arguments (select, vars, ...). */
  args?: Record<string, unknown>;
}

/** A freshness period in a source's criteria, e.g. `{count: 1, period: 'hour'}` (both null when unset). */
export interface FreshnessThreshold {
  count?: number | null;
  period?: string | null;
}

/**
 * One entry of sources.json (`dbt source freshness`): status pass, warn or error (stale).
 * dbt 1.11 leaves sources whose freshness could not be computed (`runtime error`) out of the
 * file; their NodeFinished event says why.
 */
export interface SourceFreshnessEntry {
  unique_id: string;
  status: string;
  max_loaded_at?: string | null;
  snapshotted_at?: string | null;
  max_loaded_at_time_ago_in_s?: number | null;
  criteria?: { warn_after?: FreshnessThreshold | null; error_after?: FreshnessThreshold | null; filter?: string | null };
  /** Older dbt versions list runtime errors here, with the message. */
  error?: string | null;
  timing?: RunResultEntry['timing'];
  execution_time?: number;
}

export interface SourcesJson {
  metadata: { invocation_id?: string; dbt_version?: string; generated_at?: string };
  results: SourceFreshnessEntry[];
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

export function readManifest(targetPath: string): Promise<Manifest | undefined> {
  return readJson<Manifest>(path.join(targetPath, 'manifest.json'));
}

/**
 * run_results.json of the invocation `invocationId` only: dbt does not write it when it stops
 * before execution, so an older file may be lying there.
 */
export async function readRunResults(targetPath: string, invocationId: string | undefined): Promise<RunResults | undefined> {
  const results = await readJson<RunResults>(path.join(targetPath, 'run_results.json'));
  if (!results || !invocationId || results.metadata?.invocation_id !== invocationId) return undefined;
  return results;
}

/** sources.json of the invocation `invocationId` only (an older file may be lying there). */
export async function readSourcesJson(targetPath: string, invocationId: string | undefined): Promise<SourcesJson | undefined> {
  const sources = await readJson<SourcesJson>(path.join(targetPath, 'sources.json'));
  if (!sources || !invocationId || sources.metadata?.invocation_id !== invocationId) return undefined;
  return sources;
}

/** `"db"."schema"."alias"` -> `db.schema.alias`. */
export function displayRelation(relationName: string | null | undefined): string | undefined {
  if (!relationName) return undefined;
  return relationName.replace(/"/g, '');
}

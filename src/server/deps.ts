// What the HTTP API's routes use: the metadata store, and Temporal (to start, cancel and read
// builds; the server never runs dbt itself). Routes get these; nothing else is global.
import type { Client } from '@temporalio/client';
import type { Pool } from '../store/db.js';

export interface TemporalAccess {
  /** A connected client; connects on first use. Throws when Temporal cannot be reached. */
  client(): Promise<Client>;
  namespace: string;
  taskQueue: string;
  /** The Temporal Web UI, for links to workflows. */
  uiUrl?: string;
}

export interface ServerDeps {
  pool: Pool;
  temporal: TemporalAccess;
}

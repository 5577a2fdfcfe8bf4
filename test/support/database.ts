// A throwaway, migrated metadata database on the shared Postgres, per test file.
import pg from 'pg';
import { createPool, type Pool } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { stack, uniqueName } from './stack.js';

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'store'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: stack().postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  await admin.end();
  const url = stack().postgresAdminUrl.replace(/\/postgres$/, `/${name}`);
  await migrate(url);
  const pool = createPool(url);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const a = new pg.Client({ connectionString: stack().postgresAdminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${a.escapeIdentifier(name)} WITH (FORCE)`);
      await a.end();
    },
  };
}

// Versioned schema migrations (node-pg-migrate, SQL files in ./migrations), applied by
// `watcher migrate`, `watcher dev` and worker start-up. An advisory lock serialises workers
// that start together.
import { runner } from 'node-pg-migrate';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
export const MIGRATIONS_TABLE = 'watcher_migrations';

export async function migrate(databaseUrl: string, options: { direction?: 'up' | 'down'; count?: number; log?: (line: string) => void } = {}): Promise<string[]> {
  const log = options.log ?? (() => undefined);
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction: options.direction ?? 'up',
    count: options.count,
    checkOrder: true,
    advisoryLockMode: 'wait',
    log: (message: string) => log(message),
    logger: { debug: () => undefined, info: (m: string) => log(m), warn: (m: string) => log(m), error: (m: string) => log(m) },
  });
  return applied.map((m) => m.name);
}

// Versioned schema migrations (node-pg-migrate, SQL files in ./migrations), applied by
// `watcher migrate`, `watcher dev` and worker start-up. An advisory lock serialises workers
// that start together.
import { runner } from 'node-pg-migrate';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
export const MIGRATIONS_TABLE = 'watcher_migrations';

/**
 * Apply pending migrations (`up`, the default), or roll back the last `count` (`down`).
 * A down migration drops tables and their data, so its count must be a positive integer:
 * node-pg-migrate reads 0 (and Infinity) as "every migration".
 */
export async function migrate(databaseUrl: string, options: { direction?: 'up' | 'down'; count?: number; log?: (line: string) => void } = {}): Promise<string[]> {
  if (options.direction === 'down' && !(Number.isSafeInteger(options.count) && options.count! >= 1)) {
    throw new RangeError(`a down migration needs a count of 1 or more (how many to roll back), not ${String(options.count)}`);
  }
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

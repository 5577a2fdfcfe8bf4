// `watcher serve` (the HTTP API) and `watcher token create|revoke|list` (its bearer tokens).
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { createPool } from '../store/db.js';
import { API_SCOPES, createToken, listTokens, revokeToken, type ApiScope } from '../store/tokens.js';
import { DEFAULT_API_PORT, startServer } from '../server/serve.js';
import { integerArg, portArg, textArg } from './options.js';
import { renderTable } from './render.js';

function databaseUrlOrThrow(): string {
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('no metadata database: set DATABASE_URL, or start `watcher dev`');
  return databaseUrl;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the HTTP API (etl-watcher compatible, plus builds) and its docs at /docs; bearer tokens required')
    .option('--host <address>', 'address to bind (loopback unless you mean otherwise)', textArg('--host'), '127.0.0.1')
    .addOption(new Option('--port <port>', 'port').argParser(portArg('--port')).default(DEFAULT_API_PORT))
    .addOption(new Option('--rate-limit <n>', 'requests per minute per token').argParser(integerArg('--rate-limit', { min: 1 })))
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug']).default('info'))
    .action(async (opts: { host: string; port: number; rateLimit?: number; logLevel: string }) => {
      const server = await startServer(loadConfig(), { host: opts.host, port: opts.port, rateLimitPerMinute: opts.rateLimit, logger: { level: opts.logLevel } });
      console.error(`watcher: API on ${server.url} (docs: ${server.url}/docs; dashboard: ${server.url}/ui/builds)`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await server.close();
    });
}

export function tokenCommand(): Command {
  const token = new Command('token').description("the HTTP API's bearer tokens (stored hashed in the metadata database)");
  token
    .command('create')
    .description('create a token and print it once (it cannot be shown again)')
    .requiredOption('--name <name>', 'a unique name, e.g. the client that uses it', textArg('--name'))
    .addOption(new Option('--scope <scope>', 'read: GET routes; write: also record executions and start/cancel builds; admin: everything').choices([...API_SCOPES]).makeOptionMandatory())
    .action(async (opts: { name: string; scope: ApiScope }) => {
      const pool = createPool(databaseUrlOrThrow());
      try {
        const { token: plaintext } = await createToken(pool, opts.name, opts.scope);
        console.log(plaintext);
      } finally {
        await pool.end();
      }
    });
  token
    .command('revoke')
    .description('revoke a token by name (effective on the next request)')
    .argument('<name>', 'the token', textArg('<name>'))
    .action(async (name: string) => {
      const pool = createPool(databaseUrlOrThrow());
      try {
        if (!(await revokeToken(pool, name))) throw new Error(`no live token named "${name}"`);
        console.log(`revoked ${name}`);
      } finally {
        await pool.end();
      }
    });
  token
    .command('list')
    .description('list tokens (names and scopes; never the tokens themselves)')
    .action(async () => {
      const pool = createPool(databaseUrlOrThrow());
      try {
        const rows = await listTokens(pool);
        console.log(renderTable(['name', 'scope', 'created', 'revoked'], rows.map((r) => [r.name, r.scope, r.created_at.toISOString(), r.revoked_at?.toISOString() ?? ''])));
      } finally {
        await pool.end();
      }
    });
  return token;
}

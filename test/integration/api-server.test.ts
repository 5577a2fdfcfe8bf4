// The HTTP API's frame against real Postgres: health and readiness, the served OpenAPI
// document and docs page, bearer tokens and scopes, error bodies, body limits, rate limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/serve.js';
import { revokeToken, listTokens } from '../../src/store/tokens.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { createTestDatabase } from '../support/database.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

describe('health', () => {
  it('answers /healthz, /readyz and GET / without a token', async () => {
    expect((await api.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await api.call('GET', '/readyz')).body).toEqual({ status: 'ready' });
    expect((await api.call('GET', '/')).status).toBe(200);
  });

  it('serves its OpenAPI document and an interactive docs page', async () => {
    const doc = await api.call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toContain('/readyz');
    const docs = await fetch(`${api.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });
});

describe('auth', () => {
  it('refuses a request without a token, with a wrong token, and with a revoked one', async () => {
    const none = await api.call('GET', '/pipeline');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: 'unauthorized', code: 401 });
    expect(none.body.message).toMatch(/bearer token/);
    expect((await api.call('GET', '/pipeline', { token: 'wt_not-a-real-token' })).status).toBe(401);

    const read = await api.call('GET', '/pipeline', { token: await api.token('read') });
    expect(read.status).not.toBe(401);

    const token = await api.token('read');
    const name = (await listTokens(api.db.pool)).at(-1)!.name;
    expect(await revokeToken(api.db.pool, name)).toBe(true);
    expect((await api.call('GET', '/pipeline', { token })).status).toBe(401);
  });

  it('refuses a token the server has cached as soon as it is revoked (NOTIFY), within a bound', async () => {
    const token = await api.token('read');
    const name = (await listTokens(api.db.pool)).at(-1)!.name;
    expect((await api.call('GET', '/pipeline', { token })).status).toBe(200);
    expect((await api.call('GET', '/pipeline', { token })).status).toBe(200); // now served from the cache
    expect(await revokeToken(api.db.pool, name)).toBe(true);
    const deadline = Date.now() + 5_000;
    let status = 200;
    while (status !== 401 && Date.now() < deadline) {
      status = (await api.call('GET', '/pipeline', { token })).status;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(401);
  });

  it('enforces scopes per route: a read token cannot write', async () => {
    const read = await api.token('read');
    const r = await api.call('POST', '/pipeline', { token: read, body: { name: 'scoped', pipeline_type_name: 'extract' } });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/scope read.*needs write/);
  });

  it('stores tokens hashed, never in plaintext', async () => {
    const token = await api.token('admin');
    const rows = await api.db.pool.query<{ token_hash: string }>('SELECT token_hash FROM api_token');
    expect(rows.rows.every((r) => r.token_hash.length === 64 && r.token_hash !== token)).toBe(true);
    expect(JSON.stringify(rows.rows)).not.toContain(token);
  });
});

describe('binding', () => {
  it('refuses a public address with no token, and no auth on anything but loopback', async () => {
    const db = await createTestDatabase('api_bind');
    try {
      const config = loadConfig({ databaseUrl: db.url });
      await expect(startServer(config, { host: '0.0.0.0', port: 0, pool: db.pool })).rejects.toThrow(/refusing to serve on 0\.0\.0\.0 with no API token.*watcher token create/);
      await expect(startServer(config, { host: '0.0.0.0', port: 0, pool: db.pool, noAuth: true })).rejects.toThrow(/only a loopback address may go without tokens/);
      // loopback with tokens required starts even with no token yet (nothing is open)
      const local = await startServer(config, { host: '127.0.0.1', port: 0, pool: db.pool });
      try {
        expect((await fetch(`${local.url}/pipeline`)).status).toBe(401);
      } finally {
        await local.close();
      }
    } finally {
      await db.drop();
    }
  });
});

describe('bad requests', () => {
  it('answers malformed JSON, a huge body and an unknown route with a clear 4xx', async () => {
    const token = await api.token('write');
    const malformed = await api.call('POST', '/pipeline', { token, rawBody: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/not valid JSON/);
    const huge = await api.call('POST', '/pipeline', { token, rawBody: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    const unknown = await api.call('GET', '/no-such-route', { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/no route GET \/no-such-route/);
  });
});

describe('rate limit', () => {
  it('answers 429 past the per-token limit, naming it', async () => {
    const limited = await startTestApi({ rateLimitPerMinute: 3 });
    try {
      const token = await limited.token('read');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await limited.call('GET', '/pipeline', { token })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const last = await limited.call('GET', '/pipeline', { token });
      expect(last.status).toBe(429);
      expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
      // health is never limited: probes must keep answering
      expect((await limited.call('GET', '/readyz')).status).toBe(200);
      expect(last.body.message).toMatch(/rate limit of 3 requests per minute/);
    } finally {
      await limited.close();
    }
  });
});

// The TypeScript client's own logic, over an injected fetch: URLs and query strings, the
// bearer header, error bodies turned into WatcherApiError, and waitForBuild's bound.
import { describe, expect, it } from 'vitest';
import { Watcher, WatcherApiError } from '../../src/api-client.js';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

function fakeFetch(answer: (seen: Seen) => Response): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const f = (async (url: string, init: RequestInit) => {
    const s = { url, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: init.body as string | undefined };
    seen.push(s);
    return answer(s);
  }) as unknown as typeof fetch;
  return { fetch: f, seen };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('Watcher client', () => {
  it('builds URLs with encoded paths and query strings, and sends the token', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { builds: [], addresses: [] }));
    const watcher = new Watcher({ baseUrl: 'http://api.test:8300/', token: 'wt_abc', fetch });
    await watcher.listBuilds({ status: 'error', from: new Date('2026-01-02T03:04:05Z'), limit: 10 });
    await watcher.lineage('db.sch/x.y', { direction: 'downstream' });
    expect(seen[0]!.url).toBe('http://api.test:8300/builds?status=error&from=2026-01-02T03%3A04%3A05.000Z&limit=10');
    expect(seen[0]!.headers.authorization).toBe('Bearer wt_abc');
    expect(seen[0]!.headers['content-type']).toBeUndefined();
    expect(seen[1]!.url).toBe('http://api.test:8300/lineage/db.sch%2Fx.y?direction=downstream');
  });

  it('sends dates as ISO strings and tells a created pipeline from an existing one', async () => {
    let status = 201;
    const { fetch, seen } = fakeFetch((s) => (s.url.endsWith('/pipeline') ? json(status, { id: 7, active: true, load_lineage: true, watermark: null }) : new Response(null, { status: 204 })));
    const watcher = new Watcher({ baseUrl: 'http://api.test', fetch });
    expect(await watcher.syncPipeline({ name: 'p', pipeline_type_name: 'extract' })).toMatchObject({ id: 7, created: true });
    status = 200;
    expect((await watcher.syncPipeline({ name: 'p', pipeline_type_name: 'extract' })).created).toBe(false);
    await watcher.endExecution({ id: 3, end_date: new Date('2026-01-01T00:00:00Z'), completed_successfully: true });
    expect(JSON.parse(seen[2]!.body!)).toEqual({ id: 3, end_date: '2026-01-01T00:00:00.000Z', completed_successfully: true });
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it('throws WatcherApiError with the status, kind, message and fields of the error body', async () => {
    const { fetch } = fakeFetch(() =>
      json(422, { message: 'body.threads: must be at least 1', error: 'validation_error', code: 422, details: [{ field: 'body.threads', message: 'must be at least 1' }], detail: '' }),
    );
    const err = await new Watcher({ baseUrl: 'http://api.test', fetch }).startBuild({ projectDir: '/p', threads: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatcherApiError);
    expect(err).toMatchObject({ status: 422, kind: 'validation_error', message: 'body.threads: must be at least 1', details: [{ field: 'body.threads', message: 'must be at least 1' }] });
  });

  it('keeps a body that is not JSON as the message', async () => {
    const { fetch } = fakeFetch(() => new Response('upstream proxy exploded', { status: 502 }));
    const err = await new Watcher({ baseUrl: 'http://api.test', fetch }).getBuild('b1').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, kind: 'http_502', message: 'upstream proxy exploded' });
  });

  it('reports a network failure as status 0', async () => {
    const fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof globalThis.fetch;
    const err = await new Watcher({ baseUrl: 'http://api.test', fetch }).listBuilds().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, kind: 'network' });
  });

  it('waitForBuild polls until the build ends, and gives up at its bound', async () => {
    let polls = 0;
    const { fetch } = fakeFetch(() => json(200, { buildId: 'b1', status: ++polls < 3 ? 'running' : 'success', nodes: [], nodeCounts: {} }));
    const watcher = new Watcher({ baseUrl: 'http://api.test', fetch });
    expect((await watcher.waitForBuild('b1', { pollMs: 1, timeoutMs: 5_000 })).status).toBe('success');
    expect(polls).toBe(3);

    const running = fakeFetch(() => json(200, { buildId: 'b2', status: 'running', nodes: [], nodeCounts: {} }));
    const started = Date.now();
    const err = await new Watcher({ baseUrl: 'http://api.test', fetch: running.fetch }).waitForBuild('b2', { pollMs: 20, timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(running.seen.length).toBeGreaterThan(1);
  });
});

// Liveness and readiness, and etl-watcher's heartbeat route `GET /`: open and never
// rate-limited (orchestrators probe them often).
import { z } from 'zod';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';

const READY_TIMEOUT_MS = 2_000;

export function healthRoutes(app: Api, deps: ServerDeps): void {
  app.get('/', {
    schema: { summary: 'Heartbeat (etl-watcher)', tags: ['etl-watcher'], response: { 200: z.object({ status: z.string(), service: z.string() }) } },
    config: { scope: 'none', rateLimit: false },
  }, () => ({ status: 'ok', service: 'watcher' }));

  app.get('/healthz', {
    schema: { summary: 'The process is up', tags: ['health'], response: { 200: z.object({ status: z.literal('ok') }) } },
    config: { scope: 'none', rateLimit: false },
  }, () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: {
      summary: 'The metadata database answers',
      tags: ['health'],
      response: { 200: z.object({ status: z.literal('ready') }), 503: z.object({ status: z.literal('unavailable'), reason: z.string() }) },
    },
    config: { scope: 'none', rateLimit: false },
  }, async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.pool.query('SELECT 1'),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS); }),
      ]);
      return { status: 'ready' as const };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable' as const, reason: `metadata database: ${err instanceof Error ? err.message : String(err)}` });
    } finally {
      clearTimeout(timer);
    }
  });
}

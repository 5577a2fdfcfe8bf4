// A build's detail, live, as server-sent events: the dashboard's build page opens one stream
// instead of polling. The server re-reads the build each second and sends it only when it
// changed (`build` events), then `end` once the build's end is recorded. Every stream has an
// owner that ends it: the client leaving, the build ending, its lifetime bound (the browser's
// EventSource reconnects by itself), or the server closing.
import { z } from 'zod';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';
import { errorResponses } from '../schemas.js';
import { buildId, readBuildDetail, type BuildDetailBody } from './builds.js';

/** How often a live build is re-read (one SQL read and, while it runs, one Temporal query). */
const POLL_MS = 1_000;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
/** No stream lives longer; the browser reconnects and gets a fresh one. */
const MAX_STREAM_MS = 30 * 60_000;
/** Temporal says the build closed but its end is not recorded yet: wait this long for the record. */
const RECORD_GRACE_MS = 10_000;

/** Ended for good: recorded as ended, or closed in Temporal for longer than the grace. */
function hasEnded(build: BuildDetailBody, closedSince: number | undefined, now: number): boolean {
  if (build.status === 'running') return false;
  const recordedEnd = build.workflowStatus === undefined; // Temporal is asked only while the record says running
  return recordedEnd || (closedSince !== undefined && now - closedSince >= RECORD_GRACE_MS);
}

export function buildEventRoutes(app: Api, deps: ServerDeps): void {
  const open = new Set<() => void>();
  // Streams never end by themselves while a build runs: closing the server ends them first.
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    done();
  });

  app.get('/builds/:buildId/events', {
    schema: {
      summary: "A build's detail, live (server-sent events)",
      description:
        'text/event-stream: `build` events carry the same body as GET /builds/{buildId}, sent when it changes; `end` follows once the build has ended, then the stream closes. 404 when the build is unknown.',
      tags: ['watcher'],
      params: z.object({ buildId }),
      response: { 200: z.string().describe('text/event-stream'), ...errorResponses },
    },
  }, async (request, reply) => {
    const id = request.params.buildId;
    const first = await readBuildDetail(deps, id); // unknown build: a plain 404 before any stream starts
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });

    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const startedAt = Date.now();
    let lastSent = '';
    let lastWrite = Date.now();
    let closedSince: number | undefined;

    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      open.delete(end);
      raw.end();
    };
    open.add(end);
    // The response closes when the client goes away (or after end()).
    raw.on('close', end);

    const send = (event: string, data: string) => {
      raw.write(`event: ${event}\ndata: ${data}\n\n`);
      lastWrite = Date.now();
    };
    const publish = (build: BuildDetailBody) => {
      const body = JSON.stringify(build);
      if (body !== lastSent) send('build', body);
      lastSent = body;
      const now = Date.now();
      if (build.status !== 'running') closedSince ??= now;
      if (hasEnded(build, closedSince, now)) {
        send('end', JSON.stringify({ status: build.status }));
        end();
      }
    };
    const tick = async () => {
      try {
        publish(await readBuildDetail(deps, id));
      } catch (err) {
        // A failed read (Postgres or Temporal away) is tried again on the next tick.
        request.log.warn({ err, buildId: id }, 'build event stream: read failed');
      }
      if (ended) return;
      if (Date.now() - startedAt >= MAX_STREAM_MS) return end();
      if (Date.now() - lastWrite >= KEEP_ALIVE_MS) {
        raw.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      schedule();
    };
    const schedule = () => {
      timer = setTimeout(() => void tick(), POLL_MS);
    };

    publish(first);
    if (!ended) schedule();
    return reply;
  });
}

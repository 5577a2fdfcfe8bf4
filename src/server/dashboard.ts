// The dashboard's files: src/dashboard/ bundled by esbuild (once per process, on the first
// request for them, so API-only servers never pay for it) and one HTML page for every
// address under /ui/ (the browser routes). Data comes from the API's own routes.
import { build } from 'esbuild';
import type { FastifyReply, FastifyRequest } from 'fastify';
import path from 'node:path';
import { PROJECT_ROOT } from '../toolchain.js';
import { z } from 'zod';
import type { Api } from './app.js';
import { notFound } from './errors.js';

const ENTRY = path.join(PROJECT_ROOT, 'src', 'dashboard', 'main.tsx');

export interface DashboardBundle {
  /** Every file under /ui/assets/ by name: app.js (the entry), app.css, and the chunks it imports when a page needs them. */
  files: Map<string, string>;
  /** The chunks app.js imports at once: the page preloads them (no request waterfall). */
  preload: string[];
}

let bundling: Promise<DashboardBundle> | undefined;

/**
 * The bundle (built on first use, then kept): no CDN, everything the pages need is in it. Split
 * into chunks: the charts (echarts) and the graph (cytoscape) load only on the pages that draw
 * them, so the builds page does not parse a megabyte of code it never runs.
 */
export function dashboardBundle(): Promise<DashboardBundle> {
  bundling ??= build({
    entryPoints: { app: ENTRY },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    write: false,
    outdir: 'out',
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'silent',
  }).then((result) => ({
    files: new Map(result.outputFiles.map((f) => [path.basename(f.path), f.text])),
    preload: (result.metafile.outputs['out/app.js']?.imports ?? []).filter((i) => i.kind === 'import-statement').map((i) => path.basename(i.path)),
  }));
  bundling.catch(() => {
    bundling = undefined; // a failed bundle is tried again on the next request
  });
  return bundling;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Watcher</title>
<link rel="stylesheet" href="/ui/assets/app.css">
<script type="module" src="/ui/assets/app.js"></script>
<!--preload-->
</head>
<body>
<div id="app"><noscript>The Watcher dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;

/** Only this origin's files and data; styles set by the charts at run time are allowed. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function dashboardRoutes(app: Api): void {
  const open = { schema: { hide: true }, config: { scope: 'none' as const } };
  const types: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
  app.get('/ui/assets/:file', { ...open, schema: { hide: true, params: z.object({ file: z.string().max(100) }) } }, async (request, reply) => {
    const { files } = await dashboardBundle();
    const text = files.get(request.params.file);
    if (text === undefined) throw notFound(`dashboard asset ${request.params.file}`);
    return reply.type(types[path.extname(request.params.file)] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(text);
  });
  const page = async (_request: FastifyRequest, reply: FastifyReply) => {
    // The bundle is needed by the page anyway; a failed one leaves the page without preloads (app.js answers the error).
    const preload = await dashboardBundle().then((b) => b.preload, () => []);
    const html = PAGE.replace('<!--preload-->', preload.map((f) => `<link rel="modulepreload" href="/ui/assets/${f}">`).join('\n'));
    return reply.type('text/html; charset=utf-8').header('content-security-policy', CONTENT_SECURITY_POLICY).send(html);
  };
  app.get('/ui', open, page);
  app.get('/ui/*', open, page);
}

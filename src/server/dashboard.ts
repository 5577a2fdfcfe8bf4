// The dashboard's files: src/dashboard/ bundled by esbuild (once per process, on the first
// request for them, so API-only servers never pay for it) and one HTML page for every
// address under /ui/ (the browser routes). Data comes from the API's own routes.
import { build } from 'esbuild';
import type { FastifyReply, FastifyRequest } from 'fastify';
import path from 'node:path';
import { PROJECT_ROOT } from '../toolchain.js';
import type { Api } from './app.js';

const ENTRY = path.join(PROJECT_ROOT, 'src', 'dashboard', 'main.tsx');

export interface DashboardBundle {
  js: string;
  css: string;
}

let bundling: Promise<DashboardBundle> | undefined;

/** The bundle (built on first use, then kept): no CDN, everything the pages need is in it. */
export function dashboardBundle(): Promise<DashboardBundle> {
  bundling ??= build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  }).then((result) => {
    const file = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
    return { js: file('.js'), css: file('.css') };
  });
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
  app.get('/ui/assets/app.js', open, async (_request, reply) => {
    const { js } = await dashboardBundle();
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(js);
  });
  app.get('/ui/assets/app.css', open, async (_request, reply) => {
    const { css } = await dashboardBundle();
    return reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(css);
  });
  const page = (_request: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').header('content-security-policy', CONTENT_SECURITY_POLICY).send(PAGE);
  app.get('/ui', open, page);
  app.get('/ui/*', open, page);
}

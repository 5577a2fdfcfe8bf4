// The HTTP API: etl-watcher's routes with its semantics (so its Python SDK works unchanged)
// and Watcher's own (builds, nodes, lineage, watermarks), on Fastify with zod schemas that
// validate every input once and generate the served OpenAPI document (/openapi.json, /docs).
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyInstance, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { LoggerOptions } from 'pino';
import { scopeAllows, type ApiScope } from '../store/tokens.js';
import { TokenCache } from './token-cache.js';
import type { ServerDeps } from './deps.js';
import { ApiError, errorBody, handleError } from './errors.js';
import { dashboardRoutes } from './dashboard.js';
import { buildRoutes } from './routes/builds.js';
import { catalogRoutes } from './routes/catalog.js';
import { dashboardDataRoutes } from './routes/dashboard-data.js';
import { executionRoutes } from './routes/executions.js';
import { healthRoutes } from './routes/health.js';
import { buildEventRoutes } from './routes/build-events.js';
import { lineageViewRoutes } from './routes/lineage-view.js';
import { reportingRoutes } from './routes/reporting.js';
import { SESSION_COOKIE, uiSessionRoutes } from './routes/ui-session.js';

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a token needs for this route; 'none' = open (health, docs). Default: read for GET/HEAD, write otherwise. */
    scope?: ApiScope | 'none';
    /** The body may be left out (the OpenAPI document says so; @fastify/swagger would mark it required). */
    optionalBody?: boolean;
  }
  interface FastifyRequest {
    /** The token's name, when the request carried a valid one. */
    tokenName?: string;
  }
}

export interface AppOptions {
  /** 'tokens': every route but health and docs needs a bearer token. 'none': only for `watcher dev` on loopback. */
  auth: 'tokens' | 'none';
  /** Requests per minute per token (or per client address without auth). */
  rateLimitPerMinute?: number;
  /** Largest accepted request body, in bytes. */
  bodyLimit?: number;
  logger?: boolean | LoggerOptions;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 60_000;

/**
 * One access line per request, not Fastify's two ("incoming request", then "request completed"):
 * each line is a write to stdout, and at info the two took the server from 0.27 to 0.43 ms of
 * CPU per request (BENCHMARKS.md). The line written when the answer is sent carries the request.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export async function buildApp(deps: ServerDeps, options: AppOptions): Promise<Api> {
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Structured JSON logs (pino). Its request serializer logs no headers; redact them anyway.
    logger: options.logger === undefined || options.logger === false ? false : { ...(options.logger === true ? {} : options.logger), redact: ['req.headers.authorization', 'req.headers.cookie'] },
    requestIdHeader: 'x-request-id',
    logController: new AccessLog(),
    // Path parameters are validated by the routes (address names go up to 1,024 characters).
    routerOptions: { maxParamLength: 4096 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  // Routes whose body may be left out, by "METHOD url": the OpenAPI document must not require one.
  const optionalBodies = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (!route.config?.optionalBody) return;
    for (const method of [route.method].flat()) optionalBodies.add(`${method.toLowerCase()} ${route.url}`);
  });
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Watcher API',
        version: '1.0.0',
        description: "Watcher's metadata API: etl-watcher's routes (its Python SDK works unchanged) and Watcher's dbt builds.",
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: options.auth === 'tokens' ? [{ bearer: [] }] : [],
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      for (const key of optionalBodies) {
        const [method, url] = key.split(' ') as [string, string];
        const operation = (openapiObject.paths?.[url] as Record<string, { requestBody?: { required?: boolean } }> | undefined)?.[method];
        if (operation?.requestBody) operation.requestBody.required = false;
      }
      return openapiObject;
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { scope: 'none' } }, () => app.swagger());

  await app.register(fastifyCookie);
  // Auth before anything else reads the request (rate limiting keys on the token's name).
  const tokens = new TokenCache(deps.pool);
  if (options.auth === 'tokens') {
    await tokens.start();
    app.addHook('onClose', () => tokens.close());
  }
  app.addHook('onRequest', async (request) => {
    const needed = request.routeOptions.config?.scope ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
    if (request.url.startsWith('/docs')) return;
    if (needed === 'none' || options.auth === 'none') return;
    const header = request.headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    // The dashboard's session cookie stands in for a bearer token on reads only (no CSRF on writes).
    const fromCookie = !header && (request.method === 'GET' || request.method === 'HEAD') ? request.cookies[SESSION_COOKIE] : undefined;
    const presented = match?.[1] ?? fromCookie;
    if (!presented) throw new ApiError(401, 'unauthorized', 'missing bearer token: send "Authorization: Bearer <token>" (create one with `watcher token create`)');
    const token = await tokens.lookup(presented);
    if (!token) throw new ApiError(401, 'unauthorized', 'unknown or revoked token');
    if (!scopeAllows(token.scope, needed)) throw new ApiError(403, 'forbidden', `token "${token.name}" has scope ${token.scope}; this route needs ${needed}`);
    request.tokenName = token.name;
  });

  await app.register(fastifyRateLimit, {
    max: options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => (request.tokenName ? `token:${request.tokenName}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) => {
      const error = new ApiError(429, 'rate_limited', `rate limit of ${context.max} requests per minute reached; retry after ${context.after}`);
      return error;
    },
  });

  healthRoutes(app, deps);
  catalogRoutes(app, deps);
  executionRoutes(app, deps);
  reportingRoutes(app, deps);
  buildRoutes(app, deps);
  buildEventRoutes(app, deps);
  uiSessionRoutes(app, tokens, options.auth);
  dashboardDataRoutes(app, deps);
  lineageViewRoutes(app, deps);
  dashboardRoutes(app);
  return app;
}

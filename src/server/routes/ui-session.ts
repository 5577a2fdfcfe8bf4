// The dashboard's sign-in: the browser hands an API token over once and the server keeps it in
// an HTTP-only, SameSite=Strict cookie (page scripts never see it). The cookie only ever stands
// in for a bearer token on reads (GET/HEAD, see app.ts): a forged cross-site form can write
// nothing with it.
import { z } from 'zod';
import type { Api } from '../app.js';
import type { TokenCache } from '../token-cache.js';
import { ApiError } from '../errors.js';
import { errorResponses } from '../schemas.js';

export const SESSION_COOKIE = 'watcher_session';
/** How long a sign-in lasts; the token's own revocation ends it sooner. */
const SESSION_SECONDS = 12 * 60 * 60;

export function uiSessionRoutes(app: Api, tokens: TokenCache, auth: 'tokens' | 'none'): void {
  app.post('/ui/session', {
    config: { scope: 'none' },
    // The dashboard's own, not part of the client API: left out of the OpenAPI document.
    schema: {
      hide: true,
      body: z.object({ token: z.string().min(1).max(512) }).strict(),
      response: { 204: z.null(), ...errorResponses },
    },
  }, async (request, reply) => {
    if (auth === 'tokens') {
      const token = await tokens.lookup(request.body.token);
      if (!token) throw new ApiError(401, 'unauthorized', 'unknown or revoked token');
      request.log.info({ tokenName: token.name }, 'dashboard signed in');
    }
    void reply.setCookie(SESSION_COOKIE, request.body.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      // Secure whenever the page came over TLS; plain http only reaches a loopback server unless told otherwise.
      secure: request.protocol === 'https',
      maxAge: SESSION_SECONDS,
    });
    return reply.code(204).send(null);
  });

  app.delete('/ui/session', {
    config: { scope: 'none' },
    schema: { hide: true },
  }, async (_request, reply) => {
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });
}

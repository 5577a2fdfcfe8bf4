// API tokens: created and revoked by `watcher token`, checked by the HTTP server on every
// request. The plaintext is shown once at creation; only its SHA-256 is stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from './db.js';

export const API_SCOPES = ['read', 'write', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Whether a token of scope `held` may call a route that needs `needed` (admin > write > read). */
export function scopeAllows(held: ApiScope, needed: ApiScope): boolean {
  return API_SCOPES.indexOf(held) >= API_SCOPES.indexOf(needed);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface TokenInfo {
  id: number;
  name: string;
  scope: ApiScope;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export class TokenNameTakenError extends Error {
  constructor(name: string) {
    super(`a token named "${name}" already exists (revoke it first, or pick another name)`);
    this.name = 'TokenNameTakenError';
  }
}

/** Create a token; returns its plaintext, which is never stored and cannot be shown again. */
export async function createToken(pool: Pool, name: string, scope: ApiScope): Promise<{ token: string; info: TokenInfo }> {
  const token = `wt_${randomBytes(32).toString('base64url')}`;
  try {
    const r = await pool.query<TokenInfo>(
      'INSERT INTO api_token (name, token_hash, scope) VALUES ($1, $2, $3) RETURNING id, name, scope::text AS scope, created_at, revoked_at, last_used_at',
      [name, hashToken(token), scope],
    );
    return { token, info: r.rows[0]! };
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new TokenNameTakenError(name);
    throw err;
  }
}

/** Servers cache live tokens and forget them all when this channel is notified. */
export const TOKEN_REVOKED_CHANNEL = 'watcher_api_token_revoked';

/** Revoke a token by name; false when no live token has that name. Servers hear of it at commit (NOTIFY). */
export async function revokeToken(pool: Pool, name: string): Promise<boolean> {
  const r = await pool.query<{ n: number }>(
    `WITH revoked AS (UPDATE api_token SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING id)
     SELECT count(*)::int AS n, pg_notify($2, '') FROM revoked`,
    [name, TOKEN_REVOKED_CHANNEL],
  );
  return r.rows[0]!.n > 0;
}

export async function listTokens(pool: Pool): Promise<TokenInfo[]> {
  const r = await pool.query<TokenInfo>('SELECT id, name, scope::text AS scope, created_at, revoked_at, last_used_at FROM api_token ORDER BY id');
  return r.rows;
}

export async function liveTokenCount(pool: Pool): Promise<number> {
  const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_token WHERE revoked_at IS NULL');
  return r.rows[0]!.n;
}

/** The live token matching a presented bearer value, or undefined. */
export async function findLiveToken(pool: Pool, presented: string): Promise<{ name: string; scope: ApiScope } | undefined> {
  const hash = hashToken(presented);
  const r = await pool.query<{ name: string; scope: ApiScope; token_hash: string }>(
    'SELECT name, scope::text AS scope, token_hash FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL',
    [hash],
  );
  const row = r.rows[0];
  // The lookup is by hash (an attacker cannot steer it); compare again in constant time anyway.
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  return { name: row.name, scope: row.scope };
}

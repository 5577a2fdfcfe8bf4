// Live tokens remembered by the server, so a request costs no Postgres round trip for its
// token (half the round trips of a start or an end). Correct under revocation: revokeToken
// NOTIFYs at commit and this cache forgets everything it holds; while its LISTEN connection is
// not up, nothing is cached and every request asks Postgres.
import type { Pool, PoolClient } from '../store/db.js';
import { findLiveToken, hashToken, TOKEN_REVOKED_CHANNEL, type ApiScope } from '../store/tokens.js';

const RECONNECT_MS = 2_000;

export interface LiveToken {
  name: string;
  scope: ApiScope;
}

export class TokenCache {
  private readonly byHash = new Map<string, LiveToken>();
  private listener: PoolClient | undefined;
  /** Bumped by every revocation and every lost LISTEN: a lookup begun before one must not be cached. */
  private generation = 0;
  private reconnect: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly pool: Pool) {}

  /** Start listening for revocations (failures only delay caching: lookups still work). */
  async start(): Promise<void> {
    if (this.closed || this.listener) return;
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      client.on('notification', () => this.forget());
      client.on('error', () => this.lost(client!));
      client.on('end', () => this.lost(client!));
      await client.query(`LISTEN ${TOKEN_REVOKED_CHANNEL}`);
      if (this.closed) {
        client.release(true);
        return;
      }
      this.listener = client;
    } catch {
      client?.release(true);
      this.scheduleReconnect();
    }
  }

  async lookup(presented: string): Promise<LiveToken | undefined> {
    const hash = hashToken(presented);
    const cached = this.listener ? this.byHash.get(hash) : undefined;
    if (cached) return cached;
    const generation = this.generation;
    const token = await findLiveToken(this.pool, presented);
    // Cache only what no revocation (and no lost LISTEN) can have overtaken.
    if (token && this.listener && generation === this.generation) this.byHash.set(hash, token);
    return token;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    const listener = this.listener;
    this.listener = undefined;
    this.forget();
    if (listener) {
      await listener.query(`UNLISTEN ${TOKEN_REVOKED_CHANNEL}`).catch(() => undefined);
      listener.release(true);
    }
  }

  private forget(): void {
    this.generation++;
    this.byHash.clear();
  }

  private lost(client: PoolClient): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.forget();
    client.release(true);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnect) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      void this.start();
    }, RECONNECT_MS);
    this.reconnect.unref();
  }
}

// The alert delivery ledger in Postgres (table alert_delivery): exactly once per (channel,
// idempotency key). A claim is one statement, so two senders racing for the same key cannot
// both win; a claim older than the lease counts as abandoned (its worker died mid-request).
import type { Alert } from '../monitoring/alerts.js';
import { CLAIM_LEASE_MS, type DeliveryLedger } from '../monitoring/notifier.js';
import type { Pool } from './db.js';

export interface AlertDeliveryRow {
  channel: string;
  idempotency_key: string;
  kind: string;
  status: 'sending' | 'retrying' | 'failed' | 'delivered';
  attempts: number;
  first_attempt_at: Date;
  last_attempt_at: Date;
  delivered_at: Date | null;
  last_error: string | null;
}

export function postgresLedger(pool: Pool, leaseMs: number = CLAIM_LEASE_MS): DeliveryLedger {
  return {
    async claim(channel, alerts: Alert[]) {
      const keys = alerts.map((a) => a.idempotencyKey);
      const kinds = alerts.map((a) => a.kind);
      // Insert new keys as `sending`; take over existing ones unless delivered or claimed by
      // someone else within the lease. RETURNING lists exactly the keys this caller now holds.
      const won = await pool.query<{ idempotency_key: string }>(
        `INSERT INTO alert_delivery AS d (channel, idempotency_key, kind, status)
         SELECT $1, k, kd, 'sending' FROM unnest($2::text[], $3::text[]) AS t(k, kd)
         ON CONFLICT (channel, idempotency_key) DO UPDATE
           SET status = 'sending', attempts = d.attempts + 1, last_attempt_at = now()
           WHERE d.status <> 'delivered'
             AND NOT (d.status = 'sending' AND d.last_attempt_at > now() - make_interval(secs => $4::double precision / 1000))
         RETURNING d.idempotency_key`,
        [channel, keys, kinds, leaseMs],
      );
      const claimed = new Set(won.rows.map((r) => r.idempotency_key));
      const others = keys.filter((k) => !claimed.has(k));
      const delivered = new Set<string>();
      const inFlight = new Set<string>();
      if (others.length > 0) {
        const rows = await pool.query<{ idempotency_key: string; status: string }>(
          'SELECT idempotency_key, status FROM alert_delivery WHERE channel = $1 AND idempotency_key = ANY($2::text[])',
          [channel, others],
        );
        for (const r of rows.rows) (r.status === 'delivered' ? delivered : inFlight).add(r.idempotency_key);
      }
      return { claimed, delivered, inFlight };
    },
    async markDelivered(channel, keys) {
      await pool.query(
        `UPDATE alert_delivery SET status = 'delivered', delivered_at = now(), last_error = NULL
         WHERE channel = $1 AND idempotency_key = ANY($2::text[])`,
        [channel, keys],
      );
    },
    async markFailed(channel, keys, error, permanent) {
      // Only a row this caller still holds: a claim taken over after the lease is the new holder's.
      await pool.query(
        `UPDATE alert_delivery SET status = $3, last_error = $4
         WHERE channel = $1 AND idempotency_key = ANY($2::text[]) AND status = 'sending'`,
        [channel, keys, permanent ? 'failed' : 'retrying', error.slice(0, 2_000)],
      );
    },
  };
}

/** The ledger's rows, newest attempt first (tests, and a future `watcher alerts` command). */
export async function listAlertDeliveries(pool: Pool, filter: { channel?: string; idempotencyKey?: string } = {}): Promise<AlertDeliveryRow[]> {
  const res = await pool.query<AlertDeliveryRow>(
    `SELECT channel, idempotency_key, kind, status, attempts, first_attempt_at, last_attempt_at, delivered_at, last_error
     FROM alert_delivery
     WHERE ($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR idempotency_key = $2)
     ORDER BY last_attempt_at DESC, channel, idempotency_key`,
    [filter.channel ?? null, filter.idempotencyKey ?? null],
  );
  return res.rows;
}

// What a check tells people: one Alert per finding, sent by the one notifier
// (src/monitoring/notifier.ts) through every configured channel. The idempotency key names
// the event, so a retried send never delivers the same alert twice.
export const ALERT_KINDS = ['build_failed', 'node_failed', 'freshness_stale', 'timeliness_late', 'anomaly', 'failure_rate'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** etl-watcher's levels (its Slack messages carry one). */
export const ALERT_LEVELS = ['info', 'warning', 'error', 'critical'] as const;
export type AlertLevel = (typeof ALERT_LEVELS)[number];

export interface Alert {
  kind: AlertKind;
  level: AlertLevel;
  /** One line, e.g. `Freshness: model.shop.orders is stale`. */
  title: string;
  /** What happened, for a person. */
  message: string;
  /** Flat facts: pipeline, execution id, last DML, threshold, ... (no secrets). */
  details: Record<string, string | number | boolean | null>;
  /** The event's stable identity, e.g. `freshness:<pipeline_id>:<last_dml>`: the same event is sent once. */
  idempotencyKey: string;
  /** ISO time the finding was made. */
  occurredAt: string;
  /** Where to look: the Temporal UI, the API. */
  links?: Record<string, string>;
}

-- Who has been sent which alert: one row per (channel, idempotency key), so a retried or repeated
-- sendAlerts never delivers the same event twice on a channel. Written by src/store/alerts.ts.
-- status: sending (claimed; a request is in flight until last_attempt_at + the lease),
-- retrying (the receiver failed transiently), failed (a 4xx: not retried by that attempt),
-- delivered (a 2xx: never sent again).

-- Up Migration

CREATE TABLE alert_delivery (
  channel          varchar(64) NOT NULL,
  idempotency_key  varchar(500) NOT NULL,
  kind             varchar(32) NOT NULL,
  status           varchar(16) NOT NULL CHECK (status IN ('sending', 'retrying', 'failed', 'delivered')),
  attempts         integer NOT NULL DEFAULT 1,
  first_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at  timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  -- Redacted by the notifier before it gets here: never a webhook URL.
  last_error       text,
  PRIMARY KEY (channel, idempotency_key)
);

-- Down Migration

DROP TABLE alert_delivery;

-- Watcher's execution metadata, after the etl-watcher data model (see README "Metadata").
-- Differences from etl-watcher, on purpose:
--   * every execution has a closure self row (roots included), so a root shows its children;
--   * execution_key: a natural key, so recording is idempotent under activity retries;
--   * input_hash is SHA-256 of canonical JSON (stable across processes), 64 hex chars;
--   * address lineage edges are unique per pipeline, and the lineage closure keeps one
--     shortest path per (source, target), so diamonds fit and cycles terminate.

-- Up Migration

CREATE TYPE datepart AS ENUM ('minute', 'hour', 'day', 'week', 'month', 'year');
CREATE TYPE anomaly_metric AS ENUM ('duration_seconds', 'inserts', 'updates', 'soft_deletes', 'total_rows', 'throughput');
CREATE TYPE execution_status AS ENUM ('running', 'success', 'warn', 'error', 'fail', 'skipped', 'not_run', 'canceled');

CREATE TABLE pipeline_type (
  id                    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                  varchar(150) NOT NULL UNIQUE,
  freshness_number      integer CHECK (freshness_number > 0),
  freshness_datepart    datepart,
  timeliness_number     integer CHECK (timeliness_number > 0),
  timeliness_datepart   datepart,
  mute_freshness_check  boolean NOT NULL DEFAULT false,
  mute_timeliness_check boolean NOT NULL DEFAULT false,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz,
  CHECK ((freshness_number IS NULL) = (freshness_datepart IS NULL)),
  CHECK ((timeliness_number IS NULL) = (timeliness_datepart IS NULL))
);

CREATE TABLE pipeline (
  id                      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                    varchar(512) NOT NULL,
  pipeline_type_id        integer NOT NULL REFERENCES pipeline_type (id),
  watermark               varchar(50),
  next_watermark          varchar(50),
  pipeline_metadata       jsonb,
  last_target_insert      timestamptz,
  last_target_update      timestamptz,
  last_target_soft_delete timestamptz,
  freshness_number        integer CHECK (freshness_number > 0),
  freshness_datepart      datepart,
  timeliness_number       integer CHECK (timeliness_number > 0),
  timeliness_datepart     datepart,
  mute_freshness_check    boolean NOT NULL DEFAULT false,
  mute_timeliness_check   boolean NOT NULL DEFAULT false,
  load_lineage            boolean NOT NULL DEFAULT true,
  active                  boolean NOT NULL DEFAULT true,
  input_hash              char(64),
  lineage_hash            char(64),
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz,
  CHECK ((freshness_number IS NULL) = (freshness_datepart IS NULL)),
  CHECK ((timeliness_number IS NULL) = (timeliness_datepart IS NULL))
);
CREATE UNIQUE INDEX pipeline_name_key ON pipeline (name) INCLUDE (load_lineage, active, id);
CREATE INDEX pipeline_type_idx ON pipeline (pipeline_type_id);

CREATE TABLE pipeline_execution (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  parent_id              bigint,
  pipeline_id            integer NOT NULL REFERENCES pipeline (id),
  execution_key          varchar(1024) NOT NULL,
  status                 execution_status NOT NULL DEFAULT 'running',
  start_date             timestamptz NOT NULL DEFAULT now(),
  date_recorded          date NOT NULL,
  hour_recorded          smallint NOT NULL CHECK (hour_recorded BETWEEN 0 AND 23),
  end_date               timestamptz,
  duration_seconds       numeric(14, 3) CHECK (duration_seconds >= 0),
  completed_successfully boolean,
  inserts                bigint CHECK (inserts >= 0),
  updates                bigint CHECK (updates >= 0),
  soft_deletes           bigint CHECK (soft_deletes >= 0),
  total_rows             bigint CHECK (total_rows >= 0),
  watermark              varchar(50),
  next_watermark         varchar(50),
  execution_metadata     jsonb,
  anomaly_flags          jsonb,
  throughput             numeric(16, 4) CHECK (throughput >= 0),
  CONSTRAINT execution_ends_after_start CHECK (end_date IS NULL OR end_date >= start_date),
  CONSTRAINT execution_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id),
  CONSTRAINT execution_end_has_outcome CHECK ((end_date IS NULL) = (completed_successfully IS NULL))
);
CREATE UNIQUE INDEX pipeline_execution_key ON pipeline_execution (execution_key);
CREATE INDEX pipeline_execution_start ON pipeline_execution (start_date) INCLUDE (id);
CREATE INDEX pipeline_execution_timeliness ON pipeline_execution (pipeline_id, hour_recorded, end_date) WHERE end_date IS NOT NULL;
CREATE INDEX pipeline_execution_daily ON pipeline_execution (date_recorded, pipeline_id);
-- recent executions of a pipeline, and its last successful one
CREATE INDEX pipeline_execution_recent ON pipeline_execution (pipeline_id, start_date DESC) INCLUDE (id, status);
CREATE INDEX pipeline_execution_last_success ON pipeline_execution (pipeline_id, end_date DESC) INCLUDE (id) WHERE completed_successfully;

CREATE TABLE pipeline_execution_closure (
  parent_execution_id bigint NOT NULL,
  child_execution_id  bigint NOT NULL,
  depth               integer NOT NULL CHECK (depth >= 0),
  PRIMARY KEY (parent_execution_id, child_execution_id),
  CONSTRAINT closure_self_iff_depth_zero CHECK ((depth = 0) = (parent_execution_id = child_execution_id))
);
CREATE INDEX pipeline_execution_closure_parent ON pipeline_execution_closure (parent_execution_id, depth) INCLUDE (child_execution_id);
CREATE INDEX pipeline_execution_closure_child ON pipeline_execution_closure (child_execution_id, depth) INCLUDE (parent_execution_id);

CREATE TABLE address_type (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       varchar(150) NOT NULL UNIQUE,
  group_name varchar(150) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE address (
  id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name             varchar(1024) NOT NULL UNIQUE,
  address_type_id  integer NOT NULL REFERENCES address_type (id),
  database_name    varchar(256),
  schema_name      varchar(256),
  table_name       varchar(256),
  primary_key      varchar(256),
  address_metadata jsonb,
  input_hash       char(64),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz
);

CREATE TABLE address_lineage (
  id                integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pipeline_id       integer NOT NULL REFERENCES pipeline (id),
  source_address_id integer NOT NULL REFERENCES address (id),
  target_address_id integer NOT NULL REFERENCES address (id),
  UNIQUE (pipeline_id, source_address_id, target_address_id)
);
CREATE INDEX address_lineage_source ON address_lineage (source_address_id) INCLUDE (target_address_id);
CREATE INDEX address_lineage_target ON address_lineage (target_address_id) INCLUDE (source_address_id);

CREATE TABLE address_lineage_closure (
  source_address_id integer NOT NULL REFERENCES address (id),
  target_address_id integer NOT NULL REFERENCES address (id),
  depth             integer NOT NULL CHECK (depth >= 0),
  lineage_path      integer[] NOT NULL,
  PRIMARY KEY (source_address_id, target_address_id),
  CHECK (cardinality(lineage_path) = depth + 1)
);
CREATE INDEX address_lineage_closure_target ON address_lineage_closure (target_address_id, depth) INCLUDE (source_address_id);

CREATE TABLE anomaly_detection_rule (
  id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pipeline_id        integer NOT NULL REFERENCES pipeline (id),
  metric_field       anomaly_metric NOT NULL,
  z_threshold        numeric(4, 2) NOT NULL DEFAULT 3.0 CHECK (z_threshold BETWEEN 1 AND 10),
  lookback_days      integer NOT NULL DEFAULT 30 CHECK (lookback_days BETWEEN 1 AND 365),
  minimum_executions integer NOT NULL DEFAULT 30 CHECK (minimum_executions BETWEEN 5 AND 1000),
  active             boolean NOT NULL DEFAULT true,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz,
  UNIQUE (pipeline_id, metric_field)
);

CREATE TABLE anomaly_detection_result (
  pipeline_execution_id bigint NOT NULL REFERENCES pipeline_execution (id),
  rule_id               integer NOT NULL REFERENCES anomaly_detection_rule (id),
  violation_value       numeric NOT NULL,
  z_score               numeric NOT NULL,
  historical_mean       numeric NOT NULL,
  std_deviation_value   numeric NOT NULL,
  z_threshold           numeric(4, 2) NOT NULL,
  threshold_min_value   numeric NOT NULL,
  threshold_max_value   numeric NOT NULL,
  context               jsonb,
  detected_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline_execution_id, rule_id)
);

CREATE TABLE timeliness_pipeline_execution_log (
  pipeline_execution_id bigint PRIMARY KEY REFERENCES pipeline_execution (id),
  pipeline_id           integer NOT NULL REFERENCES pipeline (id),
  duration_seconds      numeric(14, 3) NOT NULL CHECK (duration_seconds >= 0),
  seconds_threshold     integer NOT NULL CHECK (seconds_threshold > 0),
  execution_status      varchar(20) NOT NULL CHECK (execution_status IN ('running', 'completed')),
  timely_number         integer NOT NULL CHECK (timely_number > 0),
  timely_datepart       datepart NOT NULL,
  used_child_config     boolean NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE freshness_pipeline_log (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pipeline_id          integer NOT NULL REFERENCES pipeline (id),
  last_dml_timestamp   timestamptz NOT NULL,
  evaluation_timestamp timestamptz NOT NULL DEFAULT now(),
  freshness_number     integer NOT NULL CHECK (freshness_number > 0),
  freshness_datepart   datepart NOT NULL,
  used_child_config    boolean NOT NULL,
  UNIQUE (pipeline_id, last_dml_timestamp)
);

INSERT INTO address_type (name, group_name) VALUES ('relation', 'database'), ('source', 'database');

-- Down Migration

DROP TABLE freshness_pipeline_log;
DROP TABLE timeliness_pipeline_execution_log;
DROP TABLE anomaly_detection_result;
DROP TABLE anomaly_detection_rule;
DROP TABLE address_lineage_closure;
DROP TABLE address_lineage;
DROP TABLE address;
DROP TABLE address_type;
DROP TABLE pipeline_execution_closure;
DROP TABLE pipeline_execution;
DROP TABLE pipeline;
DROP TABLE pipeline_type;
DROP TYPE execution_status;
DROP TYPE anomaly_metric;
DROP TYPE datepart;

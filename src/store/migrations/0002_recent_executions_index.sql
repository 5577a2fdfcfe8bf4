-- "Recent executions of a pipeline" orders by (start_date DESC, id DESC): an index in that
-- exact order lets Postgres stop after LIMIT rows instead of sorting the pipeline's history
-- (found by bench/metadata.ts: ~990 rows read per call at 1M executions).

-- Up Migration
DROP INDEX pipeline_execution_recent;
CREATE INDEX pipeline_execution_recent ON pipeline_execution (pipeline_id, start_date DESC, id DESC) INCLUDE (status);

-- Down Migration
DROP INDEX pipeline_execution_recent;
CREATE INDEX pipeline_execution_recent ON pipeline_execution (pipeline_id, start_date DESC) INCLUDE (id, status);

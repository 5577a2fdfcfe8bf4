// The health board: every pipeline's freshness and timeliness state (those needing attention
// first), the open anomalies, the recent alerts, and the failure rate per pipeline type over
// 30 days (etl-watcher's daily report). Each pipeline links to its page.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.js';
import { Empty, ErrorBox, Loading, StateBadge, StatusBadge, useLoad } from '../components.js';
import { count, time } from '../format.js';
import { FAILING_PERCENT, type HealthBoardData } from '../monitoring-view.js';
import { markReady } from '../ready.js';
import { hrefs, Link } from '../router.js';

/** Pipelines listed (those needing attention first); the filter searches these. */
const PIPELINE_ROWS = 5000;

function PipelineLink(props: { name: string | null }): JSX.Element {
  return props.name ? <Link href={hrefs.pipeline(props.name)}>{props.name}</Link> : <span class="muted">–</span>;
}

function Pipelines(props: { data: HealthBoardData }): JSX.Element {
  const [filter, setFilter] = useState('');
  const [onlyAttention, setOnlyAttention] = useState(false);
  const needle = filter.trim().toLowerCase();
  const rows = props.data.pipelines.filter((p) => (!needle || p.name.toLowerCase().includes(needle)) && (!onlyAttention || p.needs_attention));
  return (
    <>
      <form class="filters" aria-label="Filter pipelines" onSubmit={(e) => e.preventDefault()}>
        <label>
          Pipeline name contains <input type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} size={24} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={onlyAttention} onChange={(e) => setOnlyAttention((e.target as HTMLInputElement).checked)} /> only those needing attention
        </label>
      </form>
      {rows.length === 0 ? (
        <p class="muted" data-testid="no-match">
          No pipeline matches. Clear the filter to see all {props.data.pipelines.length}.
        </p>
      ) : (
        <table data-testid="pipelines">
          <thead>
            <tr>
              <th>Pipeline</th>
              <th>Type</th>
              <th>Owner</th>
              <th>Freshness</th>
              <th>Timeliness</th>
              <th>Last run</th>
              <th>Open anomalies</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.name} data-pipeline={p.name} data-freshness={p.freshness.state} data-timeliness={p.timeliness.state} class={p.needs_attention ? 'selected' : undefined}>
                <td>
                  <PipelineLink name={p.name} />
                  {!p.active && <span class="muted"> (inactive)</span>}
                </td>
                <td>{p.pipeline_type}</td>
                <td>{p.owner ?? <span class="muted">–</span>}</td>
                <td>
                  <StateBadge state={p.freshness.state} check="Freshness" /> {p.freshness.last_dml && <span class="muted">{time(p.freshness.last_dml)}</span>}
                </td>
                <td>
                  <StateBadge state={p.timeliness.state} check="Timeliness" />
                </td>
                <td>
                  {p.last_execution ? (
                    <>
                      <StatusBadge status={p.last_execution.status} /> <span class="muted">{time(p.last_execution.start_date)}</span>
                    </>
                  ) : (
                    <span class="muted">never ran</span>
                  )}
                </td>
                <td class="num" data-testid="open-anomalies">
                  {p.open_anomalies}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.data.total_pipelines > props.data.pipelines.length && (
        <p class="muted">
          Showing {props.data.pipelines.length} of {props.data.total_pipelines} pipelines (those needing attention first).
        </p>
      )}
    </>
  );
}

function Anomalies(props: { data: HealthBoardData }): JSX.Element {
  if (props.data.open_anomalies.length === 0) return <p class="muted">No open anomaly in the last 24 hours.</p>;
  return (
    <table data-testid="anomalies">
      <thead>
        <tr>
          <th>Pipeline</th>
          <th>Metric</th>
          <th>Value</th>
          <th>Usual range</th>
          <th>z</th>
          <th>Execution</th>
          <th>Detected</th>
        </tr>
      </thead>
      <tbody>
        {props.data.open_anomalies.map((a) => (
          <tr key={`${a.pipeline_execution_id}:${a.rule_id}`}>
            <td>
              <PipelineLink name={a.pipeline_name} />
            </td>
            <td>{a.metric}</td>
            <td class="num">{a.value.toLocaleString()}</td>
            <td>
              {a.band_min.toLocaleString()} – {a.band_max.toLocaleString()}
            </td>
            <td class="num">{a.z_score.toFixed(2)}</td>
            <td>{a.pipeline_execution_id}</td>
            <td>{time(a.detected_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Alerts(props: { data: HealthBoardData }): JSX.Element {
  if (props.data.recent_alerts.length === 0) return <p class="muted">No alert in the last 7 days.</p>;
  return (
    <table data-testid="alerts">
      <thead>
        <tr>
          <th>Kind</th>
          <th>About</th>
          <th>Delivery</th>
          <th>Channels</th>
          <th>Last attempt</th>
        </tr>
      </thead>
      <tbody>
        {props.data.recent_alerts.map((a) => (
          <tr key={a.idempotency_key} data-alert-kind={a.kind} title={a.idempotency_key}>
            <td>{a.kind}</td>
            <td>
              {a.pipeline ? <PipelineLink name={a.pipeline} /> : a.build_id ? <Link href={hrefs.build(a.build_id)}>build {a.build_id}</Link> : <span class="muted">{a.idempotency_key}</span>}
            </td>
            <td>
              {a.status}
              {a.last_error && <span class="muted"> · {a.last_error}</span>}
            </td>
            <td>{a.channels.join(', ')}</td>
            <td>{time(a.last_attempt_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FailureRates(props: { data: HealthBoardData }): JSX.Element {
  const { failure_rate: fr } = props.data;
  if (fr.types.length === 0) return <p class="muted">No execution started between {fr.date_from} and {fr.date_to}.</p>;
  return (
    <table data-testid="failure-rates">
      <thead>
        <tr>
          <th>Pipeline type</th>
          <th>Pipelines</th>
          <th>Executions</th>
          <th>Failed</th>
          <th>Error %</th>
        </tr>
      </thead>
      <tbody>
        {fr.types.map((t) => (
          <tr key={t.pipeline_type_name} data-type={t.pipeline_type_name}>
            <td>{t.pipeline_type_name}</td>
            <td class="num">{count(t.pipelines)}</td>
            <td class="num">{count(t.total_executions)}</td>
            <td class="num">{count(t.failed_executions)}</td>
            <td class="num" style={t.error_percentage > FAILING_PERCENT ? { color: '#c62828', fontWeight: 600 } : undefined}>
              {t.error_percentage.toFixed(2)}%
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HealthPage(): JSX.Element {
  const [loaded] = useLoad('health', (signal) => getJson<HealthBoardData>(`/dashboard/health?limit=${PIPELINE_ROWS}`, signal));
  useEffect(() => {
    if (loaded.state === 'ok') markReady('health');
  }, [loaded.state]);

  if (loaded.state === 'loading') return <Loading what="the health board" />;
  if (loaded.state === 'error') return <ErrorBox error={loaded.error} />;
  const d = loaded.data;
  return (
    <section>
      <h1>Health</h1>
      <p class="muted">As of {time(d.generated_at)}; reload the page for the latest.</p>
      {d.total_pipelines === 0 ? (
        <Empty title="No pipelines yet">
          <p>
            Every dbt model, seed and snapshot becomes a pipeline when a build syncs it: run <code>watcher build --project-dir path/to/dbt/project</code> (or{' '}
            <code>npm run demo</code>). SDK pipelines appear once they call <code>POST /pipeline</code>.
          </p>
        </Empty>
      ) : (
        <>
          <p class="counts" data-testid="summary">
            <span class="count">{count(d.total_pipelines)} pipelines</span>
            <span class="count" style={{ borderColor: '#c62828' }}>{d.counts.stale} stale</span>
            <span class="count" style={{ borderColor: '#ad1457' }}>{d.counts.late} late</span>
            <span class="count" style={{ borderColor: '#ed6c02' }}>{d.counts.open_anomalies} open anomalies</span>
          </p>
          <h2>Pipelines</h2>
          <Pipelines data={d} />
        </>
      )}
      <h2>Open anomalies ({d.open_anomalies.length})</h2>
      <Anomalies data={d} />
      <h2>Recent alerts ({d.recent_alerts.length})</h2>
      <Alerts data={d} />
      <h2>
        Failure rate per pipeline type, {d.failure_rate.date_from} to {d.failure_rate.date_to}
      </h2>
      <FailureRates data={d} />
    </section>
  );
}

// One pipeline (a dbt node or an SDK pipeline): its executions over time (duration, rows,
// throughput) with anomalies marked, its freshness and timeliness state, its config
// (thresholds, mutes, active, owner, anomaly rules) and its watermark.
import type { JSX } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import { ApiFailure, getJson } from '../api.js';
import { Empty, ErrorBox, Loading, StateBadge, StatusBadge, useLoad } from '../components.js';
import { count, duration, time } from '../format.js';
import { MetricChart } from '../metric-chart.js';
import { configText, METRIC_TITLES, METRICS, metricSeries, thresholdText, type PipelinePageData } from '../monitoring-view.js';
import { markReady } from '../ready.js';
import { hrefs, Link } from '../router.js';

/** Executions listed in the table below the charts (the charts show every one loaded). */
const TABLE_ROWS = 25;

function Charts(props: { data: PipelinePageData }): JSX.Element {
  const series = useMemo(() => METRICS.map((m) => ({ metric: m, series: metricSeries(props.data.executions, m) })), [props.data]);
  return (
    <div class="charts">
      {series.map(({ metric, series: s }) =>
        s.points.length > 0 ? (
          <MetricChart key={metric} title={METRIC_TITLES[metric]} series={s} testId={`chart-${metric}`} />
        ) : (
          <p key={metric} class="muted" data-testid={`chart-${metric}`}>
            {METRIC_TITLES[metric]}: no execution has a value yet (it is set when a run ends{metric === 'duration_seconds' ? '' : ' and reports its rows'}).
          </p>
        ),
      )}
    </div>
  );
}

function Config(props: { data: PipelinePageData }): JSX.Element {
  const { config } = props.data;
  const rows = [
    ['Freshness', config.freshness],
    ['Timeliness', config.timeliness],
  ] as const;
  return (
    <>
      <table class="config" data-testid="config">
        <thead>
          <tr>
            <th>Check</th>
            <th>Pipeline's threshold</th>
            <th>Type's threshold</th>
            <th>Muted</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, c]) => (
            <tr key={name}>
              <td>{name}</td>
              <td>{configText(c.pipeline)}</td>
              <td>{configText(c.pipeline_type)}</td>
              <td>{c.muted_on_pipeline ? 'yes (pipeline)' : c.muted_on_type ? 'yes (type)' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Anomaly rules</h3>
      {config.anomaly_rules.length === 0 ? (
        <p class="muted">No anomaly rule. Add one with <code>POST /anomaly_detection_rule</code> (dbt nodes get rules for duration, rows and throughput when a build syncs them).</p>
      ) : (
        <table data-testid="anomaly-rules">
          <thead>
            <tr>
              <th>Metric</th>
              <th>z threshold</th>
              <th>Lookback</th>
              <th>Minimum executions</th>
              <th>Active</th>
            </tr>
          </thead>
          <tbody>
            {config.anomaly_rules.map((r) => (
              <tr key={r.id}>
                <td>{r.metric}</td>
                <td class="num">{r.z_threshold}</td>
                <td>{r.lookback_days} days</td>
                <td class="num">{r.minimum_executions}</td>
                <td>{r.active ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function PipelinePage(props: { name: string }): JSX.Element {
  const [loaded] = useLoad(props.name, (signal) => getJson<PipelinePageData>(`/dashboard/pipelines/${encodeURIComponent(props.name)}`, signal));
  useEffect(() => {
    if (loaded.state === 'ok') markReady('pipeline');
  }, [loaded.state]);

  if (loaded.state === 'loading') return <Loading what={`pipeline ${props.name}`} />;
  if (loaded.state === 'error') {
    if (loaded.error instanceof ApiFailure && loaded.error.status === 404) {
      return (
        <Empty title="Pipeline not found">
          <p data-testid="not-found">
            No pipeline <code>{props.name}</code> is recorded. A dbt node's pipeline is named by its unique_id (for example <code>model.shop.fct_orders</code>) and exists once a
            build has synced it. Pick one from the <Link href={hrefs.health()}>health board</Link>.
          </p>
        </Empty>
      );
    }
    return <ErrorBox error={loaded.error} />;
  }
  const d = loaded.data;
  const latest = [...d.executions].reverse().slice(0, TABLE_ROWS);
  const anomalous = d.executions.filter((e) => e.anomalous.length > 0).length;
  return (
    <section data-pipeline={d.name}>
      <p class="crumbs">
        <Link href={hrefs.health()}>Health</Link> / {d.name}
      </p>
      <h1>
        {d.name} <span class="muted">{d.pipeline_type}</span>
        {!d.active && <span class="badge" style={{ background: '#757575' }}>inactive</span>}
      </h1>
      <dl class="facts" data-testid="facts">
        <dt>Freshness</dt>
        <dd data-testid="freshness">
          <StateBadge state={d.freshness.state} check="Freshness" /> last wrote {time(d.freshness.last_dml)}
          {d.freshness.due_by && <> · {d.freshness.state === 'stale' ? 'was due by' : 'due again by'} {time(d.freshness.due_by)}</>} · threshold {thresholdText(d.freshness.threshold)}
        </dd>
        <dt>Timeliness</dt>
        <dd data-testid="timeliness">
          <StateBadge state={d.timeliness.state} check="Timeliness" /> threshold {thresholdText(d.timeliness.threshold)}
          {d.timeliness.due_by && <> · latest run due by {time(d.timeliness.due_by)}</>} · {d.late_executions_30d} logged late by the timeliness check in 30 days
        </dd>
        <dt>Owner</dt>
        <dd data-testid="owner">{d.owner ?? <span class="muted">not set (meta.watcher.owner)</span>}</dd>
        <dt>Active</dt>
        <dd>{d.active ? 'yes' : 'no: its runs are recorded, the failure-rate check skips it'}</dd>
        <dt>Watermark</dt>
        <dd data-testid="watermark">
          {d.watermark ?? <span class="muted">none</span>}
          {d.next_watermark !== null && <> · next {d.next_watermark}</>}
        </dd>
        <dt>Executions</dt>
        <dd data-testid="executions-count">
          {count(d.total_executions)} recorded{d.total_executions > d.executions.length ? `, the latest ${d.executions.length} charted` : ''} · {anomalous} anomalous
        </dd>
      </dl>

      <h2>Executions over time</h2>
      {d.executions.length === 0 ? (
        <Empty title="No executions yet">
          <p>
            This pipeline has never run. For a dbt node, run a build that selects it (<code>watcher build --select {d.name.split('.').pop()}</code>); an SDK pipeline appears
            here once it calls <code>POST /start_pipeline_execution</code>.
          </p>
        </Empty>
      ) : (
        <>
          <Charts data={d} />
          <h2>Latest executions</h2>
          <table data-testid="executions">
            <thead>
              <tr>
                <th>Execution</th>
                <th>Status</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Rows</th>
                <th>Throughput</th>
                <th>Anomalous</th>
              </tr>
            </thead>
            <tbody>
              {latest.map((e) => (
                <tr key={e.id} data-execution={e.id} data-status={e.status} class={e.anomalous.length ? 'selected' : undefined}>
                  <td>{e.id}</td>
                  <td>
                    <StatusBadge status={e.status} />
                  </td>
                  <td>{time(e.start_date)}</td>
                  <td>{duration(e.duration_seconds)}</td>
                  <td class="num">{count(e.total_rows)}</td>
                  <td class="num">{e.throughput === null ? '–' : e.throughput.toLocaleString()}</td>
                  <td>{e.anomalous.length ? e.anomalous.join(', ') : <span class="muted">no</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      <h2>Config</h2>
      <Config data={d} />
    </section>
  );
}

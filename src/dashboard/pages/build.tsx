// One build: its progress, failures first (dbt's message and the command that reruns the
// node), a Gantt timeline on dbt's threads, and every node with its attempts and links to its
// consumer in the Temporal UI. Live while it runs: the server streams each change.
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiFailure, getJson, watchBuild, type BuildDetail } from '../api.js';
import { failuresOf, nodeViews, orderNodes, progressOf, rerunCommand, consumerUrl, type NodeView } from '../build-view.js';
import { Empty, ErrorBox, Loading, StatusBadge } from '../components.js';
import { count, duration, time } from '../format.js';
import type { Gantt as GanttChart, GanttBar } from '../gantt.js';
import { markReady } from '../ready.js';
import { hrefs, Link } from '../router.js';

/** The timeline's code (echarts) is a chunk of its own: fetched alongside the build's data, never by other pages. */
const loadGantt = () => import('../gantt.js').then((m) => m.Gantt);

/** Rows drawn at first: a 3,500-node build's table waits for "show all". */
const FIRST_ROWS = 500;

type State = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ok'; build: BuildDetail; live: 'on' | 'reconnecting' | 'off' };

function NodeRow(props: { node: NodeView; build: BuildDetail; selected: boolean }): JSX.Element {
  const { node, build } = props;
  const consumer = consumerUrl(build.uiUrl, build.workflowId, node.uniqueId);
  return (
    <>
      <tr id={`node-${node.uniqueId}`} data-node={node.uniqueId} data-status={node.status} class={props.selected ? 'selected' : undefined}>
        <td>
          <Link href={hrefs.pipeline(node.uniqueId)}>{node.uniqueId}</Link>
        </td>
        <td>{node.resourceType}</td>
        <td>
          <StatusBadge status={node.status} />
        </td>
        <td>{node.attempts > 1 ? `${node.attempts} attempts` : '1'}</td>
        <td>{node.thread ?? '–'}</td>
        <td>{duration(node.durationSeconds ?? (node.startMs !== undefined && node.endMs !== undefined ? (node.endMs - node.startMs) / 1000 : undefined))}</td>
        <td class="num">{count(node.rows)}</td>
        <td>{consumer ? <a href={consumer} target="_blank" rel="noreferrer">Temporal UI</a> : '–'}</td>
      </tr>
      {node.tests.map((t) => (
        <tr key={t.uniqueId} class="test" data-node={t.uniqueId} data-status={t.status}>
          <td>↳ {t.uniqueId}</td>
          <td>test</td>
          <td>
            <StatusBadge status={t.status} />
          </td>
          <td colSpan={5} class="muted">
            {t.message ?? ''}
          </td>
        </tr>
      ))}
    </>
  );
}

export function BuildPage(props: { buildId: string }): JSX.Element {
  const [loaded, setLoaded] = useState<State>({ state: 'loading' });
  const [selected, setSelected] = useState<string>();
  const [showAll, setShowAll] = useState(false);
  const firstSeen = useRef(new Map<string, number>());
  const [Gantt, setGantt] = useState<{ chart?: typeof GanttChart; failed?: boolean }>({});
  useEffect(() => {
    let mounted = true;
    loadGantt().then(
      (chart) => mounted && setGantt({ chart }),
      () => mounted && setGantt({ failed: true }),
    );
    return () => {
      mounted = false;
    };
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    let stop: (() => void) | undefined;
    getJson<BuildDetail>(`/builds/${encodeURIComponent(props.buildId)}`, abort.signal).then(
      (build) => {
        if (abort.signal.aborted) return;
        if (build.status !== 'running') {
          setLoaded({ state: 'ok', build, live: 'off' });
          return;
        }
        setLoaded({ state: 'ok', build, live: 'on' });
        stop = watchBuild(props.buildId, {
          onBuild: (next) => setLoaded({ state: 'ok', build: next, live: 'on' }),
          onEnd: () => setLoaded((s) => (s.state === 'ok' ? { ...s, live: 'off' } : s)),
          onError: () => setLoaded((s) => (s.state === 'ok' && s.live === 'on' ? { ...s, live: 'reconnecting' } : s)),
        });
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setLoaded({ state: 'error', error });
      },
    );
    return () => {
      abort.abort();
      stop?.();
    };
  }, [props.buildId]);

  const build = loaded.state === 'ok' ? loaded.build : undefined;
  const nodes = useMemo(() => (build ? orderNodes(nodeViews(build, firstSeen.current, Date.now())) : []), [build]);
  const failures = useMemo(() => failuresOf(nodes), [nodes]);
  const bars = useMemo<GanttBar[]>(
    () =>
      nodes
        .filter((n) => n.startMs !== undefined && n.endMs !== undefined)
        .map((n) => ({ uniqueId: n.uniqueId, lane: n.thread ?? (n.status === 'running' ? 'running' : 'other'), startMs: n.startMs!, endMs: n.endMs!, status: n.status, detail: n.tests.length ? `${n.tests.length} tests, ${n.tests.filter((t) => t.status !== 'pass' && t.status !== 'success').length} not passed` : n.resourceType })),
    [nodes],
  );
  // Ready once the build and its timeline are drawn (the chart's code may arrive after the data).
  const timelineSettled = bars.length === 0 || Gantt.chart !== undefined || Gantt.failed === true;
  useEffect(() => {
    if (build && timelineSettled) markReady('build');
  }, [build, timelineSettled]);

  if (loaded.state === 'loading') return <Loading what={`build ${props.buildId}`} />;
  if (loaded.state === 'error') {
    if (loaded.error instanceof ApiFailure && loaded.error.status === 404) {
      return (
        <Empty title="Build not found">
          <p data-testid="not-found">
            No build <code>{props.buildId}</code> is recorded or known to Temporal. Check the id, or pick one from the <Link href={hrefs.builds()}>builds</Link>.
          </p>
        </Empty>
      );
    }
    return <ErrorBox error={loaded.error} />;
  }
  const b = loaded.build;
  const { done, total } = progressOf(nodes);
  const rows = showAll ? nodes : nodes.slice(0, FIRST_ROWS);
  return (
    <section>
      <p class="crumbs">
        <Link href={hrefs.builds()}>Builds</Link> / {b.buildId}
      </p>
      <h1>
        Build {b.buildId} <StatusBadge status={b.status} />
      </h1>
      <dl class="facts">
        <dt>Project</dt>
        <dd>{b.project ?? b.pipeline ?? '–'}</dd>
        <dt>Started</dt>
        <dd>{time(b.startDate)}</dd>
        <dt>Duration</dt>
        <dd>{b.status === 'running' && b.startDate ? `${duration((Date.now() - Date.parse(b.startDate)) / 1000)} so far` : duration(b.durationSeconds)}</dd>
        <dt>Rows</dt>
        <dd>{count(b.totalRows)}</dd>
        {b.progress && (
          <>
            <dt>Phase</dt>
            <dd data-testid="phase">{b.progress.phase}</dd>
          </>
        )}
        <dt>Temporal</dt>
        <dd>{b.uiUrl ? <a href={b.uiUrl} target="_blank" rel="noreferrer">the build's workflow</a> : <span class="muted">no UI address configured</span>}</dd>
      </dl>
      <div class="progress" data-testid="progress">
        <progress max={Math.max(total, 1)} value={done} aria-label="Nodes ended" />
        <span>
          {done} of {total} nodes ended
          {loaded.live === 'on' && <span class="live"> · live</span>}
          {loaded.live === 'reconnecting' && <span class="muted"> · reconnecting…</span>}
        </span>
      </div>

      {failures.length > 0 && (
        <section class="failures" data-testid="failures">
          <h2>Failures ({failures.length})</h2>
          <ul>
            {failures.map((f) => (
              <li key={f.uniqueId} data-node={f.uniqueId}>
                <StatusBadge status={f.status} /> <strong>{f.uniqueId}</strong>
                {f.under.length > 0 && <span class="muted"> (test of {f.under.join(', ')})</span>}
                <pre class="message">{f.message || 'dbt gave no message'}</pre>
                <code class="rerun">{rerunCommand(f.uniqueId, f.under.length ? 'test' : nodes.find((n) => n.uniqueId === f.uniqueId)?.resourceType ?? 'model')}</code>
              </li>
            ))}
          </ul>
        </section>
      )}

      <h2>Timeline</h2>
      {bars.length === 0 ? (
        <p class="muted">No node has started yet.</p>
      ) : Gantt.chart ? (
        <Gantt.chart bars={bars} onSelect={(id) => { setSelected(id); setShowAll(true); document.getElementById(`node-${id}`)?.scrollIntoView({ block: 'center' }); }} />
      ) : Gantt.failed ? (
        <p class="error" role="alert">The timeline's code could not be loaded: reload the page.</p>
      ) : (
        <Loading what="timeline" />
      )}

      <h2>Nodes ({total})</h2>
      {nodes.length === 0 ? (
        <p class="muted">{b.status === 'running' ? 'dbt has not reported any node yet.' : 'This build recorded no nodes.'}</p>
      ) : (
        <table class="nodes" data-testid="nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>Type</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Thread</th>
              <th>Duration</th>
              <th>Rows</th>
              <th>Consumer</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((n) => (
              <NodeRow key={n.uniqueId} node={n} build={b} selected={n.uniqueId === selected} />
            ))}
          </tbody>
        </table>
      )}
      {!showAll && nodes.length > FIRST_ROWS && (
        <button type="button" onClick={() => setShowAll(true)}>
          Show all {nodes.length} nodes
        </button>
      )}
    </section>
  );
}

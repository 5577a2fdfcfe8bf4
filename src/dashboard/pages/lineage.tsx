// Lineage: relations and the pipelines between them as a graph, around one relation (upstream,
// downstream or both, to a depth) or the whole lineage; each node filled by its last
// execution's status and bordered by its freshness. Search by name; click a node to recentre.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, getJson } from '../api.js';
import { Empty, ErrorBox, Loading, StatusBadge, useLoad } from '../components.js';
import { STATUS_COLOURS, time } from '../format.js';
import type { DrawnGraph } from '../lineage-graph.js';
import {
  borderOf,
  DIRECTIONS,
  FRESHNESS_BORDERS,
  MAX_DEPTH,
  recentreAddress,
  settingsOf,
  summaryOf,
  type AddressMatch,
  type Direction,
  type LineageGraphData,
  type LineageNode,
} from '../lineage-view.js';
import { markReady } from '../ready.js';
import { hrefs, Link, navigate } from '../router.js';
import './lineage.css';

/** The graph's code (cytoscape, dagre) is a chunk of its own: fetched alongside the data, never by other pages. */
const loadGraph = () => import('../lineage-graph.js');

/** Nodes listed as links under the graph (the keyboard's way through it) at most. */
const LISTED_NODES = 500;

function Search(props: { direction: Direction; depth: number }): JSX.Element {
  const [q, setQ] = useState('');
  const [matches, setMatches] = useState<AddressMatch[] | undefined>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const term = q.trim();
    if (!term) {
      setMatches(undefined);
      return;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => {
      getJson<{ addresses: AddressMatch[] }>(`/dashboard/lineage/addresses?${new URLSearchParams({ q: term }).toString()}`, abort.signal).then(
        (r) => {
          setMatches(r.addresses);
          setError(undefined);
        },
        (e: unknown) => {
          if (!abort.signal.aborted) setError(e instanceof Error ? e.message : String(e));
        },
      );
    }, 150);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [q]);
  const submit = (event: Event) => {
    event.preventDefault();
    const first = matches?.[0];
    if (first) navigate(hrefs.lineage(first.name, props.direction, props.depth));
  };
  return (
    <form class="lineage-search" onSubmit={submit} role="search">
      <label>
        Find a relation{' '}
        <input type="search" name="q" value={q} placeholder="e.g. orders" autocomplete="off" onInput={(e) => setQ((e.target as HTMLInputElement).value)} size={28} />
      </label>
      {error && <span class="error">{error}</span>}
      {matches && (
        <ul class="matches" data-testid="matches">
          {matches.length === 0 && <li class="muted">No address contains “{q.trim()}”.</li>}
          {matches.map((m) => (
            <li key={m.name} data-address={m.name}>
              <Link href={hrefs.lineage(m.name, props.direction, props.depth)}>{m.name}</Link> <span class="muted">{m.type}{m.hasLineage ? '' : ', no lineage'}</span>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

function Controls(props: { address?: string; direction: Direction; depth: number }): JSX.Element {
  const go = (direction: Direction, depth: number) => navigate(hrefs.lineage(props.address, direction, depth));
  const disabled = props.address === undefined;
  return (
    <div class="lineage-controls" aria-label="Graph settings">
      <label>
        Direction{' '}
        <select name="direction" value={props.direction} disabled={disabled} onChange={(e) => go((e.target as HTMLSelectElement).value as Direction, props.depth)}>
          {DIRECTIONS.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </label>
      <label>
        Depth{' '}
        <input
          type="number"
          name="depth"
          min={1}
          max={MAX_DEPTH}
          value={props.depth}
          disabled={disabled}
          onChange={(e) => {
            const n = Number((e.target as HTMLInputElement).value);
            if (Number.isInteger(n) && n >= 1 && n <= MAX_DEPTH) go(props.direction, n);
          }}
        />
      </label>
      {props.address !== undefined && <Link href={hrefs.lineage()}>Whole lineage</Link>}
    </div>
  );
}

function Legend(): JSX.Element {
  return (
    <div class="legend" aria-label="Legend">
      <span>Fill: last run</span>
      {['success', 'warn', 'error', 'fail', 'running', 'skipped'].map((s) => (
        <span key={s} class="swatch" style={{ background: STATUS_COLOURS[s] }}>
          {s}
        </span>
      ))}
      <span class="swatch none">never ran</span>
      <span>Border: freshness</span>
      {(['stale', 'fresh', 'no_dml', 'no_threshold'] as const).map((f) => (
        <span key={f} class="swatch ring" style={{ borderColor: FRESHNESS_BORDERS[f].colour, borderWidth: `${Math.max(2, FRESHNESS_BORDERS[f].width)}px` }}>
          {FRESHNESS_BORDERS[f].label}
        </span>
      ))}
      <span>◆ pipeline, ▭ relation</span>
    </div>
  );
}

function NodeFacts(props: { node: LineageNode; direction: Direction; depth: number }): JSX.Element {
  const { node } = props;
  const border = borderOf(node);
  const pipelines = node.kind === 'pipeline' ? [node.name] : (node.writers ?? []);
  return (
    <dl class="facts" data-testid="node-facts">
      <dt>{node.kind === 'pipeline' ? 'Pipeline' : 'Relation'}</dt>
      <dd>
        <code>{node.name}</code> {node.type && <span class="muted">({node.type})</span>}
      </dd>
      <dt>Last run</dt>
      <dd>{node.status ? <><StatusBadge status={node.status} /> {time(node.lastRun)}</> : <span class="muted">never (or no pipeline writes it)</span>}</dd>
      <dt>Freshness</dt>
      <dd data-freshness={node.freshness ?? 'none'}>
        {border.label}
        {node.dueBy && <span class="muted"> · {node.freshness === 'stale' ? 'due since' : 'due by'} {time(node.dueBy)}</span>}
      </dd>
      <dt>{node.kind === 'pipeline' ? 'Pipeline page' : 'Written by'}</dt>
      <dd>
        {pipelines.length === 0 ? <span class="muted">no pipeline known</span> : pipelines.map((p) => <Link key={p} href={hrefs.pipeline(p)}>{p}</Link>)}
      </dd>
      {node.kind === 'pipeline' && (node.targets ?? []).length > 0 && (
        <>
          <dt>Writes</dt>
          <dd>
            {node.targets!.map((t) => (
              <Link key={t} href={hrefs.lineage(t, props.direction, props.depth)}>
                {t}
              </Link>
            ))}
          </dd>
        </>
      )}
    </dl>
  );
}

function Graph(props: { data: LineageGraphData; onSelect(node: LineageNode): void }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const { data } = props;
  const [layout, setLayout] = useState<{ name: string; drawnNodes: number }>();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let mounted = true;
    let drawn: DrawnGraph | undefined;
    loadGraph().then(
      ({ drawLineage }) => {
        if (!mounted) return;
        drawn = drawLineage(box.current!, data, {
          onTap: (node) => {
            props.onSelect(node);
            const to = recentreAddress(node);
            if (to && to !== data.address) navigate(hrefs.lineage(to, data.direction, data.depth));
          },
          onLaidOut: () => markReady('lineage'),
        });
        setLayout({ name: drawn.layout, drawnNodes: drawn.drawnNodes });
        // The graph's handle for tests and the console: positions and names are on the canvas only.
        (box.current as HTMLDivElement & { cy?: unknown }).cy = drawn.cy;
      },
      () => {
        if (!mounted) return;
        setFailed(true);
        markReady('lineage');
      },
    );
    return () => {
      mounted = false;
      drawn?.destroy();
    };
  }, [data]);
  if (failed) return <p class="error" role="alert">The graph's code could not be loaded: reload the page.</p>;
  return (
    <>
      {layout && layout.drawnNodes < data.nodes.length && (
        <p class="muted" data-testid="folded">
          A big graph: its pipelines are drawn as the edges between relations (click a relation to see its neighbourhood with them); zoom in for names.
        </p>
      )}
    <div
      ref={box}
      class="lineage-graph"
      data-testid="lineage-graph"
      data-nodes={data.nodes.length}
      data-edges={data.edges.length}
      data-layout={layout?.name}
      data-drawn-nodes={layout?.drawnNodes}
      data-centre={data.address ?? ''}
      role="img"
      aria-label={`Lineage graph: ${summaryOf(data)}`}
    />
    </>
  );
}

export function LineagePage(props: { search: string }): JSX.Element {
  const { address, direction, depth } = settingsOf(props.search);
  const api = new URLSearchParams({ direction, depth: String(depth) });
  if (address) api.set('address', address);
  const [loaded] = useLoad(api.toString(), (signal) => getJson<LineageGraphData>(`/dashboard/lineage?${api.toString()}`, signal));
  const [selected, setSelected] = useState<LineageNode>();
  // The graph's code loads while the data does.
  useEffect(() => void loadGraph().catch(() => undefined), []);
  const data = loaded.state === 'ok' ? loaded.data : undefined;
  const centre = data?.nodes.find((n) => n.kind === 'address' && n.name === data.address);
  const notFound = loaded.state === 'error' && loaded.error instanceof ApiFailure && loaded.error.status === 404;
  const empty = data !== undefined && data.edges.length === 0;

  // A page with nothing to draw is ready as soon as it says so.
  useEffect(() => {
    if (notFound || empty || loaded.state === 'error') markReady('lineage');
  }, [loaded.state]);

  return (
    <section>
      <h1>Lineage{data?.address ? <span class="muted centre-name">{data.address}</span> : null}</h1>
      <div class="lineage-bar">
        <Search direction={direction} depth={depth} />
        <Controls address={address} direction={direction} depth={depth} />
      </div>
      {loaded.state === 'loading' && <Loading what="lineage" />}
      {notFound && (
        <Empty title="No such relation">
          <p>
            No address is named <code>{address}</code>. Find one with the search box, or see the <Link href={hrefs.lineage()}>whole lineage</Link>.
          </p>
        </Empty>
      )}
      {loaded.state === 'error' && !notFound && <ErrorBox error={loaded.error} />}
      {data && empty && (
        <Empty title={data.address ? `No ${direction === 'both' ? '' : `${direction} `}lineage for this relation` : 'No lineage yet'}>
          {data.address ? (
            <p>
              Nothing is recorded {direction === 'both' ? 'upstream or downstream of' : `${direction} of`} <code>{data.address}</code>
              {direction !== 'both' ? <> — try <Link href={hrefs.lineage(data.address, 'both', depth)}>both directions</Link></> : null}.
            </p>
          ) : (
            <p>
              Lineage is recorded by every dbt build (<code>watcher build --project-dir path/to/dbt/project</code>, or <code>npm run demo</code>): each model's relation and
              the relations it reads. SDK pipelines declare theirs with <code>POST /address_lineage</code>.
            </p>
          )}
        </Empty>
      )}
      {data && !empty && (
        <>
          <p class="muted" data-testid="lineage-summary" data-truncated={String(data.truncated)}>
            {summaryOf(data)}
            {data.address === null && ' — the whole lineage; pick a relation to see its neighbourhood.'}
          </p>
          {data.truncated && (
            <p class="error" role="status" data-testid="truncated">
              This graph was cut at {data.limit.toLocaleString()} relations (the nearest kept). Choose a smaller depth, one direction, or a relation further out.
            </p>
          )}
          <Legend />
          <Graph data={data} onSelect={setSelected} />
          {(selected ?? centre) && <NodeFacts node={(selected ?? centre)!} direction={direction} depth={depth} />}
          <details class="node-list">
            <summary>
              Every node as a list ({data.nodes.length > LISTED_NODES ? `first ${LISTED_NODES} of ` : ''}
              {data.nodes.length.toLocaleString()})
            </summary>
            <ul data-testid="node-list">
              {data.nodes.slice(0, LISTED_NODES).map((n) => {
                const to = recentreAddress(n);
                return (
                  <li key={n.id} data-node={n.name} data-kind={n.kind} data-status={n.status ?? 'none'} data-freshness={n.freshness ?? 'none'}>
                    {n.kind === 'pipeline' ? '◆ ' : ''}
                    {to ? <Link href={hrefs.lineage(to, direction, depth)}>{n.name}</Link> : n.name} {n.status && <StatusBadge status={n.status} />}
                  </li>
                );
              })}
            </ul>
          </details>
        </>
      )}
    </section>
  );
}

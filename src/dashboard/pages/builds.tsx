// The latest builds: status, duration, node counts by status, target and trigger, with filters
// (project, status, target, trigger, schedule, date range) in the address (so a filtered view can
// be shared). Refreshed every few seconds while one runs.
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { getJson, type BuildSummary } from '../api.js';
import { apiQueryOfPage, localInputValue, pageQueryOfForm, triggerLabel, TRIGGERS } from '../build-filters.js';
import { Empty, ErrorBox, Loading, StatusBadge, useLoad } from '../components.js';
import { count, duration, statusColour, time } from '../format.js';
import { markReady } from '../ready.js';
import { hrefs, Link, navigate } from '../router.js';

const STATUSES = ['running', 'success', 'warn', 'error', 'fail', 'canceled'];
const REFRESH_MS = 3000;

function NodeCounts(props: { counts: Record<string, number> }): JSX.Element {
  const entries = Object.entries(props.counts).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span class="muted">–</span>;
  return (
    <span class="counts">
      {entries.map(([status, n]) => (
        <span key={status} class="count" title={`${n} ${status}`} style={{ borderColor: statusColour(status) }}>
          {status} {n}
        </span>
      ))}
    </span>
  );
}

function Filters(props: { query: URLSearchParams }): JSX.Element {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    navigate(hrefs.builds(pageQueryOfForm((name) => String(form.get(name) ?? ''))));
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Filter builds">
      <label>
        Project <input name="project" value={props.query.get('project') ?? ''} size={14} />
      </label>
      <label>
        Status
        <select name="status" aria-label="Status" value={props.query.get('status') ?? ''}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        Target <input name="target" value={props.query.get('target') ?? ''} size={10} />
      </label>
      <label>
        Trigger
        <select name="trigger" aria-label="Trigger" value={props.query.get('trigger') ?? ''}>
          <option value="">any</option>
          {TRIGGERS.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        Schedule <input name="schedule" value={props.query.get('schedule') ?? ''} size={12} />
      </label>
      <label>
        From <input type="datetime-local" name="from" value={localInputValue(props.query.get('from'))} />
      </label>
      <label>
        To <input type="datetime-local" name="to" value={localInputValue(props.query.get('to'))} />
      </label>
      <button type="submit">Filter</button>
      {[...props.query].length > 0 && <Link href={hrefs.builds()}>Clear</Link>}
    </form>
  );
}

export function BuildsPage(props: { search: string }): JSX.Element {
  const query = new URLSearchParams(props.search);
  const api = apiQueryOfPage(query, 100);
  const [loaded, setData] = useLoad(props.search, (signal) => getJson<{ builds: BuildSummary[] }>(`/builds?${api.toString()}`, signal));
  const running = loaded.state === 'ok' && loaded.data.builds.some((b) => b.status === 'running');

  useEffect(() => {
    if (loaded.state === 'ok') markReady('builds');
  }, [loaded.state]);
  // Live while a build runs: the list's data (not the page) is fetched again.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => {
      getJson<{ builds: BuildSummary[] }>(`/builds?${api.toString()}`).then(setData, () => undefined);
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [running, props.search]);

  return (
    <section>
      <h1>Builds</h1>
      <Filters query={query} />
      {loaded.state === 'loading' && <Loading what="builds" />}
      {loaded.state === 'error' && <ErrorBox error={loaded.error} />}
      {loaded.state === 'ok' && loaded.data.builds.length === 0 && (
        <Empty title={[...query].length ? 'No build matches these filters' : 'No builds yet'}>
          {[...query].length ? (
            <p>
              Widen the filters or <Link href={hrefs.builds()}>clear them</Link>.
            </p>
          ) : (
            <p>
              Start one with <code>watcher build --project-dir path/to/dbt/project</code> (or <code>npm run demo</code>); it shows up here as soon as it starts.
            </p>
          )}
        </Empty>
      )}
      {loaded.state === 'ok' && loaded.data.builds.length > 0 && (
        <table class="builds" data-testid="builds">
          <thead>
            <tr>
              <th>Build</th>
              <th>Project</th>
              <th>Target</th>
              <th>Trigger</th>
              <th>Status</th>
              <th>Started</th>
              <th>Duration</th>
              <th>Nodes</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.builds.map((b) => (
              <tr key={b.buildId} data-build-id={b.buildId}>
                <td>
                  <Link href={hrefs.build(b.buildId)}>{b.buildId}</Link>
                </td>
                <td>{b.project ?? b.pipeline ?? '–'}</td>
                <td data-col="target" title={b.target ? undefined : "the profile's default target"}>
                  {b.target ?? '–'}
                </td>
                <td data-col="trigger">{triggerLabel(b)}</td>
                <td>
                  <StatusBadge status={b.status} />
                </td>
                <td>{time(b.startDate)}</td>
                <td>{b.status === 'running' && b.startDate ? duration((Date.now() - Date.parse(b.startDate)) / 1000) : duration(b.durationSeconds)}</td>
                <td>
                  <NodeCounts counts={b.nodeCounts} /> <span class="muted">{count(Object.values(b.nodeCounts).reduce((a, n) => a + n, 0))} total</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

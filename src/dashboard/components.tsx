// Small pieces every page uses: status badges, loading/empty/error states, and data loading.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure } from './api.js';
import { statusColour } from './format.js';
import { STATE_LABELS } from './monitoring-view.js';

export function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span class="badge" data-status={props.status} style={{ background: statusColour(props.status) }}>
      {props.status}
    </span>
  );
}

/** A freshness or timeliness state (health board, pipeline page); its hint on hover. */
export function StateBadge(props: { state: keyof typeof STATE_LABELS; check: string }): JSX.Element {
  const label = STATE_LABELS[props.state];
  return (
    <span class="badge" data-state={props.state} title={`${props.check}: ${label.hint}`} style={{ background: label.colour }}>
      {label.text}
    </span>
  );
}

export function Loading(props: { what: string }): JSX.Element {
  return <p class="muted" role="status">Loading {props.what}…</p>;
}

export function Empty(props: { title: string; children?: ComponentChildren }): JSX.Element {
  return (
    <div class="empty" data-testid="empty">
      <h2>{props.title}</h2>
      {props.children}
    </div>
  );
}

export function ErrorBox(props: { error: unknown }): JSX.Element {
  const e = props.error;
  const message = e instanceof Error ? e.message : String(e);
  const hint = e instanceof ApiFailure && e.status === 503 ? ' The server cannot reach Temporal or Postgres right now; try again shortly.' : '';
  return (
    <div class="error" role="alert">
      <strong>Could not load this page.</strong> {message}
      {hint}
    </div>
  );
}

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ok'; data: T };

/** Load once per `key` (a new key reloads); a stale answer for an older key is dropped. */
export function useLoad<T>(key: string, load: (signal: AbortSignal) => Promise<T>): [Loaded<T>, (data: T) => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    const abort = new AbortController();
    setLoaded({ state: 'loading' });
    load(abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setLoaded({ state: 'ok', data });
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setLoaded({ state: 'error', error });
      },
    );
    return () => abort.abort();
    // Reloads on `key` alone: it names everything `load` reads.
  }, [key]);
  return [loaded, (data: T) => setLoaded({ state: 'ok', data })];
}

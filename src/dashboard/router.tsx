// Client-side routes under /ui/: a link changes the address without reloading the page, and
// every address can be opened directly (the server answers each with the same page).
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'builds' }
  | { page: 'build'; buildId: string }
  | { page: 'pipeline'; name: string }
  | { page: 'health' }
  | { page: 'lineage' }
  | { page: 'not_found'; path: string };

export const BASE = '/ui';

export function routeOf(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = rest.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'builds')) return { page: 'builds' };
  if (parts.length === 2 && parts[0] === 'builds') return { page: 'build', buildId: parts[1]! };
  if (parts.length === 2 && parts[0] === 'pipelines') return { page: 'pipeline', name: parts[1]! };
  if (parts.length === 1 && parts[0] === 'health') return { page: 'health' };
  if (parts.length === 1 && parts[0] === 'lineage') return { page: 'lineage' };
  return { page: 'not_found', path: pathname };
}

export const hrefs = {
  builds: (query?: URLSearchParams) => `${BASE}/builds${query && [...query].length ? `?${query.toString()}` : ''}`,
  build: (buildId: string) => `${BASE}/builds/${encodeURIComponent(buildId)}`,
  pipeline: (name: string) => `${BASE}/pipelines/${encodeURIComponent(name)}`,
  health: () => `${BASE}/health`,
  lineage: (address?: string, direction?: string, depth?: number) => {
    const q = new URLSearchParams();
    if (address) q.set('address', address);
    if (direction) q.set('direction', direction);
    if (depth !== undefined) q.set('depth', String(depth));
    return `${BASE}/lineage${[...q].length ? `?${q.toString()}` : ''}`;
  },
};

export function navigate(href: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current address (path and query); re-renders on every navigation. */
export function useLocation(): { pathname: string; search: string } {
  const read = () => ({ pathname: location.pathname, search: location.search });
  const [current, setCurrent] = useState(read);
  useEffect(() => {
    const onChange = () => setCurrent(read());
    window.addEventListener('popstate', onChange);
    return () => window.removeEventListener('popstate', onChange);
  }, []);
  return current;
}

/** An ordinary link (it opens in a new tab with a modifier key) that navigates in place. */
export function Link(props: { href: string; class?: string; title?: string; children: ComponentChildren }): JSX.Element {
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.href);
  };
  return (
    <a href={props.href} class={props.class} title={props.title} onClick={onClick}>
      {props.children}
    </a>
  );
}

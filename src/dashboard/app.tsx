// The dashboard's frame: navigation, the sign-in form (when the server asks for a token), and
// the page the address names.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { signIn, whenUnauthorized } from './api.js';
import { BuildPage } from './pages/build.js';
import { BuildsPage } from './pages/builds.js';
import { HealthPage } from './pages/health.js';
import { LineagePage } from './pages/lineage.js';
import { PipelinePage } from './pages/pipeline.js';
import { clearReady } from './ready.js';
import { hrefs, Link, navigate, routeOf, useLocation, type Route } from './router.js';

function Page(props: { route: Route; search: string }): JSX.Element {
  const { route } = props;
  switch (route.page) {
    case 'builds':
      return <BuildsPage search={props.search} />;
    case 'build':
      return <BuildPage buildId={route.buildId} />;
    case 'pipeline':
      return <PipelinePage name={route.name} />;
    case 'health':
      return <HealthPage />;
    case 'lineage':
      return <LineagePage search={props.search} />;
    case 'not_found':
      return (
        <div class="empty" data-testid="not-found">
          <h2>No such page</h2>
          <p>
            Nothing lives at <code>{route.path}</code>. Start from the <Link href={hrefs.builds()}>builds</Link>.
          </p>
        </div>
      );
  }
}

function SignIn(props: { onSignedIn(): void }): JSX.Element {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const submit = (event: Event) => {
    event.preventDefault();
    signIn(token.trim()).then(
      () => props.onSignedIn(),
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  };
  return (
    <form class="signin" onSubmit={submit} data-testid="signin">
      <h2>Sign in</h2>
      <p>
        This server needs an API token (read scope is enough). Create one with <code>watcher token create --name me --scope read</code>. It is kept in an
        HTTP-only cookie, never in this page.
      </p>
      <label>
        API token <input type="password" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} required />
      </label>
      <button type="submit">Sign in</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

export function App(): JSX.Element {
  const { pathname, search } = useLocation();
  const [needsToken, setNeedsToken] = useState(false);
  // Each page is mounted afresh on signing in, so it loads again with the cookie.
  const [session, setSession] = useState(0);
  useEffect(() => whenUnauthorized(() => setNeedsToken(true)), []);
  useEffect(() => clearReady(), [pathname, search]);
  const route = routeOf(pathname);
  const current = (page: Route['page']) => (route.page === page || (page === 'builds' && route.page === 'build') ? 'page' : undefined);
  return (
    <>
      <header>
        <nav aria-label="Main">
          <strong class="brand">Watcher</strong>
          <a href={hrefs.builds()} aria-current={current('builds')} onClick={(e) => intercept(e, hrefs.builds())}>
            Builds
          </a>
          <a href={hrefs.health()} aria-current={current('health')} onClick={(e) => intercept(e, hrefs.health())}>
            Health
          </a>
          <a href={hrefs.lineage()} aria-current={current('lineage')} onClick={(e) => intercept(e, hrefs.lineage())}>
            Lineage
          </a>
          <a href="/docs" class="right">
            API docs
          </a>
        </nav>
      </header>
      <main>
        {needsToken ? (
          <SignIn
            onSignedIn={() => {
              setNeedsToken(false);
              setSession((n) => n + 1);
            }}
          />
        ) : (
          <Page key={`${session}:${pathname}${search}`} route={route} search={search} />
        )}
      </main>
    </>
  );
}

function intercept(event: MouseEvent, href: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(href);
}

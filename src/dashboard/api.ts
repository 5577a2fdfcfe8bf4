// The dashboard's only way to the server: same-origin JSON reads (the session cookie rides
// along) and the live stream of one build. The types are the API client's (type-only).
import type { BuildDetail } from '../api-client.js';

export type { BuildDetail, BuildSummary, ExecutionStatus, NodeExecution } from '../api-client.js';

/** An answer other than 2xx: its status and the server's message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Called when the server asks for a token (401): the app shows its sign-in form. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', signal });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized();
    const message = (body as { message?: unknown } | undefined)?.message;
    throw new ApiFailure(response.status, typeof message === 'string' ? message : `${response.status} ${response.statusText}`);
  }
  return body as T;
}

/** Sign in: the server keeps the token in an HTTP-only cookie (this page never stores it). */
export async function signIn(token: string): Promise<void> {
  const response = await fetch('/ui/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), credentials: 'same-origin' });
  if (!response.ok) throw new ApiFailure(response.status, response.status === 401 ? 'That token is unknown or revoked.' : `Sign-in failed (${response.status}).`);
}

/**
 * A build's detail, live: `onBuild` with each new state the server sends, `onEnd` when the build
 * has ended. Returns the function that closes the stream (the page's cleanup calls it).
 */
export function watchBuild(buildId: string, handlers: { onBuild(build: BuildDetail): void; onEnd(): void; onError(): void }): () => void {
  const source = new EventSource(`/builds/${encodeURIComponent(buildId)}/events`, { withCredentials: true });
  source.addEventListener('build', (event) => handlers.onBuild(JSON.parse((event as MessageEvent<string>).data) as BuildDetail));
  source.addEventListener('end', () => {
    source.close();
    handlers.onEnd();
  });
  // EventSource reconnects by itself after a dropped connection; the page only says so.
  source.onerror = () => handlers.onError();
  return () => source.close();
}

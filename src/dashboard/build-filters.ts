// The builds page's filters, kept in the page's address (so a filtered view can be shared):
// from the filter form to the address, and from the address to GET /builds's query.
import { BUILD_TRIGGERS } from '../contracts/trigger.js';

/** The filters, in the order the page and the address show them (GET /builds takes the same names). */
export const BUILD_FILTERS = ['project', 'status', 'target', 'trigger', 'schedule', 'from', 'to'] as const;
export type BuildFilterName = (typeof BUILD_FILTERS)[number];
export const TRIGGERS = BUILD_TRIGGERS;
const DATES: ReadonlySet<string> = new Set(['from', 'to']);

/**
 * The page's address query from the form's values: empty fields left out, the date range (a
 * `datetime-local` value, the browser's local time) as ISO instants. A date the browser cannot
 * read is kept as typed, so that the server names it rather than the filter silently vanishing.
 */
export function pageQueryOfForm(get: (name: BuildFilterName) => string | null | undefined): URLSearchParams {
  const query = new URLSearchParams();
  for (const name of BUILD_FILTERS) {
    const value = (get(name) ?? '').trim();
    if (!value) continue;
    if (DATES.has(name)) {
      const at = new Date(value);
      query.set(name, Number.isNaN(at.getTime()) ? value : at.toISOString());
    } else query.set(name, value);
  }
  return query;
}

/** GET /builds's query for the page's address: only the filters it knows, and a limit. */
export function apiQueryOfPage(page: URLSearchParams, limit: number): URLSearchParams {
  const api = new URLSearchParams();
  for (const name of BUILD_FILTERS) {
    const value = page.get(name);
    if (value) api.set(name, value);
  }
  api.set('limit', String(limit));
  return api;
}

/** An ISO instant as a `datetime-local` input's value, in the browser's time zone ('' when none or unreadable). */
export function localInputValue(iso: string | null, offsetMinutes?: number): string {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  const offset = offsetMinutes ?? at.getTimezoneOffset();
  return new Date(at.getTime() - offset * 60_000).toISOString().slice(0, 16);
}

/** How the list shows what started a build: `schedule (nightly)`, `cli`, or a dash. */
export function triggerLabel(build: { trigger: string | null; schedule: string | null }): string {
  if (!build.trigger) return '–';
  return build.trigger === 'schedule' && build.schedule ? `schedule (${build.schedule})` : build.trigger;
}

// What freshness and timeliness share: which threshold applies to a pipeline (its own, else
// its type's, else none) and calendar arithmetic for "N dateparts after a moment".
import type { Datepart } from '../contracts/node-config.js';

export { DATEPARTS, type Datepart } from '../contracts/node-config.js';

/** A number + datepart pair as stored on a pipeline or a pipeline type (both set or both null). */
export interface CheckConfig {
  number: number | null;
  datepart: Datepart | null;
}

export interface Threshold {
  number: number;
  datepart: Datepart;
  /** true when the pipeline's own setting applies, false when its type's (etl-watcher's used_child_config). */
  usedChildConfig: boolean;
}

/** The pipeline's own setting when complete, else its type's, else none (the check skips it). */
export function resolveThreshold(own: CheckConfig, type: CheckConfig): Threshold | undefined {
  if (own.number !== null && own.datepart !== null) return { number: own.number, datepart: own.datepart, usedChildConfig: true };
  if (type.number !== null && type.datepart !== null) return { number: type.number, datepart: type.datepart, usedChildConfig: false };
  return undefined;
}

const MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 } as const;

/**
 * `at` plus `n` dateparts, in UTC. Months and years are calendar arithmetic like Postgres's
 * `+ interval`: the day of month is kept, clamped to the month's last day (Jan 31 + 1 month =
 * Feb 28/29). An out-of-range result is an invalid Date, which compares false with anything.
 */
export function addDatepart(at: Date, n: number, datepart: Datepart): Date {
  if (datepart !== 'month' && datepart !== 'year') return new Date(at.getTime() + n * MS[datepart]);
  const months = datepart === 'year' ? n * 12 : n;
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth() + months;
  const endOfMonth = new Date(0);
  endOfMonth.setUTCFullYear(year, month + 1, 0); // day 0 = the last day of the month before (setUTCFullYear: no 1900 offset for years < 100)
  const lastDay = endOfMonth.getUTCDate();
  const result = new Date(at.getTime());
  result.setUTCFullYear(year, month, Math.min(at.getUTCDate(), lastDay));
  return result;
}

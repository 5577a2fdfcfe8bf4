// How the dashboard writes times, durations, counts and statuses.
import type { ExecutionStatus } from '../api-client.js';

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : n.toLocaleString();
}

/** One colour per status, shared by badges, the Gantt chart and the lineage graph. */
export const STATUS_COLOURS: Record<string, string> = {
  success: '#2e7d32',
  warn: '#ed6c02',
  error: '#c62828',
  fail: '#ad1457',
  skipped: '#757575',
  not_run: '#9e9e9e',
  canceled: '#6d4c41',
  running: '#1565c0',
  pending: '#90a4ae',
};

export function statusColour(status: string): string {
  return STATUS_COLOURS[status] ?? '#607d8b';
}

/** Statuses that mean something went wrong, first in every list. */
export const FAILED_STATUSES: readonly ExecutionStatus[] = ['error', 'fail'];

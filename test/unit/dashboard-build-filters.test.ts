// The builds page's filters: form -> page address -> GET /builds query, and the date inputs.
import { describe, expect, it } from 'vitest';
import { apiQueryOfPage, localInputValue, pageQueryOfForm, triggerLabel, type BuildFilterName } from '../../src/dashboard/build-filters.js';

const form = (values: Partial<Record<BuildFilterName, string>>) => (name: BuildFilterName) => values[name];

describe('the builds page filters', () => {
  it('put the filled-in fields in the address, trimmed, dates as ISO instants', () => {
    const q = pageQueryOfForm(form({ project: ' shop ', status: '', target: 'prod', trigger: 'schedule', schedule: 'nightly', from: '2026-12-01T10:00:00Z', to: '  ' }));
    expect([...q]).toEqual([
      ['project', 'shop'],
      ['target', 'prod'],
      ['trigger', 'schedule'],
      ['schedule', 'nightly'],
      ['from', '2026-12-01T10:00:00.000Z'],
    ]);
  });

  it('read a datetime-local value as local time', () => {
    const q = pageQueryOfForm(form({ from: '2026-12-01T10:30' }));
    expect(q.get('from')).toBe(new Date(2026, 11, 1, 10, 30).toISOString());
  });

  it('keep an unreadable date as typed (the server names it) instead of throwing', () => {
    expect(pageQueryOfForm(form({ to: 'yesterday' })).get('to')).toBe('yesterday');
  });

  it('send GET /builds only the filters it knows, with a limit', () => {
    const page = new URLSearchParams('project=shop&trigger=api&target=dev&schedule=n&from=a&to=b&evil=1&limit=9999');
    expect(Object.fromEntries(apiQueryOfPage(page, 100))).toEqual({ project: 'shop', trigger: 'api', target: 'dev', schedule: 'n', from: 'a', to: 'b', limit: '100' });
  });

  it('show an instant in a datetime-local input in the browser time zone, and round-trip it', () => {
    expect(localInputValue('2026-12-01T10:30:00Z', 0)).toBe('2026-12-01T10:30');
    expect(localInputValue('2026-12-01T10:30:00Z', -60)).toBe('2026-12-01T11:30');
    expect(localInputValue('2026-12-01T10:30:00Z', 300)).toBe('2026-12-01T05:30');
    expect(localInputValue(null)).toBe('');
    expect(localInputValue('nonsense')).toBe('');
    const iso = '2026-12-01T10:30:00.000Z';
    expect(pageQueryOfForm(form({ from: localInputValue(iso) })).get('from')).toBe(iso);
  });

  it('label the trigger, with the schedule of a scheduled build', () => {
    expect(triggerLabel({ trigger: 'schedule', schedule: 'nightly' })).toBe('schedule (nightly)');
    expect(triggerLabel({ trigger: 'cli', schedule: null })).toBe('cli');
    expect(triggerLabel({ trigger: null, schedule: null })).toBe('–');
  });
});

// Schedules, the pure parts: durations, cron strings, overlap names, declarations (flags and
// watcher.yml entries alike), the change-detection hash, and the Temporal Schedule they make.
import { describe, expect, it } from 'vitest';
import { parseBuildInput } from '../../src/contracts/build-input.js';
import { BUILD_ID_PATTERN } from '../../src/contracts/names.js';
import {
  cronProblem,
  formatDuration,
  OVERLAP_NAMES,
  overlapName,
  OVERLAP_POLICIES,
  parseDuration,
  parseInstant,
  parseScheduleDeclaration,
} from '../../src/schedules/definition.js';
import { buildIdOfWorkflowId, scheduleOptions } from '../../src/schedules/temporal-schedules.js';
import { parseWatcherFile } from '../../src/schedules/watcher-file.js';

const PROJECT = '/abs/shop';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1d2h3m4s', 93_784_000],
  ])('%s is %d ms and prints back the same', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(text);
  });

  it.each(['', '1', 'h', '1x', '1.5h', '-1h', '1m1h', 'PT1H'])('%j is refused with an example', (text) => {
    expect(parseDuration(text)).toMatch(/must be a duration such as 30s, 15m, 1h/);
  });
});

describe('cron strings', () => {
  it.each(['0 2 * * *', '*/15 * * * *', '0 9-17 * * MON-FRI', '0 0 1,15 * *', '30 4 * JAN,jul sun', '0 0/6 * * *', '@daily', '@Hourly'])('%j is accepted', (cron) => {
    expect(cronProblem(cron)).toBeUndefined();
  });

  it.each([
    ['', /must not be empty/],
    ['0 2 * *', /must have 5 fields .* got 4/],
    ['0 0 2 * * *', /must have 5 fields .* got 6/],
    ['61 2 * * *', /^minute "61": 61 is out of range 0-59/],
    ['0 24 * * *', /^hour "24": 24 is out of range 0-23/],
    ['0 0 0 * *', /^day of month "0": 0 is out of range 1-31/],
    ['0 0 * 13 *', /^month "13": 13 is out of range 1-12/],
    ['0 0 * * 7', /^day of week "7": 7 is out of range 0-6/],
    ['0 0 * * FUNDAY', /^day of week "FUNDAY": "FUNDAY" is not a number or name/],
    ['0 5-2 * * *', /range 5-2 runs backwards/],
    ['*/0 * * * *', /a step must be at least 1/],
    ['@every 5m', /unknown macro @every 5m .*for intervals use every/],
    ['0 2 * * *;rm', /day of week/],
  ])('%j is refused: %s', (cron, message) => {
    expect(cronProblem(cron)).toMatch(message);
  });
});

describe('overlap policies', () => {
  it("map one to one onto Temporal's", () => {
    expect(OVERLAP_NAMES).toEqual(['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'terminate-other', 'allow-all']);
    for (const name of OVERLAP_NAMES) expect(overlapName(OVERLAP_POLICIES[name])).toBe(name);
    expect(overlapName('SOMETHING_ELSE')).toBeUndefined();
  });
});

describe('a schedule declaration', () => {
  it('gets the defaults: overlap skip, catch-up window 1h, not paused; its build input names the project and the schedule', () => {
    const def = parseScheduleDeclaration({ name: 'nightly', cron: '0 2 * * *', select: 'stg_payments+' }, PROJECT);
    expect(def).toMatchObject({
      name: 'nightly',
      when: { cron: '0 2 * * *' },
      overlap: 'skip',
      catchupWindowMs: 3_600_000,
      paused: false,
      build: { projectDir: PROJECT, schedule: 'nightly', select: 'stg_payments+' },
    });
    expect(def.hash).toMatch(/^[0-9a-f]{64}$/);
    // What the schedule stores is a valid dbtBuild input, and the schedule's name reaches the build.
    expect(parseBuildInput(def.build).schedule).toBe('nightly');
  });

  it('takes an interval, an overlap policy, a catch-up window, a time zone, a paused state and a note', () => {
    const every = parseScheduleDeclaration({ name: 'hourly', every: '1h', overlap: 'buffer-all', catchupWindow: '10m', paused: true, note: 'wait for the migration' }, PROJECT);
    expect(every).toMatchObject({ when: { everyMs: 3_600_000 }, overlap: 'buffer-all', catchupWindowMs: 600_000, paused: true, note: 'wait for the migration' });
    const zoned = parseScheduleDeclaration({ name: 'berlin', cron: '0 2 * * *', timezone: 'Europe/Berlin' }, PROJECT);
    expect(zoned.when).toEqual({ cron: '0 2 * * *', timezone: 'Europe/Berlin' });
  });

  it.each([
    ['no cron and no interval', { name: 'x' }, /^invalid schedule input: cron: give either cron or every$/],
    ['both', { name: 'x', cron: '@daily', every: '1h' }, /every: give either cron or every, not both/],
    ['a bad cron', { name: 'x', cron: '0 25 * * *' }, /cron: hour "25": 25 is out of range 0-23/],
    ['a bad interval', { name: 'x', every: 'soon' }, /every: must be a duration/],
    ['a sub-second interval', { name: 'x', every: '0s' }, /every: must be at least 1s/],
    ['a short catch-up window', { name: 'x', every: '1h', catchupWindow: '5s' }, /catchupWindow: must be at least 10s/],
    ['an unknown overlap', { name: 'x', every: '1h', overlap: 'queue' }, /overlap: must be one of skip, buffer-one, buffer-all, cancel-other, terminate-other, allow-all/],
    ['an unknown time zone', { name: 'x', cron: '@daily', timezone: 'Mars/Olympus' }, /timezone: must be an IANA time zone/],
    ['a time zone on an interval', { name: 'x', every: '1h', timezone: 'UTC' }, /timezone: applies to cron only/],
    ['a name with a slash', { name: 'a/b', every: '1h' }, /name: must be a schedule name/],
    ['a name over 64 characters', { name: 'n'.repeat(65), every: '1h' }, /name: must be a schedule name/],
    ['a bad build flag', { name: 'x', every: '1h', select: 'a;b' }, /select: may only contain/],
    ['threads out of range', { name: 'x', every: '1h', threads: 0 }, /threads: must be at least 1/],
    ['a field of its own', { name: 'x', every: '1h', buildId: 'b1' }, /buildId: unknown field/],
    ['a fixed watermark', { name: 'x', every: '1h', nextWatermark: '2026-01-01' }, /nextWatermark: unknown field/],
    ['an unknown field', { name: 'x', every: '1h', selct: 'a' }, /selct: unknown field/],
  ])('refuses %s, naming the field', (_what, raw, message) => {
    expect(() => parseScheduleDeclaration(raw, PROJECT)).toThrow(message);
  });

  it('refuses a relative project (the build input rules apply to it)', () => {
    expect(() => parseScheduleDeclaration({ name: 'x', every: '1h' }, 'shop')).toThrow(/projectDir: must be an absolute path/);
  });

  describe('hash', () => {
    const hash = (raw: Record<string, unknown>) => parseScheduleDeclaration({ name: 'n', cron: '0 2 * * *', ...raw }, PROJECT).hash;

    it('is the same for the same declaration, whatever the key order or spelling of a default', () => {
      const a = parseScheduleDeclaration({ name: 'n', cron: '0 2 * * *', select: 'a', vars: { x: 1, y: 2 } }, PROJECT).hash;
      const b = parseScheduleDeclaration({ vars: { y: 2, x: 1 }, select: ['a'], cron: ' 0 2 * * * ', name: 'n', overlap: 'skip', catchupWindow: '60m', fullRefresh: false }, PROJECT).hash;
      expect(b).toBe(a);
    });

    it('changes with anything that changes what runs or when', () => {
      const base = hash({});
      const variants = [
        hash({ cron: '0 3 * * *' }),
        hash({ timezone: 'Europe/Berlin' }),
        hash({ select: 'a' }),
        hash({ target: 'prod' }),
        hash({ vars: { schema: 'x' } }),
        hash({ overlap: 'allow-all' }),
        hash({ catchupWindow: '2h' }),
        hash({ paused: true }),
        hash({ note: 'n' }),
        parseScheduleDeclaration({ name: 'n', cron: '0 2 * * *' }, '/abs/other').hash,
        parseScheduleDeclaration({ name: 'm', cron: '0 2 * * *' }, PROJECT).hash,
      ];
      expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    });
  });
});

describe('watcher.yml', () => {
  const file = `${PROJECT}/watcher.yml`;

  it('declares schedules with the build input field names', () => {
    const parsed = parseWatcherFile(
      [
        'schedules:',
        '  - name: nightly',
        '    cron: "0 2 * * *"',
        '    timezone: Europe/Berlin',
        '    select: [tag:nightly]',
        '    exclude: stg_legacy',
        '    target: prod',
        '    vars: {schema: analytics}',
        '    fullRefresh: true',
        '  - name: hourly-seeds',
        '    every: 1h',
        '    select: resource_type:seed',
        '    overlap: buffer-one',
        '    catchupWindow: 15m',
      ].join('\n'),
      PROJECT,
    );
    expect(parsed.file).toBe(file);
    expect(parsed.schedules.map((s) => s.name)).toEqual(['nightly', 'hourly-seeds']);
    expect(parsed.schedules[0]).toMatchObject({
      when: { cron: '0 2 * * *', timezone: 'Europe/Berlin' },
      build: { projectDir: PROJECT, schedule: 'nightly', select: ['tag:nightly'], exclude: 'stg_legacy', target: 'prod', vars: { schema: 'analytics' }, fullRefresh: true },
    });
    expect(parsed.schedules[1]).toMatchObject({ when: { everyMs: 3_600_000 }, overlap: 'buffer-one', catchupWindowMs: 900_000 });
  });

  it('may be empty or list no schedules', () => {
    expect(parseWatcherFile('', PROJECT).schedules).toEqual([]);
    expect(parseWatcherFile('schedules: []\n', PROJECT).schedules).toEqual([]);
  });

  it.each([
    ['a bad cron', 'schedules:\n  - {name: a, every: 1h}\n  - {name: b, cron: "0 2 * *"}\n', /schedules\[1\]\.cron: must have 5 fields/],
    ['a bad build flag', 'schedules:\n  - {name: a, every: 1h, threads: many}\n', /schedules\[0\]\.threads: /],
    ['an unknown field', 'schedules:\n  - {name: a, every: 1h, selct: x}\n', /schedules\[0\]\.selct: unknown field/],
    ['neither cron nor every', 'schedules:\n  - {name: a}\n', /schedules\[0\]\.cron: give either cron or every/],
    ['an entry that is not a mapping', 'schedules:\n  - nightly\n', /schedules\[0\]: /],
    ['a duplicate name', 'schedules:\n  - {name: a, every: 1h}\n  - {name: a, cron: "@daily"}\n', /schedules\[1\]\.name: a is already declared by schedules\[0\]/],
    ['a typo at the top', 'schedule:\n  - {name: a, every: 1h}\n', /schedule: unknown field/],
    ['schedules that are not a list', 'schedules: {name: a}\n', /schedules: must be a list of schedules/],
    ['a YAML syntax error', 'schedules:\n  - name: a\n    cron: "0 2 * * *\n', /invalid .*watcher\.yml input: .+/],
    ['a duplicate key', 'schedules:\n  - {name: a, every: 1h, every: 2h}\n', /watcher\.yml input: .*[Uu]nique/],
  ])('refuses %s, naming the path', (_what, text, message) => {
    expect(() => parseWatcherFile(text, PROJECT)).toThrow(message);
  });
});

describe('the Temporal Schedule of a declaration', () => {
  it("starts dbtBuild as watcher/<name> (Temporal appends the time) with the schedule's policies, state and hash", () => {
    const def = parseScheduleDeclaration({ name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Berlin', overlap: 'allow-all', paused: true, note: 'n', select: 'a' }, PROJECT);
    const options = scheduleOptions(def, { taskQueue: 'q', origin: 'watcher.yml' });
    expect(options).toMatchObject({
      scheduleId: 'watcher-schedule/nightly',
      spec: { cronExpressions: ['0 2 * * *'], timezone: 'Europe/Berlin' },
      action: { type: 'startWorkflow', workflowType: 'dbtBuild', workflowId: 'watcher/nightly', taskQueue: 'q', args: [def.build] },
      policies: { overlap: 'ALLOW_ALL', catchupWindow: 3_600_000 },
      state: { paused: true, note: 'n' },
    });
    expect(options.action.memo).toEqual({ watcherSchedule: { name: 'nightly', hash: def.hash, origin: 'watcher.yml', projectDir: PROJECT, when: def.when } });
    const attributes = options.action.typedSearchAttributes as Array<{ key: { name: string }; value: unknown }>;
    expect(attributes.map((a) => [a.key.name, a.value])).toContainEqual(['WatcherSchedule', 'nightly']);
    const every = scheduleOptions(parseScheduleDeclaration({ name: 'h', every: '15m' }, PROJECT), { taskQueue: 'q', origin: 'cli' });
    expect(every.spec).toEqual({ intervals: [{ every: 900_000 }] });
  });

  it("names builds whose ID is their workflow ID without watcher/, a valid build ID", () => {
    const longest = `${'n'.repeat(64)}-2026-12-02T02:00:00Z`;
    for (const buildId of ['nightly-2026-12-02T02:00:00Z', longest]) {
      expect(buildIdOfWorkflowId(`watcher/${buildId}`)).toBe(buildId);
      expect(BUILD_ID_PATTERN.test(buildId), buildId).toBe(true);
      expect(parseBuildInput({ projectDir: PROJECT, buildId }).buildId).toBe(buildId);
    }
    // Colons only in that suffix: nowhere a user would pick them.
    for (const bad of ['a:b', 'nightly-2026-12-02T02:00:00', 'nightly-2026-12-02T02:00Z', ':2026-12-02T02:00:00Z', `${'n'.repeat(80)}-2026-12-02T02:00:00Z`]) {
      expect(BUILD_ID_PATTERN.test(bad), bad).toBe(false);
    }
  });
});

describe('backfill times', () => {
  it('are ISO 8601 dates or times with a zone', () => {
    expect(parseInstant('2026-12-01', '--from').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseInstant('2026-12-01T02:30:00+02:00', '--from').toISOString()).toBe('2026-12-01T00:30:00.000Z');
    expect(parseInstant('2026-12-01T02:30Z', '--to').toISOString()).toBe('2026-12-01T02:30:00.000Z');
    for (const bad of ['2026-12-01T02:00:00', 'yesterday', '2026-13-01', '1733000000']) {
      expect(() => parseInstant(bad, '--from'), bad).toThrow(/--from: must be an ISO 8601 date or a time with a zone/);
    }
  });
});

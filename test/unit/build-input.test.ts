import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildInputSchema, parseBuildInput, rerunFlagsOf } from '../../src/contracts/build-input.js';
import { describeZodError, InvalidInputError, normalizePosixPath, parseInput } from '../../src/contracts/validation.js';

const PROJECT = '/srv/dbt/shop';

function invalid(raw: unknown): InvalidInputError {
  try {
    parseBuildInput(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error(`expected ${JSON.stringify(raw)?.slice(0, 200)} to be refused`);
}

describe('parseBuildInput: valid input', () => {
  it('fills the defaults for a minimal input', () => {
    const input = parseBuildInput({ projectDir: PROJECT });
    expect(input).toEqual({
      projectDir: PROJECT,
      fullRefresh: false,
      failFast: false,
      nodeRetries: 1,
      nodeRetryDelaySeconds: 5,
      overlap: 'queue',
    });
    expect(input.groupSize).toBeUndefined(); // the build picks it (see startGroups)
    expect(input.select).toBeUndefined();
    expect(input.threads).toBeUndefined();
  });

  it('turns a single select string into a one-element list', () => {
    expect(parseBuildInput({ projectDir: PROJECT, select: 'tag:nightly' }).select).toEqual(['tag:nightly']);
  });

  it('keeps a list of selectors as it is, and does the same for exclude', () => {
    const input = parseBuildInput({ projectDir: PROJECT, select: ['+orders', 'customers+'], exclude: 'stg_payments' });
    expect(input.select).toEqual(['+orders', 'customers+']);
    expect(input.exclude).toEqual(['stg_payments']);
  });

  it('trims selectors', () => {
    expect(parseBuildInput({ projectDir: PROJECT, select: '  orders  ' }).select).toEqual(['orders']);
  });

  it('accepts the full selector syntax: methods, graph operators, globs, unions and intersections', () => {
    const select = ['path:models/marts/*', '2+orders+1', '@customers', 'tag:a,tag:b', 'config.materialized=view', 'shop.marts.orders', 'a b'];
    expect(parseBuildInput({ projectDir: PROJECT, select }).select).toEqual(select);
  });

  it('keeps every provided field', () => {
    const raw = {
      projectDir: PROJECT,
      profilesDir: 'profiles',
      target: 'prod-eu_1',
      select: ['orders'],
      exclude: ['customers'],
      selector: 'nightly',
      vars: { schema: 'ci_123', nested: { list: [1, 'two', null, true] } },
      fullRefresh: true,
      threads: 8,
      failFast: true,
      nodeRetries: 0,
      nodeRetryDelaySeconds: 0.5,
      groupSize: 50,
      overlap: 'reject',
      pipeline: 'nightly orders',
      nextWatermark: '2024-05-02',
      buildId: 'nightly-2024.05.01_1',
    };
    expect(parseBuildInput(raw)).toEqual(raw);
  });

  it('accepts every overlap policy', () => {
    for (const overlap of ['queue', 'reject', 'allow'] as const) expect(parseBuildInput({ projectDir: PROJECT, overlap }).overlap).toBe(overlap);
  });

  it('accepts the boundaries of the numeric fields', () => {
    expect(parseBuildInput({ projectDir: PROJECT, threads: 1, nodeRetries: 0, nodeRetryDelaySeconds: 0.1 })).toMatchObject({
      threads: 1,
      nodeRetries: 0,
      nodeRetryDelaySeconds: 0.1,
    });
    expect(parseBuildInput({ projectDir: PROJECT, threads: 64, nodeRetries: 10, nodeRetryDelaySeconds: 3600 })).toMatchObject({
      threads: 64,
      nodeRetries: 10,
      nodeRetryDelaySeconds: 3600,
    });
    expect(parseBuildInput({ projectDir: PROJECT, groupSize: 1 }).groupSize).toBe(1);
    expect(parseBuildInput({ projectDir: PROJECT, groupSize: 1000 }).groupSize).toBe(1000);
  });

  it('accepts an absolute profilesDir and a relative one that stays inside the project', () => {
    expect(parseBuildInput({ projectDir: PROJECT, profilesDir: '/etc/dbt' }).profilesDir).toBe('/etc/dbt');
    expect(parseBuildInput({ projectDir: PROJECT, profilesDir: 'config/../profiles' }).profilesDir).toBe('config/../profiles');
  });

  it('accepts a projectDir with . and .. that stay below the root', () => {
    expect(parseBuildInput({ projectDir: '/srv/./dbt/../dbt/shop' }).projectDir).toBe('/srv/./dbt/../dbt/shop');
    expect(parseBuildInput({ projectDir: '/' }).projectDir).toBe('/');
  });

  it('accepts vars at (just under) 64 KiB', () => {
    const vars = { a: 'x'.repeat(10_000), b: 'x'.repeat(10_000), c: 'x'.repeat(10_000), d: 'x'.repeat(10_000), e: 'x'.repeat(10_000), f: 'x'.repeat(10_000) };
    expect(JSON.stringify(vars).length).toBeLessThanOrEqual(65_536);
    expect(parseBuildInput({ projectDir: PROJECT, vars }).vars).toEqual(vars);
  });
});

describe('parseBuildInput: malformed input names the bad field', () => {
  const longVars = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`v${i}`, 'x'.repeat(10_000)]));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a relative projectDir', { projectDir: 'srv/dbt/shop' }, /^projectDir: must be an absolute path/],
    ['a projectDir with "./"', { projectDir: './shop' }, /^projectDir: must be an absolute path/],
    ['an empty projectDir', { projectDir: '' }, /^projectDir: must not be empty/],
    ['a projectDir with a newline', { projectDir: '/srv/dbt\n/shop' }, /^projectDir: must not contain control characters/],
    ['a projectDir with a NUL byte', { projectDir: '/srv/dbt\u0000' }, /^projectDir: must not contain control characters/],
    ['a projectDir with DEL', { projectDir: '/srv/\u007fdbt' }, /^projectDir: must not contain control characters/],
    ['a projectDir climbing above the root', { projectDir: '/../x' }, /^projectDir: must not climb above the filesystem root/],
    ['a projectDir climbing above the root later on', { projectDir: '/srv/../../etc' }, /^projectDir: must not climb above the filesystem root/],
    ['a projectDir longer than 4096 characters', { projectDir: '/' + 'a'.repeat(4096) }, /^projectDir: must be at most 4096 characters/],
    ['a projectDir that is not a string', { projectDir: 42 }, /^projectDir: /],
    ['a missing projectDir', {}, /^projectDir: /],
    ['a profilesDir escaping the project', { profilesDir: '../../etc' }, /^profilesDir: a relative path must stay inside projectDir/],
    ['a profilesDir escaping through a subfolder', { profilesDir: 'a/../../etc' }, /^profilesDir: a relative path must stay inside projectDir/],
    ['an empty profilesDir', { profilesDir: '' }, /^profilesDir: must not be empty/],
    ['a profilesDir with a tab', { profilesDir: 'pro\tfiles' }, /^profilesDir: must not contain control characters/],
    ['an empty select string', { select: '' }, /^select: must not be empty/],
    ['a blank select string', { select: '   ' }, /^select: must not be empty/],
    ['an empty select list', { select: [] }, /^select: must not be an empty list/],
    ['a select with ;', { select: 'orders; rm -rf /' }, /^select: may only contain letters/],
    ['a select with $(...)', { select: '$(whoami)' }, /^select: may only contain letters/],
    ['a select with backticks', { select: '`id`' }, /^select: may only contain letters/],
    ['a select with double quotes', { select: '"orders"' }, /^select: may only contain letters/],
    ['a select with single quotes', { select: "'orders'" }, /^select: may only contain letters/],
    ['a select with a pipe', { select: 'orders|cat' }, /^select: may only contain letters/],
    ['a select with a newline', { select: 'orders\ncustomers' }, /^select: may only contain letters/],
    ['a bad entry in a select list', { select: ['orders', 'customers', 'x;y'] }, /^select\[2\]: may only contain letters/],
    ['an empty entry in a select list', { select: ['orders', ''] }, /^select\[1\]: must not be empty/],
    ['a select list of more than 500 entries', { select: Array.from({ length: 501 }, (_, i) => `m${i}`) }, /^select: /],
    ['a selector string over 1000 characters', { select: 'a'.repeat(1001) }, /^select: must be at most 1000 characters/],
    ['a select of the wrong type', { select: 7 }, /^select: /],
    ['a bad exclude', { exclude: ['ok', '$HOME'] }, /^exclude\[1\]: may only contain letters/],
    // Issue 14 item 3: a selector dbt would read as an option (it would override Watcher's own flags).
    ['a select that is a dbt option', { select: '--target-path=/any/dir' }, /^select: must not start a word with '-'/],
    ['a select list smuggling --profiles-dir', { select: ['orders', '--profiles-dir=/tmp/p'] }, /^select\[1\]: must not start a word with '-'/],
    ['a select union ending in an option', { select: 'orders --full-refresh' }, /^select: must not start a word with '-'/],
    ['a short option in select', { select: '-x' }, /^select: must not start a word with '-'/],
    ['an exclude that is a dbt option', { exclude: '--log-path=/tmp/x' }, /^exclude: must not start a word with '-'/],
    ['an exclude list smuggling an option', { exclude: ['a', '--project-dir=/etc'] }, /^exclude\[1\]: must not start a word with '-'/],
    ['a YAML selector name that is an option', { selector: '--target-path' }, /^selector: must be a selector name/],
    ['an unknown field', { selcet: 'orders' }, /^selcet: unknown field$/],
    ['threads as a string', { threads: '4' }, /^threads: /],
    ['threads 0', { threads: 0 }, /^threads: must be at least 1/],
    ['threads 65', { threads: 65 }, /^threads: must be at most 64/],
    ['threads 1.5', { threads: 1.5 }, /^threads: must be an integer/],
    ['nodeRetries -1', { nodeRetries: -1 }, /^nodeRetries: must be at least 0/],
    ['nodeRetries 11', { nodeRetries: 11 }, /^nodeRetries: must be at most 10/],
    ['nodeRetries 2.5', { nodeRetries: 2.5 }, /^nodeRetries: must be an integer/],
    ['nodeRetryDelaySeconds 0', { nodeRetryDelaySeconds: 0 }, /^nodeRetryDelaySeconds: must be at least 0.1/],
    ['nodeRetryDelaySeconds 3601', { nodeRetryDelaySeconds: 3601 }, /^nodeRetryDelaySeconds: must be at most 3600/],
    ['vars as a string', { vars: '{"a": 1}' }, /^vars: /],
    ['vars as an array', { vars: [1, 2] }, /^vars: /],
    ['vars as null', { vars: null }, /^vars: /],
    ['a vars key that is not an identifier', { vars: { 'a-b': 1 } }, /^vars\.a-b: /],
    ['a vars key starting with a digit', { vars: { '1a': 1 } }, /^vars\.1a: /],
    ['vars over 64 KiB', { vars: longVars }, /^vars: must serialise to at most 64 KiB of JSON/],
    ['a vars value that is not JSON', { vars: { a: undefined } }, /^vars\.a: /],
    ['a vars string value over 10 000 characters', { vars: { a: 'x'.repeat(10_001) } }, /^vars\.a: /],
    ['a target with a shell payload', { target: 'prod; drop table' }, /^target: must be a dbt target name/],
    ['a target starting with -', { target: '-prod' }, /^target: must be a dbt target name/],
    ['a target over 64 characters', { target: 'a'.repeat(65) }, /^target: must be a dbt target name/],
    ['a selector with spaces', { selector: 'my selector' }, /^selector: must be a selector name/],
    ['a buildId with /', { buildId: 'a/b' }, /^buildId: must be 1-100 letters/],
    ['an empty buildId', { buildId: '' }, /^buildId: must be 1-100 letters/],
    ['a buildId starting with .', { buildId: '.hidden' }, /^buildId: must be 1-100 letters/],
    ['a buildId over 100 characters', { buildId: 'b'.repeat(101) }, /^buildId: must be 1-100 letters/],
    ['fullRefresh as "yes"', { fullRefresh: 'yes' }, /^fullRefresh: /],
    ['groupSize 0', { groupSize: 0 }, /^groupSize: must be at least 1/],
    ['groupSize 1001', { groupSize: 1001 }, /^groupSize: must be at most 1000/],
    ['groupSize 2.5', { groupSize: 2.5 }, /^groupSize: must be an integer/],
    ['an unknown overlap', { overlap: 'wait' }, /^overlap: /],
    ['failFast as 1', { failFast: 1 }, /^failFast: /],
  ];

  it('has at least 25 distinct cases', () => {
    expect(new Set(cases.map(([what]) => what)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)('refuses %s', (_what, override, expected) => {
    const raw = 'projectDir' in override || Object.keys(override).length === 0 ? override : { projectDir: PROJECT, ...override };
    const err = invalid(raw);
    expect(err.name).toBe('InvalidInputError');
    expect(err.what).toBe('dbtBuild');
    expect(err.problems).toMatch(expected);
    expect(err.message).toBe(`invalid dbtBuild input: ${err.problems}`);
  });

  it('refuses input that is not an object', () => {
    for (const raw of [null, undefined, 'projectDir=/x', 42, [PROJECT]]) {
      expect(invalid(raw).problems).toMatch(/^\(input\): /);
    }
  });

  it('names every bad field at once', () => {
    const err = invalid({ projectDir: 'rel', threads: 0, extra: true, select: ['ok', 'bad;'] });
    expect(err.problems).toContain('projectDir: must be an absolute path');
    expect(err.problems).toContain('threads: must be at least 1');
    expect(err.problems).toContain('extra: unknown field');
    expect(err.problems).toContain('select[1]: may only contain letters');
    expect(err.problems.split('; ').length).toBeGreaterThanOrEqual(4);
  });

  it('names several unknown fields separately', () => {
    expect(invalid({ projectDir: PROJECT, foo: 1, bar: 2 }).problems).toBe('foo: unknown field; bar: unknown field');
  });
});

// The schema's own explanations must reach the user, not only the field name.
describe('parseBuildInput: the schema message reaches the user', () => {
  it('says why a select list is refused when it has more than 500 entries', () => {
    const err = invalid({ projectDir: PROJECT, select: Array.from({ length: 501 }, (_, i) => `m${i}`) });
    expect(err.problems).toBe('select: must list at most 500 selectors');
  });

  it('says why a vars key is refused', () => {
    const err = invalid({ projectDir: PROJECT, vars: { 'a-b': 1 } });
    expect(err.problems).toBe('vars.a-b: var names must be identifiers');
  });
});

describe('rerunFlagsOf', () => {
  it('carries the build flags a single-node rerun needs and nothing else', () => {
    const input = parseBuildInput({
      projectDir: PROJECT,
      profilesDir: 'profiles',
      target: 'ci',
      vars: { schema: 's' },
      fullRefresh: true,
      threads: 2,
      select: 'orders',
      failFast: true,
      buildId: 'b1',
    });
    expect(rerunFlagsOf(input)).toEqual({
      projectDir: PROJECT,
      profilesDir: 'profiles',
      target: 'ci',
      vars: { schema: 's' },
      fullRefresh: true,
      threads: 2,
    });
  });
});

describe('normalizePosixPath', () => {
  it.each([
    ['/', '/'],
    ['/a/b/c', '/a/b/c'],
    ['/a//b/./c/', '/a/b/c'],
    ['/a/b/../c', '/a/c'],
    ['/a/..', '/'],
    ['a/b', 'a/b'],
    ['./a/./b', 'a/b'],
    ['a/../b', 'b'],
    ['a/..', ''],
    ['.', ''],
    ['', ''],
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizePosixPath(input)).toBe(expected);
  });

  it.each(['..', '../a', 'a/../..', '/..', '/../x', '/a/../../b', './..'])('returns null for %j, which climbs above its root', (input) => {
    expect(normalizePosixPath(input)).toBeNull();
  });
});

describe('describeZodError', () => {
  const errorOf = (schema: z.ZodType, value: unknown): z.ZodError => {
    const result = schema.safeParse(value);
    if (result.success) throw new Error('expected a failure');
    return result.error;
  };

  it('formats array indexes in brackets and nested keys with dots', () => {
    const schema = z.object({ a: z.array(z.object({ b: z.string().min(2, 'too short') })) });
    expect(describeZodError(errorOf(schema, { a: [{ b: 'ok' }, { b: 'x' }] }))).toBe('a[1].b: too short');
  });

  it('formats a root-level issue as (input)', () => {
    expect(describeZodError(errorOf(z.string().min(3, 'too short'), 'x'))).toBe('(input): too short');
  });

  it('lists unknown fields with their parent path', () => {
    const schema = z.object({ outer: z.object({ x: z.number() }).strict() }).strict();
    expect(describeZodError(errorOf(schema, { outer: { x: 1, y: 2, z: 3 }, w: 0 }))).toBe(
      'outer.y: unknown field; outer.z: unknown field; w: unknown field',
    );
  });

  it('joins several problems with "; "', () => {
    const schema = z.object({ a: z.number(), b: z.string() });
    const text = describeZodError(errorOf(schema, { a: 'x', b: 1 }));
    expect(text.split('; ').map((s) => s.split(':')[0])).toEqual(['a', 'b']);
  });

  it('parseInput returns the parsed output and throws InvalidInputError otherwise', () => {
    const schema = z.object({ n: z.number().default(3) });
    expect(parseInput(schema, {}, 'thing')).toEqual({ n: 3 });
    expect(() => parseInput(schema, { n: 'x' }, 'thing')).toThrowError(/^invalid thing input: n: /);
  });
});

describe('buildInputSchema', () => {
  it('is strict', () => {
    expect(buildInputSchema().safeParse({ projectDir: PROJECT, extra: 1 }).success).toBe(false);
  });
});

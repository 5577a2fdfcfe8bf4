import { describe, expect, it } from 'vitest';
import { parseBuildInput, rerunFlagsOf, type BuildInput, type BuildInputRaw } from '../../src/contracts/build-input.js';
import { FailureTypes } from '../../src/contracts/status.js';
import {
  buildArgs,
  DbtArgumentError,
  listArgs,
  parseArgs,
  rerunArgs,
  resolveProfilesDir,
  RUNNER_STDOUT_FLAGS,
  sourceFreshnessArgs,
  streamsEvents,
  type InvocationPaths,
} from '../../src/dbt/command.js';

const PATHS: InvocationPaths = { targetPath: '/tmp/watcher/b1/target', logPath: '/tmp/watcher/b1/logs' };
const PROJECT = '/srv/dbt/shop';

const input = (raw: Partial<BuildInputRaw> = {}) => parseBuildInput({ projectDir: PROJECT, ...raw });

/** The values following `flag` up to the next `--option`. */
function valuesOf(args: string[], flag: string): string[] | undefined {
  const at = args.indexOf(flag);
  if (at === -1) return undefined;
  const out: string[] = [];
  for (let i = at + 1; i < args.length && !args[i]!.startsWith('--'); i++) out.push(args[i]!);
  return out;
}

/** Watcher's own dbt options and how many values each takes ('many': one or more). */
const WATCHER_FLAGS: Record<string, 0 | 1 | 'many'> = {
  '--project-dir': 1,
  '--profiles-dir': 1,
  '--target': 1,
  '--vars': 1,
  '--target-path': 1,
  '--log-path': 1,
  '--log-format': 1,
  '--log-level': 1,
  '--output': 1,
  '--output-keys': 1,
  '--selector': 1,
  '--threads': 1,
  '--indirect-selection': 1,
  '--select': 'many',
  '--exclude': 'many',
  '--resource-type': 'many',
  '--no-use-colors': 0,
  '--quiet': 0,
  '--fail-fast': 0,
  '--full-refresh': 0,
};
const DBT_COMMANDS = ['build', 'ls', 'parse', 'source', 'freshness'];

/**
 * Reads argv as dbt would, and fails if dbt could see an option Watcher did not mean: every
 * element dbt reads as an option must be one of Watcher's, each at most once (dbt keeps the
 * last of a repeated option, so a second --target-path would override Watcher's), with its
 * values; a value never starts with '-', and no element glues a flag to its value.
 */
function expectNoShellString(args: string[]): void {
  let i = 0;
  while (i < args.length && DBT_COMMANDS.includes(args[i]!)) i++;
  const seen = new Set<string>();
  while (i < args.length) {
    const flag = args[i]!;
    expect(typeof flag).toBe('string');
    expect(Object.keys(WATCHER_FLAGS), `args[${i}] is not one of Watcher's dbt options`).toContain(flag);
    expect(seen.has(flag), `${flag} appears twice`).toBe(false);
    seen.add(flag);
    const arity = WATCHER_FLAGS[flag]!;
    i++;
    const values: string[] = [];
    while (i < args.length && !args[i]!.startsWith('-') && (arity === 'many' || values.length < arity)) values.push(args[i++]!);
    if (arity === 'many') expect(values.length, `${flag} has no value`).toBeGreaterThan(0);
    else expect(values.length, `${flag} takes ${arity} value(s)`).toBe(arity);
  }
}

describe('expectNoShellString (the helper itself)', () => {
  const ok = ['build', '--project-dir', '/p', '--select', 'a', 'b c', '--full-refresh'];
  it.each([
    ['an option smuggled as a selector', ['build', '--select', 'a', '--profiles-dir=/x']],
    ["a second --target-path overriding Watcher's", ['build', '--target-path', '/mine', '--select', 'a', '--target-path', '/theirs']],
    ['a flag glued to its value', ['build', '--select a']],
    ['an option as a value', ['build', '--target', '--full-refresh']],
    ['a flag missing its value', ['build', '--project-dir']],
  ])('catches %s', (_what, args) => {
    expectNoShellString(ok);
    expect(() => expectNoShellString(args)).toThrow();
  });
});

describe('resolveProfilesDir', () => {
  it('resolves a relative profilesDir against projectDir', () => {
    expect(resolveProfilesDir({ projectDir: PROJECT, profilesDir: 'profiles' })).toBe('/srv/dbt/shop/profiles');
    expect(resolveProfilesDir({ projectDir: PROJECT, profilesDir: './config/../profiles/' })).toBe('/srv/dbt/shop/profiles');
    expect(resolveProfilesDir({ projectDir: PROJECT, profilesDir: '.' })).toBe(PROJECT);
  });

  it('keeps an absolute profilesDir, and is undefined without one', () => {
    expect(resolveProfilesDir({ projectDir: PROJECT, profilesDir: '/etc/dbt' })).toBe('/etc/dbt');
    expect(resolveProfilesDir({ projectDir: PROJECT })).toBeUndefined();
  });
});

describe('buildArgs', () => {
  it('runs dbt build with streaming JSON logs and private paths', () => {
    expect(buildArgs(input(), PATHS)).toEqual([
      'build',
      '--log-format',
      'json',
      '--log-level',
      'debug',
      '--no-use-colors',
      '--project-dir',
      PROJECT,
      '--target-path',
      PATHS.targetPath,
      '--log-path',
      PATHS.logPath,
    ]);
  });

  it('never asks for quiet logs (they hide NodeStart / NodeFinished)', () => {
    expect(buildArgs(input({ select: 'a' }), PATHS)).not.toContain('--quiet');
  });

  it('passes every flag of the input', () => {
    const args = buildArgs(
      input({
        profilesDir: 'profiles',
        target: 'ci',
        select: ['+orders', 'tag:nightly'],
        exclude: 'stg_payments',
        selector: 'nightly',
        vars: { schema: 'ci_1', n: 2, nested: { on: true } },
        threads: 4,
        failFast: true,
        fullRefresh: true,
      }),
      PATHS,
    );
    expect(valuesOf(args, '--profiles-dir')).toEqual(['/srv/dbt/shop/profiles']);
    expect(valuesOf(args, '--target')).toEqual(['ci']);
    expect(valuesOf(args, '--select')).toEqual(['+orders', 'tag:nightly']);
    expect(valuesOf(args, '--exclude')).toEqual(['stg_payments']);
    expect(valuesOf(args, '--selector')).toEqual(['nightly']);
    expect(valuesOf(args, '--threads')).toEqual(['4']);
    expect(valuesOf(args, '--target-path')).toEqual([PATHS.targetPath]);
    expect(valuesOf(args, '--log-path')).toEqual([PATHS.logPath]);
    expect(args).toContain('--fail-fast');
    expect(args).toContain('--full-refresh');
    const vars = valuesOf(args, '--vars');
    expect(vars).toHaveLength(1);
    expect(JSON.parse(vars![0]!)).toEqual({ schema: 'ci_1', n: 2, nested: { on: true } });
    expect(args.slice(0, 6)).toEqual(['build', '--log-format', 'json', '--log-level', 'debug', '--no-use-colors']);
    expectNoShellString(args);
  });

  it('leaves out flags that are not set', () => {
    const args = buildArgs(input({ vars: {}, failFast: false, fullRefresh: false }), PATHS);
    for (const flag of ['--profiles-dir', '--target', '--vars', '--select', '--exclude', '--selector', '--threads', '--fail-fast', '--full-refresh']) {
      expect(args).not.toContain(flag);
    }
  });

  it('keeps a selector with spaces (a union) as one argument', () => {
    const args = buildArgs(input({ select: ['orders customers', 'tag:a tag:b'] }), PATHS);
    expect(valuesOf(args, '--select')).toEqual(['orders customers', 'tag:a tag:b']);
    expect(args.filter((a) => a === 'orders' || a === 'customers')).toEqual([]);
  });

  it('passes vars containing quotes and spaces as a single JSON argument', () => {
    const vars = { note: 'it\'s "quoted" $(not run) `x`; echo --full-refresh', list: [1, 'two', '--target-path=/x'] };
    const args = buildArgs(input({ vars }), PATHS);
    const at = args.indexOf('--vars');
    expect(JSON.parse(args[at + 1]!)).toEqual(vars);
    expect(args[at + 2]).toBe('--target-path');
    expectNoShellString(args);
  });

  it('passes a project path with spaces as one argument', () => {
    const args = buildArgs(parseBuildInput({ projectDir: '/srv/my dbt/shop', profilesDir: 'my profiles' }), PATHS);
    expect(valuesOf(args, '--project-dir')).toEqual(['/srv/my dbt/shop']);
    expect(valuesOf(args, '--profiles-dir')).toEqual(['/srv/my dbt/shop/my profiles']);
    expectNoShellString(args);
  });

  it('keeps paths and names that contain dashes as values, never options', () => {
    const args = buildArgs(
      parseBuildInput({ projectDir: '/srv/--full-refresh/shop', profilesDir: '-p', target: 'prod-eu', select: ['tag:a-b', 'x-y+'], exclude: 'z--w' }),
      { targetPath: '/tmp/--vars/t', logPath: '/tmp/l' },
    );
    expect(valuesOf(args, '--profiles-dir')).toEqual(['/srv/--full-refresh/shop/-p']);
    expectNoShellString(args);
  });
});

describe('listArgs', () => {
  it('lists the selection as JSON unique_ids for every resource type Watcher tracks', () => {
    const args = listArgs(input({ select: 'orders+', exclude: ['a', 'b'], selector: 'nightly', threads: 3, failFast: true, fullRefresh: true }), PATHS);
    expect(args.slice(0, 7)).toEqual(['ls', '--quiet', '--no-use-colors', '--output', 'json', '--output-keys', 'unique_id']);
    expect(valuesOf(args, '--resource-type')).toEqual(['model', 'seed', 'snapshot', 'test', 'unit_test']);
    expect(valuesOf(args, '--select')).toEqual(['orders+']);
    expect(valuesOf(args, '--exclude')).toEqual(['a', 'b']);
    expect(valuesOf(args, '--selector')).toEqual(['nightly']);
    expect(valuesOf(args, '--project-dir')).toEqual([PROJECT]);
    expect(valuesOf(args, '--target-path')).toEqual([PATHS.targetPath]);
    expect(valuesOf(args, '--log-path')).toEqual([PATHS.logPath]);
    // build-only flags
    expect(args).not.toContain('--threads');
    expect(args).not.toContain('--fail-fast');
    expect(args).not.toContain('--full-refresh');
    expect(args).not.toContain('--log-format');
    expectNoShellString(args);
  });

  it('carries project, profile, target and vars like the build', () => {
    const args = listArgs(input({ profilesDir: 'p', target: 'ci', vars: { schema: 'x' } }), PATHS);
    expect(valuesOf(args, '--profiles-dir')).toEqual(['/srv/dbt/shop/p']);
    expect(valuesOf(args, '--target')).toEqual(['ci']);
    expect(valuesOf(args, '--vars')).toEqual(['{"schema":"x"}']);
  });
});

describe('rerunArgs', () => {
  const flags = rerunFlagsOf(input({ profilesDir: 'profiles', target: 'ci', vars: { schema: 'x' }, threads: 2, fullRefresh: true, failFast: true, select: 'ignored' }));

  it('builds exactly the node with buildable indirect selection and the build flags', () => {
    const args = rerunArgs(flags, 'shop.marts.orders', PATHS);
    expect(args.slice(0, 6)).toEqual(['build', '--log-format', 'json', '--log-level', 'debug', '--no-use-colors']);
    expect(valuesOf(args, '--select')).toEqual(['shop.marts.orders']);
    expect(valuesOf(args, '--indirect-selection')).toEqual(['buildable']);
    expect(valuesOf(args, '--profiles-dir')).toEqual(['/srv/dbt/shop/profiles']);
    expect(valuesOf(args, '--target')).toEqual(['ci']);
    expect(valuesOf(args, '--vars')).toEqual(['{"schema":"x"}']);
    expect(valuesOf(args, '--threads')).toEqual(['2']);
    expect(args).toContain('--full-refresh');
    expect(args).not.toContain('--fail-fast');
    expect(args).not.toContain('ignored');
    expectNoShellString(args);
  });

  it('keeps a selector with spaces as its own single element', () => {
    const args = rerunArgs(rerunFlagsOf(input()), 'shop.marts.orders shop.marts.customers', PATHS);
    expect(valuesOf(args, '--select')).toEqual(['shop.marts.orders shop.marts.customers']);
    expect(args.filter((a) => a === 'shop.marts.orders' || a === 'shop.marts.customers')).toEqual([]);
  });

  it('leaves out flags that are not set', () => {
    const args = rerunArgs(rerunFlagsOf(input()), 'shop.orders', PATHS);
    expect(args).toEqual([
      'build',
      '--log-format',
      'json',
      '--log-level',
      'debug',
      '--no-use-colors',
      '--project-dir',
      PROJECT,
      '--target-path',
      PATHS.targetPath,
      '--log-path',
      PATHS.logPath,
      '--select',
      'shop.orders',
      '--indirect-selection',
      'buildable',
    ]);
  });
});

// Issue 14 item 3: the second check. Inputs that bypass the schema (a hand-made BuildInput,
// a resumed build's selectors, a node's selector) still never put a dbt option after Watcher's flags.
describe('values dbt would read as options', () => {
  const OPTION = '--target-path=/any/dir';
  const raw = (over: Partial<BuildInput>): BuildInput => ({ ...input(), ...over });
  const cases: Array<[string, () => string[], string]> = [
    ['a select entry', () => buildArgs(raw({ select: ['orders', OPTION] }), PATHS), 'select[1]'],
    ['a word of a select union', () => buildArgs(raw({ select: ['orders --full-refresh'] }), PATHS), 'select[0]'],
    ['an exclude entry', () => listArgs(raw({ exclude: [OPTION] }), PATHS), 'exclude[0]'],
    ['a left-out selector', () => buildArgs(input(), PATHS, undefined, [OPTION]), 'exclude[0]'],
    ['a YAML selector name', () => buildArgs(raw({ selector: '--vars' }), PATHS), 'selector'],
    ['a target', () => buildArgs(raw({ target: '--full-refresh' }), PATHS), 'target'],
    ["a resumed build's selector", () => buildArgs(input(), PATHS, { kind: 'flags', select: ['a', OPTION] }), 'select[1]'],
    ["a resumed build's YAML selector", () => buildArgs(input(), PATHS, { kind: 'selector', projectDir: '/tmp/shadow', selector: '-s' }), 'selector'],
    ["a node's rerun selector", () => rerunArgs(rerunFlagsOf(input()), OPTION, PATHS), 'node.selector'],
    ['a source freshness selector', () => sourceFreshnessArgs(input(), PATHS, ['source:shop.raw', OPTION]), 'sources[1]'],
    ['a projectDir that is an option', () => rerunArgs({ ...rerunFlagsOf(input()), projectDir: '--project-dir=/etc' }, 'orders', PATHS), 'projectDir'],
  ];

  it.each(cases)('refuses %s, naming the field, as a non-retryable InvalidInput', (_what, make, field) => {
    let err: unknown;
    try {
      make();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DbtArgumentError);
    expect((err as Error).name).toBe(FailureTypes.invalidInput);
    expect((err as Error).message.startsWith(`${field}: must not start a word with '-'`)).toBe(true);
  });

  it('still passes selectors with graph operators, methods and unions', () => {
    const args = buildArgs(input({ select: ['+orders', '1+customers', 'tag:a,tag:b', '@x orders+'] }), PATHS);
    expect(valuesOf(args, '--select')).toEqual(['+orders', '1+customers', 'tag:a,tag:b', '@x orders+']);
  });
});

describe('streamsEvents', () => {
  it('is true for the commands whose events the worker reads on stdout, false for parse and ls', () => {
    expect(streamsEvents(buildArgs(input(), PATHS))).toBe(true);
    expect(streamsEvents(rerunArgs(rerunFlagsOf(input()), 'shop.orders', PATHS))).toBe(true);
    expect(streamsEvents(sourceFreshnessArgs(input(), PATHS, []))).toBe(true);
    expect(streamsEvents(parseArgs(rerunFlagsOf(input()), PATHS))).toBe(false);
    expect(streamsEvents(listArgs(input(), PATHS))).toBe(false);
    // A user value equal to one flag is not the streaming flags.
    expect(streamsEvents(['build', '--select', '--log-format'])).toBe(false);
  });

  it("the runner's flags turn dbt's stdout log off and keep its file log at debug, after the streaming ones", () => {
    const args = [...buildArgs(input(), PATHS), ...RUNNER_STDOUT_FLAGS];
    expect(args.lastIndexOf('--log-level')).toBeGreaterThan(args.indexOf('--log-level'));
    expect(args[args.lastIndexOf('--log-level') + 1]).toBe('none');
    expect(args[args.indexOf('--log-level-file') + 1]).toBe('debug');
  });
});

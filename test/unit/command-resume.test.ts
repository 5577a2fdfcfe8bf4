import { describe, expect, it } from 'vitest';
import { parseBuildInput, rerunFlagsOf, type BuildInputRaw } from '../../src/contracts/build-input.js';
import { buildArgs, parseArgs, type InvocationPaths, type SelectionOverride } from '../../src/dbt/command.js';

const PATHS: InvocationPaths = { targetPath: '/tmp/watcher/b1/build-2/target', logPath: '/tmp/watcher/b1/build-2/logs' };
const PROJECT = '/srv/dbt/shop';
const SHADOW = '/tmp/watcher/b1/build-2/project';

const input = (raw: Partial<BuildInputRaw> = {}) => parseBuildInput({ projectDir: PROJECT, ...raw });
const flags = (select: string[]): SelectionOverride => ({ kind: 'flags', select });
const shadow: SelectionOverride = { kind: 'selector', projectDir: SHADOW, selector: 'watcher_resume' };

/** The values following `flag` up to the next `--option`. */
function valuesOf(args: string[], flag: string): string[] | undefined {
  const at = args.indexOf(flag);
  if (at === -1) return undefined;
  const out: string[] = [];
  for (let i = at + 1; i < args.length && !args[i]!.startsWith('--'); i++) out.push(args[i]!);
  return out;
}

const count = (args: string[], flag: string) => args.filter((a) => a === flag).length;

// What planResume produces: one exact selector per node (file and fqn intersected, or the fqn alone).
const STG_ORDERS = 'path:models/staging/stg_orders.sql,fqn:shop.staging.stg_orders';
const ORDERS = 'path:models/marts/orders.sql,fqn:shop.marts.orders';
const T_ORDERS_ID = 'path:models/marts/_marts.yml,fqn:shop.marts.not_null_orders_id';
const PKG_MODEL = 'fqn:pkg.sub.pkg_model';
const LEFT = [STG_ORDERS, ORDERS, T_ORDERS_ID, PKG_MODEL];

describe('buildArgs: resumed with flags', () => {
  it('selects exactly the nodes left, in their order, with one --select', () => {
    const args = buildArgs(input(), PATHS, flags(LEFT));
    expect(valuesOf(args, '--select')).toEqual(LEFT);
    expect(count(args, '--select')).toBe(1);
  });

  it("ignores the build's own select, exclude and selector (the nodes left are already the build's selection)", () => {
    const args = buildArgs(input({ select: ['tag:nightly', 'stg_orders+'], exclude: 'tag:slow', selector: 'nightly' }), PATHS, flags([ORDERS]));
    expect(valuesOf(args, '--select')).toEqual([ORDERS]);
    for (const absent of ['--exclude', '--selector', 'tag:nightly', 'stg_orders+', 'tag:slow', 'nightly', 'fqn:*']) expect(args, absent).not.toContain(absent);
  });

  it('passes each exact selector as one argument (its comma is an intersection on the command line)', () => {
    const args = buildArgs(input({ select: 'orders+' }), PATHS, flags(LEFT));
    for (const selector of LEFT) expect(args.filter((a) => a === selector), selector).toHaveLength(1);
    // never split into its parts
    expect(args.filter((a) => /^(path|fqn):/.test(a))).toEqual(LEFT);
  });

  it('turns indirect selection off, once, right after the selection', () => {
    for (const raw of [{}, { select: 'a' }, { selector: 's' }, { select: 'a', exclude: 'b' }]) {
      const args = buildArgs(input(raw), PATHS, flags([ORDERS, T_ORDERS_ID]));
      expect(valuesOf(args, '--indirect-selection')).toEqual(['empty']);
      expect(count(args, '--indirect-selection')).toBe(1);
      expect(args.indexOf('--indirect-selection')).toBe(args.indexOf('--select') + 3);
    }
  });

  it('keeps every other flag of the build, and its real project dir', () => {
    const args = buildArgs(
      input({ profilesDir: 'profiles', target: 'ci', vars: { schema: 'ci_1' }, threads: 4, failFast: true, fullRefresh: true, select: 'a' }),
      PATHS,
      flags([ORDERS]),
    );
    expect(args.slice(0, 6)).toEqual(['build', '--log-format', 'json', '--log-level', 'debug', '--no-use-colors']);
    expect(valuesOf(args, '--project-dir')).toEqual([PROJECT]);
    expect(valuesOf(args, '--profiles-dir')).toEqual(['/srv/dbt/shop/profiles']);
    expect(valuesOf(args, '--target')).toEqual(['ci']);
    expect(valuesOf(args, '--vars')).toEqual(['{"schema":"ci_1"}']);
    expect(valuesOf(args, '--target-path')).toEqual([PATHS.targetPath]);
    expect(valuesOf(args, '--log-path')).toEqual([PATHS.logPath]);
    expect(valuesOf(args, '--threads')).toEqual(['4']);
    expect(args).toContain('--fail-fast');
    expect(args).toContain('--full-refresh');
  });

  it('is exactly this argument list', () => {
    expect(buildArgs(input({ select: 'ignored', threads: 2, failFast: true, fullRefresh: true }), PATHS, flags([ORDERS, PKG_MODEL]))).toEqual([
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
      ORDERS,
      PKG_MODEL,
      '--indirect-selection',
      'empty',
      '--threads',
      '2',
      '--fail-fast',
      '--full-refresh',
    ]);
  });

  it('does not change the input or the override', () => {
    const i = input({ select: ['a'], exclude: ['b'], selector: 's' });
    const override = flags([ORDERS]);
    buildArgs(i, PATHS, override);
    expect(i.select).toEqual(['a']);
    expect(i.exclude).toEqual(['b']);
    expect(i.selector).toBe('s');
    expect(override).toEqual({ kind: 'flags', select: [ORDERS] });
  });

  it('leaves a build that is not resumed with its own selection and without indirect selection', () => {
    const args = buildArgs(input({ select: 'a', exclude: 'b', selector: 's' }), PATHS);
    expect(args).not.toContain('--indirect-selection');
    expect(valuesOf(args, '--select')).toEqual(['a']);
    expect(valuesOf(args, '--exclude')).toEqual(['b']);
    expect(valuesOf(args, '--selector')).toEqual(['s']);
    expect(buildArgs(input(), PATHS, undefined)).not.toContain('--select');
  });
});

describe('buildArgs: resumed with a YAML selector in a shadow project', () => {
  const full = input({
    profilesDir: 'profiles',
    target: 'ci',
    vars: { schema: 'ci_1' },
    threads: 2,
    failFast: true,
    fullRefresh: true,
    select: ['tag:nightly'],
    exclude: 'tag:slow',
    selector: 'nightly',
  });

  it('runs dbt in the shadow project with --selector watcher_resume only', () => {
    const args = buildArgs(full, PATHS, shadow);
    expect(valuesOf(args, '--project-dir')).toEqual([SHADOW]);
    expect(valuesOf(args, '--selector')).toEqual(['watcher_resume']);
    expect(count(args, '--selector')).toBe(1);
    expect(args).not.toContain('--select');
    expect(args).not.toContain('--exclude');
    expect(args).not.toContain('nightly');
    expect(args).not.toContain(PROJECT);
  });

  it('resolves profilesDir against the ORIGINAL project dir', () => {
    expect(valuesOf(buildArgs(full, PATHS, shadow), '--profiles-dir')).toEqual(['/srv/dbt/shop/profiles']);
    expect(valuesOf(buildArgs(input({ profilesDir: './config/../profiles' }), PATHS, shadow), '--profiles-dir')).toEqual(['/srv/dbt/shop/profiles']);
    expect(valuesOf(buildArgs(input({ profilesDir: '/etc/dbt' }), PATHS, shadow), '--profiles-dir')).toEqual(['/etc/dbt']);
    expect(buildArgs(input(), PATHS, shadow)).not.toContain('--profiles-dir');
  });

  it('turns indirect selection off and keeps the build flags', () => {
    const args = buildArgs(full, PATHS, shadow);
    expect(valuesOf(args, '--indirect-selection')).toEqual(['empty']);
    expect(valuesOf(args, '--target')).toEqual(['ci']);
    expect(valuesOf(args, '--vars')).toEqual(['{"schema":"ci_1"}']);
    expect(valuesOf(args, '--threads')).toEqual(['2']);
    expect(valuesOf(args, '--target-path')).toEqual([PATHS.targetPath]);
    expect(valuesOf(args, '--log-path')).toEqual([PATHS.logPath]);
    expect(args).toContain('--fail-fast');
    expect(args).toContain('--full-refresh');
  });

  it('is exactly this argument list for a minimal build', () => {
    expect(buildArgs(input(), PATHS, { kind: 'selector', projectDir: SHADOW, selector: 'my_sel' })).toEqual([
      'build',
      '--log-format',
      'json',
      '--log-level',
      'debug',
      '--no-use-colors',
      '--project-dir',
      SHADOW,
      '--target-path',
      PATHS.targetPath,
      '--log-path',
      PATHS.logPath,
      '--selector',
      'my_sel',
      '--indirect-selection',
      'empty',
    ]);
  });

  it('does not change the input', () => {
    buildArgs(full, PATHS, shadow);
    expect(full.projectDir).toBe(PROJECT);
    expect(full.selector).toBe('nightly');
  });
});

describe('parseArgs', () => {
  it('parses quietly, without colours, with the private paths', () => {
    expect(parseArgs(input(), PATHS)).toEqual([
      'parse',
      '--quiet',
      '--no-use-colors',
      '--project-dir',
      PROJECT,
      '--target-path',
      PATHS.targetPath,
      '--log-path',
      PATHS.logPath,
    ]);
  });

  it('carries project, profile, target and vars (they change the manifest)', () => {
    const args = parseArgs(rerunFlagsOf(input({ profilesDir: 'profiles', target: 'ci', vars: { schema: 'x', n: 1 } })), PATHS);
    expect(valuesOf(args, '--profiles-dir')).toEqual(['/srv/dbt/shop/profiles']);
    expect(valuesOf(args, '--target')).toEqual(['ci']);
    expect(JSON.parse(valuesOf(args, '--vars')![0]!)).toEqual({ schema: 'x', n: 1 });
  });

  it('ignores selection and build-only flags', () => {
    const args = parseArgs(input({ select: 'a', exclude: 'b', selector: 's', threads: 3, failFast: true, fullRefresh: true }), PATHS);
    for (const flag of ['--select', '--exclude', '--selector', '--threads', '--fail-fast', '--full-refresh', '--indirect-selection', '--log-format']) {
      expect(args).not.toContain(flag);
    }
  });
});

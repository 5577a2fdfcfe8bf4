// Bad input on the command line: each row gives one command a bad flag or argument (a bad
// number, a negative, an unknown choice, an empty string, or the next option where a value
// was expected) and asserts the error names the flag, argument or field, with nothing
// connected. The commands of src/cli/{runs,schedule,serve}.ts are parsed in-process; the ones
// src/cli/main.ts defines (build, migrate, status, cancel), the environment and the dev stack
// file go through the real `node bin/watcher.js` (no stack needed: every row fails first).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { textArg } from '../../src/cli/options.js';
import { runsCommand } from '../../src/cli/runs.js';
import { scheduleCommand } from '../../src/cli/schedule.js';
import { serveCommand, tokenCommand } from '../../src/cli/serve.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';

// Nothing listens on port 1: a row that wrongly got as far as connecting fails with ECONNREFUSED
// or a Temporal connection error, never with the message the row expects.
const NOWHERE = { TEMPORAL_ADDRESS: '127.0.0.1:1', DATABASE_URL: 'postgres://watcher:db-pass-9f3k@127.0.0.1:1/watcher' };
const CONNECTED = /ECONNREFUSED|Failed to connect|connect ETIMEDOUT/;

describe('textArg', () => {
  it.each([
    ['', 'must not be empty'],
    ['  ', 'must not be empty'],
    ['--scope', `must not start with '-', not "--scope"`],
    ['-x', `must not start with '-', not "-x"`],
  ])('refuses %j, naming the flag', (value, message) => {
    expect(() => textArg('--name')(value)).toThrow(`--name ${message}`);
  });
  it('takes anything else as it is', () => {
    expect(textArg('--name')('ci-reader')).toBe('ci-reader');
    expect(textArg('<name>')('a-b')).toBe('a-b');
  });
});

/** Parse in-process: the error commander writes (or the action throws) before anything connects. */
async function errorOf(make: () => Command, args: string[]): Promise<string> {
  const command = make();
  let written = '';
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({ writeErr: (s) => (written += s), writeOut: () => undefined });
    c.commands.forEach(quiet);
  };
  quiet(command);
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return written || err.message;
    if (err instanceof Error) return err.message;
    throw err;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

const FROM = '2026-01-01T00:00:00Z';
const TO = '2026-01-02T00:00:00Z';

/** [command, args, what the error must name]. */
const IN_PROCESS: Array<[string, () => Command, string[], string[]]> = [
  ['runs', runsCommand, ['recent', 'p', '-n', 'abc'], ['--limit', '"abc"']],
  ['runs', runsCommand, ['recent', 'p', '-n', '0'], ['--limit', 'from 1 to 1000', '"0"']],
  ['runs', runsCommand, ['recent', 'p', '-n', '-5'], ['--limit', '"-5"']],
  ['runs', runsCommand, ['recent', 'p', '-n', ''], ['--limit', '""']],
  ['runs', runsCommand, ['recent', 'p', '--limit', '1001'], ['--limit', '"1001"']],
  ['runs', runsCommand, ['recent', 'p', '--limit'], ['--limit', 'argument missing']],
  ['runs', runsCommand, ['recent', ''], ['<pipeline> must not be empty']],
  ['runs', runsCommand, ['build', ''], ['<buildId> must not be empty']],
  ['runs', runsCommand, ['upstream', ''], ['<address> must not be empty']],
  ['runs', runsCommand, ['children', 'abc'], ['execution id', '"abc"']],
  ['runs', runsCommand, ['children', '0'], ['execution id', '"0"']],
  ['runs', runsCommand, ['descendants', '1.5'], ['execution id', '"1.5"']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', 'abc'], ['every:', '"abc"']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', '-5m'], ['every:', '"-5m"']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--cron', '--json'], ['cron:', '"--json"']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--cron', 'bogus'], ['cron:', '"bogus"']],
  ['schedule', scheduleCommand, ['create', '', '.', '--every', '1h'], ['name:']],
  ['schedule', scheduleCommand, ['create', 's', '', '--every', '1h'], ['[projectDir] must not be empty']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', '1h', '--overlap', 'bogus'], ['--overlap', 'bogus', 'skip']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', '1h', '--catchup-window', 'xyz'], ['catchupWindow:', '"xyz"']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--cron', '@daily', '--timezone', 'Mars/Base'], ['timezone:']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', '1h', '--threads', '0'], ['threads:', 'at least 1']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', '1h', '--threads', 'x'], ['--threads', '"x"']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', '1h', '--source-freshness', 'sometimes'], ['--source-freshness', 'sometimes']],
  ['schedule', scheduleCommand, ['create', 's', '.', '--every', '1h', '--profiles-dir', '--json'], ['--profiles-dir', '"--json"']],
  ['schedule', scheduleCommand, ['describe', ''], ['<name> must not be empty']],
  ['schedule', scheduleCommand, ['pause', ''], ['<name> must not be empty']],
  ['schedule', scheduleCommand, ['delete', '--json'], ['--json']],
  ['schedule', scheduleCommand, ['sync', ''], ['[projectDir] must not be empty']],
  ['schedule', scheduleCommand, ['backfill', 's', '--from', 'abc', '--to', TO], ['--from', '"abc"']],
  ['schedule', scheduleCommand, ['backfill', 's', '--from', FROM, '--to', ''], ['--to', '""']],
  ['schedule', scheduleCommand, ['backfill', 's', '--from', TO, '--to', FROM], ['--from', 'must be before --to']],
  ['schedule', scheduleCommand, ['backfill', 's', '--from', FROM, '--to', TO, '--overlap', 'x'], ['--overlap', "'x'"]],
  ['token', tokenCommand, ['create', '--name', '', '--scope', 'read'], ['--name must not be empty']],
  ['token', tokenCommand, ['create', '--name', '--scope', '--scope', 'read'], ['--name', '"--scope"']],
  ['token', tokenCommand, ['create', '--name', 'x', '--scope', 'root'], ['--scope', 'root', 'read, write, admin']],
  ['token', tokenCommand, ['create', '--name', 'x'], ['--scope']],
  ['token', tokenCommand, ['revoke', ''], ['<name> must not be empty']],
  ['serve', serveCommand, ['--port', '70000'], ['--port', 'from 0 to 65535', '"70000"']],
  ['serve', serveCommand, ['--port', '-1'], ['--port', '"-1"']],
  ['serve', serveCommand, ['--port', 'abc'], ['--port', '"abc"']],
  ['serve', serveCommand, ['--port', '--host'], ['--port', '"--host"']],
  ['serve', serveCommand, ['--rate-limit', '0'], ['--rate-limit', '"0"']],
  ['serve', serveCommand, ['--log-level', 'loud'], ['--log-level', 'loud']],
  ['serve', serveCommand, ['--host', ''], ['--host must not be empty']],
  ['serve', serveCommand, ['--host', '--port'], ['--host', '"--port"']],
];

describe('watcher runs, schedule, token and serve, given bad flags', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'watcher-cli-input-'));
    vi.stubEnv('WATCHER_HOME', home);
    for (const [name, value] of Object.entries(NOWHERE)) vi.stubEnv(name, value);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    rmSync(home, { recursive: true, force: true });
  });

  it.each(IN_PROCESS.map(([name, make, args, names]) => ({ title: [name, ...args.map((a) => JSON.stringify(a))].join(' '), make, args, names })))(
    'watcher $title: names it',
    async ({ make, args, names }) => {
      const message = await errorOf(make, args);
      for (const name of names) expect(message).toContain(name);
      expect(message).not.toMatch(CONNECTED);
    },
  );
});

// ------------------------------------------------------------------------------------------
// The real CLI

interface Row {
  args: string[];
  env?: Record<string, string>;
  /** Written to $WATCHER_HOME/dev.json first. */
  devFile?: string;
  /** Every one must be in stderr. */
  names: string[];
  /** Must not be in stderr (a secret). */
  hidden?: string;
}

const CLI: Row[] = [
  { args: ['build', '.', '--threads', '-3'], names: ['threads: must be at least 1'] },
  { args: ['build', '.', '--build-id', ''], names: ['buildId:'] },
  { args: ['build', '.', '--select', '--target-path=/tmp/x'], names: ['select[0]:', "'-'"] },
  { args: ['build', '.', '--profiles-dir', ''], names: ['--profiles-dir must not be empty'] },
  { args: ['build', ''], names: ['[projectDir] must not be empty'] },
  { args: ['status', ''], names: ['<buildId> must not be empty'] },
  { args: ['migrate', '--down', '0'], names: ['--down', '(1 or more)', '"0"'] },
  { args: ['migrate', '--down', '--yes'], names: ['--down', '"--yes"'] },
  { args: ['migrate', '--down', '2'], names: ['--down 2', '--yes'] },
  { args: ['runs', 'recent', 'p'], env: { DATABASE_URL: 'not-a-url:db-pass-9f3k' }, names: ['DATABASE_URL', 'secret and not shown'], hidden: 'db-pass-9f3k' },
  { args: ['runs', 'recent', 'p'], env: { WATCHER_LOG_LEVEL: 'loud' }, names: ['WATCHER_LOG_LEVEL', '"loud"'] },
  { args: ['schedule', 'list'], env: { TEMPORAL_TLS: 'maybe', TEMPORAL_API_KEY: 'api-key-7x2q' }, names: ['TEMPORAL_TLS', '"maybe"'], hidden: 'api-key-7x2q' },
  { args: ['schedule', 'list'], env: { TEMPORAL_ADDRESS: '' }, devFile: '{"temporalAddress": ', names: ['dev.json is not valid JSON'] },
  {
    args: ['schedule', 'list'],
    env: { TEMPORAL_ADDRESS: '' },
    devFile: JSON.stringify({ temporalAddress: '127.0.0.1:1', namespace: 'default', uiUrl: 'http://127.0.0.1:1', taskQueue: 'watcher', databaseUrl: 'db-pass-9f3k' }),
    names: ['dev.json is not a dev stack description', 'databaseUrl'],
    hidden: 'db-pass-9f3k',
  },
];

interface Ran {
  code: number | null;
  stderr: string;
}

function runCli(row: Row, home: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin', 'watcher.js'), ...row.args],
      { cwd: home, env: { ...process.env, ...NOWHERE, WATCHER_HOME: home, ...row.env }, timeout: 60_000 },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

describe('node bin/watcher.js, given bad flags, environment and dev stack file', () => {
  const results = new Map<Row, Ran>();
  const homes: string[] = [];
  beforeAll(async () => {
    // Three at a time: each is a Node start-up (~2 s of CPU).
    const queue = [...CLI];
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        const home = mkdtempSync(path.join(os.tmpdir(), 'watcher-cli-input-'));
        homes.push(home);
        if (row.devFile !== undefined) {
          mkdirSync(home, { recursive: true });
          writeFileSync(path.join(home, 'dev.json'), row.devFile);
        }
        results.set(row, await runCli(row, home));
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  }, 240_000);
  afterAll(() => {
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  const titled = CLI.map((row) => ({ row, title: [...row.args.map((a) => JSON.stringify(a)), ...Object.entries(row.env ?? {}).map(([k, v]) => `(${k}=${JSON.stringify(v)})`), ...(row.devFile !== undefined ? ['(bad dev.json)'] : [])].join(' ') }));
  it.each(titled)('watcher $title: one line naming it, exit 1', ({ row }) => {
    const ran = results.get(row);
    expect(ran).toBeDefined();
    expect(ran!.code, ran!.stderr).toBe(1);
    for (const name of row.names) expect(ran!.stderr).toContain(name);
    expect(ran!.stderr).not.toMatch(CONNECTED);
    expect(ran!.stderr, 'a stack trace').not.toMatch(/^\s+at /m);
    if (row.hidden) expect(ran!.stderr).not.toContain(row.hidden);
  });
});

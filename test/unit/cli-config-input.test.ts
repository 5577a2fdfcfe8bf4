// Bad input at the CLI's edges: option values (src/cli/options.ts) and the dev stack file
// (src/config.ts). Each refusal names what is wrong; the dev stack file is owner-only.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { integerArg, jsonObjectArg, numberArg, portArg } from '../../src/cli/options.js';
import { DevStackFileError, readDevStackFile, writeDevStackFile, type DevStackFile } from '../../src/config.js';

describe('option values', () => {
  it.each(['', ' ', 'abc', '1.5', '0x10', '1e3', '12abc', '9007199254740993'])('integerArg refuses %j, naming the flag and the value', (value) => {
    expect(() => integerArg('--limit')(value)).toThrow(InvalidArgumentError);
    expect(() => integerArg('--limit')(value)).toThrow(`--limit must be an integer, not ${JSON.stringify(value)}`);
  });

  it('integerArg takes decimal integers within its bounds and says the bounds', () => {
    expect(integerArg('--limit')('42')).toBe(42);
    expect(integerArg('--offset')('-3')).toBe(-3);
    expect(integerArg('--limit', { min: 1, max: 1000 })('1000')).toBe(1000);
    expect(() => integerArg('--limit', { min: 1, max: 1000 })('1001')).toThrow('--limit must be an integer from 1 to 1000, not "1001"');
    expect(() => integerArg('--down', { min: 1 })('0')).toThrow('--down must be an integer (1 or more), not "0"');
    expect(() => integerArg('--n', { min: 5 })('4')).toThrow('--n must be an integer of at least 5');
    expect(() => portArg('--port')('65536')).toThrow('--port must be an integer from 0 to 65535');
  });

  it('numberArg and jsonObjectArg', () => {
    expect(numberArg('--threshold-percent')('12.5')).toBe(12.5);
    expect(() => numberArg('--threshold-percent')('')).toThrow('--threshold-percent must be a number');
    expect(() => numberArg('--threshold-percent')('Infinity')).toThrow('--threshold-percent must be a number');
    expect(jsonObjectArg('--vars')('{"a": 1}')).toEqual({ a: 1 });
    expect(() => jsonObjectArg('--vars')('{a')).toThrow('--vars must be a JSON object');
    expect(() => jsonObjectArg('--vars')('[1]')).toThrow('--vars must be a JSON object, not an array');
    expect(() => jsonObjectArg('--vars')('null')).toThrow('--vars must be a JSON object, not null');
  });
});

describe('the dev stack file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const fileIn = () => path.join((dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-devfile-'))), 'dev.json');
  const contents: DevStackFile = {
    temporalAddress: '127.0.0.1:7233',
    namespace: 'default',
    uiUrl: 'http://127.0.0.1:8233',
    databaseUrl: 'postgres://postgres:secret@127.0.0.1:5432/watcher',
    taskQueue: 'watcher',
  };

  it('absent: no dev stack', () => {
    expect(readDevStackFile(path.join(os.tmpdir(), 'watcher-no-such-dir', 'dev.json'))).toBeUndefined();
  });

  it('not JSON: an error naming the file, not a bare SyntaxError', () => {
    const file = fileIn();
    writeFileSync(file, '{"temporalAddress": ');
    expect(() => readDevStackFile(file)).toThrow(DevStackFileError);
    expect(() => readDevStackFile(file)).toThrow(`${file} is not valid JSON`);
  });

  it('JSON of the wrong shape: an error naming the file and the field', () => {
    const file = fileIn();
    writeFileSync(file, JSON.stringify({ ...contents, namespace: 7 }));
    expect(() => readDevStackFile(file)).toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')} is not a dev stack description: .*namespace`));
  });

  it.each(['', '{', '{"temporalAddress": ', 'not json', '\u0000\u0001'])('corrupt (%j): an error naming the file', (text) => {
    const file = fileIn();
    writeFileSync(file, text);
    expect(() => readDevStackFile(file)).toThrow(DevStackFileError);
    expect(() => readDevStackFile(file)).toThrow(`${file} is not valid JSON`);
  });

  // [what is wrong, the file's JSON, the field the message must name]
  const SHAPES: Array<[string, unknown, string]> = [
    ['an array', [contents], '(input)'],
    ['null', null, '(input)'],
    ['a string', 'dev', '(input)'],
    ...(['temporalAddress', 'namespace', 'uiUrl', 'databaseUrl', 'taskQueue'] as const).map((field): [string, unknown, string] => {
      const { [field]: _left, ...rest } = contents;
      return [`no ${field}`, rest, field];
    }),
    ['namespace a number', { ...contents, namespace: 7 }, 'namespace'],
    ['taskQueue null', { ...contents, taskQueue: null }, 'taskQueue'],
    ['pid a string', { ...contents, pid: '123' }, 'pid'],
    ['dbtEnv a list', { ...contents, dbtEnv: ['A=1'] }, 'dbtEnv'],
    ['dbtEnv with a number', { ...contents, dbtEnv: { PGPORT: 5432 } }, 'dbtEnv.PGPORT'],
    ['namespace empty', { ...contents, namespace: '' }, 'namespace'],
    ['taskQueue empty', { ...contents, taskQueue: '' }, 'taskQueue'],
    ['temporalAddress with a scheme', { ...contents, temporalAddress: 'http://127.0.0.1:7233' }, 'temporalAddress'],
    ['temporalAddress empty', { ...contents, temporalAddress: '' }, 'temporalAddress'],
    ['uiUrl not a URL', { ...contents, uiUrl: '127.0.0.1:8233' }, 'uiUrl'],
    ['apiUrl not http', { ...contents, apiUrl: 'ftp://127.0.0.1:8300' }, 'apiUrl'],
    ['databaseUrl not a URL', { ...contents, databaseUrl: 'secret-pass-4u' }, 'databaseUrl'],
    ['databaseUrl not postgres', { ...contents, databaseUrl: 'mysql://root:secret-pass-4u@127.0.0.1/db' }, 'databaseUrl'],
  ];

  it.each(SHAPES)('%s: an error naming the file and the field, never the password', (_what, json, field) => {
    const file = fileIn();
    writeFileSync(file, JSON.stringify(json));
    let message = '';
    try {
      readDevStackFile(file);
    } catch (err) {
      expect(err).toBeInstanceOf(DevStackFileError);
      message = (err as Error).message;
    }
    expect(message).toContain(`${file} is not a dev stack description: `);
    expect(message).toContain(`${field}: `);
    expect(message).not.toContain('secret-pass-4u');
  });

  it("takes an empty uiUrl (a dev server without its UI) and the optional fields' absence", () => {
    const file = fileIn();
    writeFileSync(file, JSON.stringify({ ...contents, uiUrl: '' }));
    expect(readDevStackFile(file)).toEqual({ ...contents, uiUrl: '' });
  });

  it('is written owner-only (0600), also over a file that was world-readable, and reads back', () => {
    const file = fileIn();
    writeFileSync(file, '{}', { mode: 0o644 });
    writeDevStackFile(contents, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readDevStackFile(file)).toEqual(contents);
  });
});

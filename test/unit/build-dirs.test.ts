// Issue 14 item 11: <projectDir>/target/watcher/<buildId>/ is cleaned: a project keeps its last
// N build dirs (WATCHER_KEEP_BUILD_DIRS, default 20), never the dir of a build still open.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildWorkDir,
  DEFAULT_KEEP_BUILD_DIRS,
  keepBuildDirsFromEnv,
  prepareInvocationPaths,
  prepareLaterInvocationPaths,
  pruneBuildWorkDirs,
  RESOLVE_INVOCATION,
} from '../../src/dbt/invocation.js';

let project: string | undefined;
afterEach(() => {
  if (project) rmSync(project, { recursive: true, force: true });
  project = undefined;
});

/** A project with `n` build dirs, b00 the oldest; each holds an invocation's files. */
function projectWithBuilds(n: number): string {
  project = mkdtempSync(path.join(os.tmpdir(), 'watcher-build-dirs-'));
  const now = Date.now() / 1000;
  for (let i = 0; i < n; i++) {
    const dir = buildWorkDir(project, `b${String(i).padStart(2, '0')}`);
    mkdirSync(path.join(dir, 'build-1', 'logs'), { recursive: true });
    writeFileSync(path.join(dir, 'build-1', 'logs', 'dbt.log'), 'x');
    utimesSync(dir, now - 1000 + i, now - 1000 + i);
  }
  return project;
}
const buildsLeft = (projectDir: string) => readdirSync(path.dirname(buildWorkDir(projectDir, 'x'))).sort();
const closed = async () => false;

describe('pruneBuildWorkDirs', () => {
  it('removes all but the most recent `keep` build dirs, oldest first', async () => {
    const dir = projectWithBuilds(25);
    expect((await pruneBuildWorkDirs(dir, 20, closed)).sort()).toEqual(['b00', 'b01', 'b02', 'b03', 'b04']);
    expect(buildsLeft(dir)).toEqual(Array.from({ length: 20 }, (_, i) => `b${String(i + 5).padStart(2, '0')}`));
  });

  it('keeps the dir of a build that may still be open, however old', async () => {
    const dir = projectWithBuilds(5);
    const asked: string[] = [];
    const removed = await pruneBuildWorkDirs(dir, 2, async (id) => {
      asked.push(id);
      return id === 'b00';
    });
    expect(asked.sort()).toEqual(['b00', 'b01', 'b02']); // the 2 newest are kept without asking
    expect(removed.sort()).toEqual(['b01', 'b02']);
    expect(buildsLeft(dir)).toEqual(['b00', 'b03', 'b04']);
  });

  it('leaves files that are not build dirs, and a project with no builds yet', async () => {
    const dir = projectWithBuilds(3);
    writeFileSync(path.join(path.dirname(buildWorkDir(dir, 'x')), 'README'), 'not a build');
    expect((await pruneBuildWorkDirs(dir, 1, closed)).sort()).toEqual(['b00', 'b01']);
    expect(buildsLeft(dir)).toEqual(['README', 'b02']);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'watcher-build-dirs-empty-'));
    try {
      expect(await pruneBuildWorkDirs(empty, 1, closed)).toEqual([]);
      expect(existsSync(path.join(empty, 'target'))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('WATCHER_KEEP_BUILD_DIRS', () => {
  it('defaults to 20 and takes a whole number of 1 or more', () => {
    expect(DEFAULT_KEEP_BUILD_DIRS).toBe(20);
    expect(keepBuildDirsFromEnv({})).toBe(20);
    expect(keepBuildDirsFromEnv({ WATCHER_KEEP_BUILD_DIRS: '' })).toBe(20);
    expect(keepBuildDirsFromEnv({ WATCHER_KEEP_BUILD_DIRS: '3' })).toBe(3);
  });

  it.each(['0', '-1', 'abc', '1.5', '1e3'])('refuses %j, naming the variable', (value) => {
    expect(() => keepBuildDirsFromEnv({ WATCHER_KEEP_BUILD_DIRS: value })).toThrow(`WATCHER_KEEP_BUILD_DIRS must be a whole number of 1 or more, not ${JSON.stringify(value)}`);
  });
});

describe('partial-parse files of a build\'s invocations', () => {
  const PARSE_FILE = 'partial_parse.msgpack';

  it('a later invocation starts from the resolve\'s fresh file, and the resolve\'s file is left as dbt ls wrote it', async () => {
    project = mkdtempSync(path.join(os.tmpdir(), 'watcher-parse-files-'));
    mkdirSync(path.join(project, 'target'), { recursive: true });
    writeFileSync(path.join(project, 'target', PARSE_FILE), 'the user\'s, stale');
    const resolve = await prepareInvocationPaths(project, 'b1', RESOLVE_INVOCATION);
    expect(readFileSync(path.join(resolve.targetPath, PARSE_FILE), 'utf8')).toBe('the user\'s, stale');
    writeFileSync(path.join(resolve.targetPath, PARSE_FILE), 'fresh, from dbt ls'); // what dbt ls leaves

    const build = await prepareLaterInvocationPaths(project, 'b1', 'build-1');
    const rerun = await prepareLaterInvocationPaths(project, 'b1', 'rerun-model.p.m-2-1');
    expect(readFileSync(path.join(build.targetPath, PARSE_FILE), 'utf8')).toBe('fresh, from dbt ls');
    expect(readFileSync(path.join(rerun.targetPath, PARSE_FILE), 'utf8')).toBe('fresh, from dbt ls');
    expect(readFileSync(path.join(resolve.targetPath, PARSE_FILE), 'utf8')).toBe('fresh, from dbt ls');
  });

  it('without a resolve dir (a rerun on another machine), the project\'s own file is used', async () => {
    project = mkdtempSync(path.join(os.tmpdir(), 'watcher-parse-files-'));
    mkdirSync(path.join(project, 'target'), { recursive: true });
    writeFileSync(path.join(project, 'target', PARSE_FILE), 'the user\'s');
    const rerun = await prepareLaterInvocationPaths(project, 'b2', 'rerun-model.p.m-2-1');
    expect(readFileSync(path.join(rerun.targetPath, PARSE_FILE), 'utf8')).toBe('the user\'s');
    expect(existsSync(path.join(buildWorkDir(project, 'b2'), RESOLVE_INVOCATION))).toBe(false);
  });
});

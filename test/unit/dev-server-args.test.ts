import { describe, expect, it } from 'vitest';
import { DEV_SQLITE_PRAGMAS, devServerArgs } from '../../src/devstack/temporal-server.js';

const base = { cli: 'temporal', port: 7233, namespace: 'default', logFile: 'x.log', pidFile: 'x.pid' };

/** The values that follow each occurrence of `flag`. */
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe('devServerArgs', () => {
  it('runs a SQLite file in WAL mode, synced at checkpoints (no fsync per transaction)', () => {
    const args = devServerArgs({ ...base, dbFilename: '/tmp/t.db' });
    expect(valuesOf(args, '--db-filename')).toEqual(['/tmp/t.db']);
    expect(valuesOf(args, '--sqlite-pragma')).toEqual(['journal_mode=wal', 'synchronous=normal']);
    expect(DEV_SQLITE_PRAGMAS).toEqual(valuesOf(args, '--sqlite-pragma'));
  });

  it('sets no pragma for the in-memory store', () => {
    expect(valuesOf(devServerArgs(base), '--sqlite-pragma')).toEqual([]);
  });
});

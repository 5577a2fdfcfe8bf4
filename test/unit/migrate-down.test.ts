// Issue 14 item 2: a down migration drops tables, so the store refuses any count that is not a
// positive integer before it connects (node-pg-migrate reads 0 as "all of them"). The CLI's
// own refusal (`--down 0`, `--down 1` without --yes) is in test/faults/bad-input.test.ts.
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate.js';

// Nothing listens here: a refused count must fail before any connection is tried.
const UNREACHABLE = 'postgres://nobody:nothing@127.0.0.1:1/none';

describe('migrate down', () => {
  it.each([0, -1, 1.5, Number.POSITIVE_INFINITY, Number.NaN, undefined])('refuses a count of %s without touching the database', async (count) => {
    await expect(migrate(UNREACHABLE, { direction: 'down', count })).rejects.toThrow(/a down migration needs a count of 1 or more/);
  });

  it('takes a positive count to the database (which is unreachable here)', async () => {
    await expect(migrate(UNREACHABLE, { direction: 'down', count: 1 })).rejects.not.toThrow(/a down migration needs/);
  });
});

import { describe, expect, it } from 'vitest';
import { jsonBytes, piecesOf } from '../../src/contracts/payload-size.js';

describe('jsonBytes', () => {
  it("is the UTF-8 size of the value's JSON, as Buffer counts it", () => {
    for (const value of [null, 'plain', { a: 'é', b: ['日本語', '😀'] }, 'x'.repeat(70_000), { nested: { deep: [1, 2.5, true] } }]) {
      expect(jsonBytes(value)).toBe(Buffer.byteLength(JSON.stringify(value), 'utf8'));
    }
  });
});

describe('piecesOf', () => {
  const size = (n: number) => n;

  it('cuts by count when bytes allow', () => {
    expect(piecesOf([1, 1, 1, 1, 1], 2, 100, size)).toEqual([[1, 1], [1, 1], [1]]);
  });

  it('cuts by bytes when count allows, keeping order and every item', () => {
    const items = [40, 30, 50, 10, 60, 5];
    const pieces = piecesOf(items, 100, 80, size);
    expect(pieces).toEqual([[40, 30], [50, 10], [60, 5]]);
    expect(pieces.flat()).toEqual(items);
    for (const piece of pieces) expect(piece.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(80);
  });

  it('puts an item larger than the budget in a piece of its own, never drops it', () => {
    expect(piecesOf([10, 500, 10], 100, 80, size)).toEqual([[10], [500], [10]]);
  });

  it('gives no piece for no items', () => {
    expect(piecesOf([], 10, 10, size)).toEqual([]);
  });
});

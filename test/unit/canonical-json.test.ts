import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalJson, sha256Hex } from '../../src/store/canonical-json.js';

describe('canonicalJson: key order', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    const value = { b: 1, a: { d: [{ y: 1, x: 2 }], c: { z: true, m: null } } };
    expect(canonicalJson(value)).toBe('{"a":{"c":{"m":null,"z":true},"d":[{"x":2,"y":1}]},"b":1}');
  });

  it('gives the same text for objects built with their keys in any order, at any depth', () => {
    const one = { owner: 'data', freshness: { number: 1, datepart: 'day' }, tags: [{ k: 'a', v: 1 }], nested: { deep: { q: 1, p: 2 } } };
    const two = { nested: { deep: { p: 2, q: 1 } }, tags: [{ v: 1, k: 'a' }], freshness: { datepart: 'day', number: 1 }, owner: 'data' };
    expect(canonicalJson(two)).toBe(canonicalJson(one));
  });

  it('sorts by code unit, not by locale (upper case before underscore before lower case)', () => {
    expect(canonicalJson({ b: 1, a: 2, _: 3, B: 4, é: 5 })).toBe('{"B":4,"_":3,"a":2,"b":1,"é":5}');
  });

  it('sorts integer-like keys as strings, not in the numeric order JavaScript iterates them', () => {
    expect(canonicalJson({ 2: 'two', 10: 'ten', a: 'a' })).toBe('{"10":"ten","2":"two","a":"a"}');
  });
});

describe('canonicalJson: values', () => {
  it.each([null, true, false, 0, -1.5, 1e21, 'text', ''])('writes the primitive %j exactly like JSON.stringify', (value) => {
    expect(canonicalJson(value)).toBe(JSON.stringify(value));
  });

  it('drops undefined properties but keeps null ones', () => {
    expect(canonicalJson({ a: undefined, b: null, c: 1 })).toBe('{"b":null,"c":1}');
    expect(canonicalJson({ a: undefined })).toBe('{}');
    expect(canonicalJson({ outer: { inner: undefined, kept: null } })).toBe('{"outer":{"kept":null}}');
  });

  it('keeps array order and writes undefined array elements as null', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalJson([1, undefined, null, 'x'])).toBe('[1,null,null,"x"]');
    expect(canonicalJson([[2, 1], { b: 1, a: undefined }])).toBe('[[2,1],{"b":1}]');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
  });

  it('writes a hole in a sparse array as null, like JSON.stringify, so the output stays valid JSON', () => {
    const sparse: unknown[] = [1];
    sparse[2] = 3; // index 1 is a hole
    const text = canonicalJson(sparse);
    expect(text).toBe(JSON.stringify(sparse)); // "[1,null,3]"
    expect(() => JSON.parse(text) as unknown).not.toThrow();
  });

  it.each([
    ['double quotes', 'say "hi"'],
    ['a backslash', 'C:\\dbt\\models'],
    ['a newline and a tab', 'line 1\nline\t2'],
    ['control characters', '\u0000\u0001\u001f\u007f'],
    ['accented letters', 'héllo wörld'],
    ['CJK', '数据管道'],
    ['an emoji (surrogate pair)', 'ship it 🚀'],
    ['a lone surrogate', 'bad \ud800 half'],
    ['line and paragraph separators', 'a\u2028b\u2029c'],
  ])('escapes a string with %s exactly like JSON.stringify, as a value and as a key', (_what, s) => {
    expect(canonicalJson(s)).toBe(JSON.stringify(s));
    expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
  });

  it('round-trips a JSON value through JSON.parse unchanged', () => {
    const value = { a: [1, 'two', { three: 3, four: [null, false] }], b: { 'quote"key': 'x\ny' }, c: -0.25 };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('throws on %s, at the top level, in an object and in an array', (_what, n) => {
    expect(() => canonicalJson(n)).toThrow(/NaN or Infinity/);
    expect(() => canonicalJson({ a: { b: n } })).toThrow(/NaN or Infinity/);
    expect(() => canonicalJson([1, [n]])).toThrow(/NaN or Infinity/);
  });
});

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 test vector for "abc"', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('matches the known hash of the empty string', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('hashes the UTF-8 bytes of non-ASCII text', () => {
    const text = 'héllo 🚀';
    expect(sha256Hex(text)).toBe(createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex'));
  });
});

describe('canonicalHash', () => {
  it('is 64 lower-case hex characters, the SHA-256 of the canonical JSON', () => {
    const value = { b: [1, 2], a: 'x' };
    expect(canonicalHash(value)).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalHash(value)).toBe(sha256Hex('{"a":"x","b":[1,2]}'));
  });

  it('is the same for the same value with its keys in another order, or with undefined properties added', () => {
    expect(canonicalHash({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(canonicalHash({ a: 1 })).toBe(canonicalHash({ a: 1, b: undefined }));
  });

  it('differs when any value, type, array order or key differs', () => {
    const base = canonicalHash({ a: 1, b: [1, 2], c: 'x' });
    const variants = [
      { a: 2, b: [1, 2], c: 'x' },
      { a: '1', b: [1, 2], c: 'x' },
      { a: 1, b: [2, 1], c: 'x' },
      { a: 1, b: [1, 2], c: 'X' },
      { a: 1, b: [1, 2], c: 'x', d: null },
      { a: 1, b: [1, 2], C: 'x' },
      { a: 1, b: [1, 2, null], c: 'x' },
    ];
    const hashes = variants.map((v) => canonicalHash(v));
    for (const h of hashes) expect(h).not.toBe(base);
    expect(new Set(hashes).size).toBe(variants.length);
  });

  it('tells a null property from a missing one', () => {
    expect(canonicalHash({ a: null })).not.toBe(canonicalHash({}));
  });
});

import { describe, expect, it } from 'vitest';
import { binaryOffsets, elfLoadBase, parsePerfScript, summarizeSamples, type Frame } from '../../bench/lib/go-perf.js';

const BIN = '/opt/temporal';
const perfScript = [
  '',
  '\tffffffff813ae493 ([kernel.kallsyms])',
  `\t         3779e (${BIN})`,
  `\t         2282140 (${BIN})`,
  '',
  `\t         3779e (${BIN})`,
  `\t         1000 (${BIN})`,
  `\t         2282140 (${BIN})`,
  '\t            7f00 (/usr/lib/libc.so.6)',
  '',
].join('\n');

describe('parsePerfScript', () => {
  it('reads samples leaf first, frames of the binary as offsets, others by where they were', () => {
    const samples = parsePerfScript(perfScript, BIN);
    expect(samples).toEqual([
      [{ elsewhere: 'kernel' }, { binaryOffset: 0x3779e }, { binaryOffset: 0x2282140 }],
      [{ binaryOffset: 0x3779e }, { binaryOffset: 0x1000 }, { binaryOffset: 0x2282140 }, { elsewhere: '/usr/lib/libc.so.6' }],
    ]);
    expect(binaryOffsets(samples).sort((a, b) => a - b)).toEqual([0x1000, 0x3779e, 0x2282140]);
  });
});

describe('summarizeSamples', () => {
  it('shares samples by leaf (self) and by presence on the stack, once per stack (inclusive)', () => {
    const names: Record<number, string> = { 0x3779e: 'runtime.malloc', 0x1000: 'sqlite.step', 0x2282140: 'grpc.serve' };
    const name = (f: Frame) => ('binaryOffset' in f ? names[f.binaryOffset]! : `[${f.elsewhere}]`);
    const samples = parsePerfScript(perfScript, BIN);
    samples.push([{ binaryOffset: 0x1000 }, { binaryOffset: 0x1000 }]); // recursion: counted once
    const summary = summarizeSamples(samples, name);
    expect(summary.samples).toBe(3);
    const share = (rows: Array<{ frame: string; percent: number }>, f: string) => rows.find((r) => r.frame === f)?.percent;
    expect(share(summary.self, '[kernel]')).toBeCloseTo(100 / 3);
    expect(share(summary.self, 'runtime.malloc')).toBeCloseTo(100 / 3);
    expect(share(summary.inclusive, 'sqlite.step')).toBeCloseTo(200 / 3);
    expect(share(summary.inclusive, 'grpc.serve')).toBeCloseTo(200 / 3);
    expect(summarizeSamples(samples, name, 1).inclusive).toHaveLength(1);
  });
});

describe('elfLoadBase', () => {
  /** A 64-bit little-endian ELF header with a PT_NOTE, then a PT_LOAD at `vaddr` from file offset `offset`. */
  function elf(vaddr: bigint, offset: bigint): Buffer {
    const b = Buffer.alloc(0x40 + 2 * 0x38);
    b.writeUInt32BE(0x7f454c46, 0);
    b[4] = 2; // 64-bit
    b[5] = 1; // little-endian
    b.writeBigUInt64LE(0x40n, 0x20); // e_phoff
    b.writeUInt16LE(0x38, 0x36); // e_phentsize
    b.writeUInt16LE(2, 0x38); // e_phnum
    b.writeUInt32LE(4, 0x40); // PT_NOTE
    b.writeUInt32LE(1, 0x40 + 0x38); // PT_LOAD
    b.writeBigUInt64LE(offset, 0x40 + 0x38 + 0x08);
    b.writeBigUInt64LE(vaddr, 0x40 + 0x38 + 0x10);
    return b;
  }

  it("is the first loadable segment's address less its file offset", () => {
    expect(elfLoadBase(elf(0x400000n, 0n))).toBe(0x400000);
    expect(elfLoadBase(elf(0x401000n, 0x1000n))).toBe(0x400000);
  });

  it('names a file that is not a 64-bit ELF', () => {
    expect(() => elfLoadBase(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64)))).toThrow(/not a 64-bit little-endian ELF/);
  });
});

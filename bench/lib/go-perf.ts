// Reads `perf record -g` samples of a stripped Go binary (the temporal CLI's dev server) into
// where its CPU went. perf cannot name the frames (no symbol table), but Go keeps its own
// (pclntab), which `go tool addr2line` reads. Pure parts here; bench/go-perf-summary.ts runs
// the tools.
import { topFrames } from './cpu-profile.js';

/** One sample's stack, leaf first: an address in the binary, or where else the frame was. */
export type Frame = { binaryOffset: number } | { elsewhere: 'kernel' | string };

/**
 * `perf script -F ip,dso` output: one frame per line (`<hex address> (<dso>)`), samples apart
 * by blank lines. perf prints a frame of the binary as its offset from the binary's load
 * base (checked: the offsets plus the base name coherent gRPC → history → SQLite stacks).
 */
export function parsePerfScript(text: string, binaryPath: string): Frame[][] {
  const samples: Frame[][] = [];
  let current: Frame[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-f]+) \((.*)\)\s*$/.exec(line);
    if (!m) {
      if (line.trim() === '' && current.length > 0) {
        samples.push(current);
        current = [];
      }
      continue;
    }
    const [, hex, dso] = m as unknown as [string, string, string];
    if (dso === binaryPath) current.push({ binaryOffset: parseInt(hex, 16) });
    else current.push({ elsewhere: dso.includes('kernel') ? 'kernel' : dso });
  }
  if (current.length > 0) samples.push(current);
  return samples;
}

/** The virtual address a 64-bit little-endian ELF file loads its first segment at, less that segment's file offset. */
export function elfLoadBase(header: Buffer): number {
  if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const phoff = Number(header.readBigUInt64LE(0x20));
  const phentsize = header.readUInt16LE(0x36);
  const phnum = header.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const PT_LOAD = 1;
    if (header.readUInt32LE(ph) === PT_LOAD) return Number(header.readBigUInt64LE(ph + 0x10) - header.readBigUInt64LE(ph + 0x08));
  }
  throw new Error('the ELF file has no loadable segment');
}

/** Every distinct offset of the binary in the samples (what to hand to addr2line). */
export function binaryOffsets(samples: Frame[][]): number[] {
  const offsets = new Set<number>();
  for (const sample of samples) for (const f of sample) if ('binaryOffset' in f) offsets.add(f.binaryOffset);
  return [...offsets];
}

export interface FrameShare {
  frame: string;
  percent: number;
}

export interface SampleSummary {
  samples: number;
  /** Percent of samples, by the leaf frame's function. */
  self: FrameShare[];
  /** Percent of samples with the function anywhere on the stack (once per stack). */
  inclusive: FrameShare[];
}

/** Functions by their share of the samples, `name` naming each frame. */
export function summarizeSamples(samples: Frame[][], name: (f: Frame) => string, top = 30): SampleSummary {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const sample of samples) {
    const names = sample.map(name);
    self.set(names[0]!, (self.get(names[0]!) ?? 0) + 1);
    for (const n of new Set(names)) inclusive.set(n, (inclusive.get(n) ?? 0) + 1);
  }
  const ranked = (m: Map<string, number>) => topFrames(m, top).map(([frame, count]) => ({ frame, percent: (count / samples.length) * 100 }));
  return { samples: samples.length, self: ranked(self), inclusive: ranked(inclusive) };
}

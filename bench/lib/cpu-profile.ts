// Reads a V8 CPU profile (`node --cpu-prof`, one file per thread) into where its busy time
// went: each frame's self time, and its inclusive time (itself and all it called, counted
// once per stack however often the frame recurses). Pure: a profile in, figures out.

/** The parts of a `.cpuprofile` this reads (Chrome DevTools protocol `Profiler.Profile`). */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  /** Microseconds since the previous sample (the first since the profile's start). */
  timeDeltas: number[];
}

export interface FrameTime {
  frame: string;
  ms: number;
}

export interface CpuProfileSummary {
  /** Sampled time the thread ran anything: all but `(idle)`. */
  busyMs: number;
  idleMs: number;
  /** `(garbage collector)`: part of busyMs. */
  gcMs: number;
  /** Frames by their own time, most first. */
  self: FrameTime[];
  /** Frames by their own time plus their callees', most first. */
  inclusive: FrameTime[];
}

/** V8's pseudo-frames: the root of every stack, and where time went outside JavaScript. */
const ROOT = '(root)';
const IDLE = '(idle)';
const GC = '(garbage collector)';

/** `name file:line` (1-based), the file cut to what follows node_modules/ or its last two parts. */
export function frameName(callFrame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = callFrame.functionName || '(anonymous)';
  if (!callFrame.url) return name;
  const url = callFrame.url.replace(/^file:\/\//, '');
  const inModules = url.lastIndexOf('node_modules/');
  const file = inModules >= 0 ? url.slice(inModules + 'node_modules/'.length) : url.split('/').slice(-2).join('/');
  return `${name} ${file}:${callFrame.lineNumber + 1}`;
}

export function summarizeCpuProfile(profile: CpuProfile, top = 30): CpuProfileSummary {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const roots = profile.nodes.filter((n) => !childIds.has(n.id));

  // Each node's subtree time: nodes in an order where children come after their parent, then
  // summed from the last back (iterative: stacks can be thousands deep).
  const order: number[] = roots.map((r) => r.id);
  for (let i = 0; i < order.length; i++) order.push(...(byId.get(order[i]!)!.children ?? []));
  const subtreeUs = new Map<number, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = byId.get(order[i]!)!;
    let us = selfUs.get(node.id) ?? 0;
    for (const child of node.children ?? []) us += subtreeUs.get(child) ?? 0;
    subtreeUs.set(node.id, us);
  }

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  let totalUs = 0;
  // Depth-first with enter and exit steps: a frame's inclusive time is its topmost node's
  // subtree, so a recursive frame's time is counted once.
  const onStack = new Map<string, number>();
  for (const root of roots) {
    const steps: Array<{ id: number; exit: boolean }> = [{ id: root.id, exit: false }];
    while (steps.length > 0) {
      const { id, exit } = steps.pop()!;
      const node = byId.get(id)!;
      const frame = frameName(node.callFrame);
      const depth = onStack.get(frame) ?? 0;
      if (exit) {
        onStack.set(frame, depth - 1);
        continue;
      }
      const own = selfUs.get(id) ?? 0;
      totalUs += own;
      if (frame === IDLE) idleUs += own;
      if (frame === GC) gcUs += own;
      if (frame !== ROOT) {
        self.set(frame, (self.get(frame) ?? 0) + own);
        if (depth === 0) inclusive.set(frame, (inclusive.get(frame) ?? 0) + subtreeUs.get(id)!);
      }
      onStack.set(frame, depth + 1);
      steps.push({ id, exit: true });
      for (const child of node.children ?? []) steps.push({ id: child, exit: false });
    }
  }
  self.delete(IDLE);
  inclusive.delete(IDLE);
  const ranked = (m: Map<string, number>) => topFrames(m, top).map(([frame, us]) => ({ frame, ms: us / 1000 }));
  return { busyMs: (totalUs - idleUs) / 1000, idleMs: idleUs / 1000, gcMs: gcUs / 1000, self: ranked(self), inclusive: ranked(inclusive) };
}

/** A map's entries by value, most first, the first `top` of them (both profile readers rank this way). */
export function topFrames(totals: Map<string, number>, top: number): Array<[string, number]> {
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
}

/** A frame's name cut to 150 characters (Go generics and regexp frames run to thousands) for a table row. */
export function clipFrame(frame: string): string {
  return frame.length > 150 ? `${frame.slice(0, 150)}...` : frame;
}

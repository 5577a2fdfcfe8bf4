// Byte budgets for what workflows send through Temporal. Temporal refuses a payload (an input,
// result or signal argument) over 2 MB and a workflow task's commands over 4 MB (its gRPC
// message), so whatever grows with a project (consumer inputs, node reports, records) is cut
// into pieces by bytes as well as by count, with a wide margin: sizes here are of the JSON,
// and a project's names, tests and meta can be long. Pure: used in workflow code.

/** One signal's or activity's input at most (a quarter of the 2 MB payload limit). */
export const PAYLOAD_BUDGET_BYTES = 512 * 1024;
/** The inputs of the children one workflow task starts, together (a quarter of the 4 MB task limit). */
export const TASK_BUDGET_BYTES = 1024 * 1024;

/**
 * The largest build plan (the selected graph, resolveBuildGraph's result). It is one payload in
 * the build's history, and what the build records and sends to its groups grows with it; about
 * 660 bytes per consumer in the 1,000-model scale project, so some 2,300 models and seeds.
 */
export const MAX_PLAN_BYTES = 1536 * 1024;

/** What a build whose plan is over MAX_PLAN_BYTES fails with. */
export function planTooLargeMessage(consumers: number, bytes: number, maxBytes: number): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
  return (
    `the selection is too large for one build: its plan of ${consumers} models, seeds and snapshots is ${mib(bytes)}, ` +
    `over the ${mib(maxBytes)} a build may carry (Temporal's payload limit is 2 MB); split it into builds of fewer nodes with select/exclude`
  );
}

/** The UTF-8 size of a value's JSON (what the default payload converter writes). */
export function jsonBytes(value: unknown): number {
  const json = JSON.stringify(value) ?? '';
  let bytes = 0;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * How many of `items`, from index `from`, make one piece: at most `maxItems`, and at most `maxBytes`
 * by `sizeOf` (an item larger than `maxBytes` alone is a piece of its own: the caller decides what
 * to do with it). Sizes only as many items as the piece takes.
 */
export function leadingPieceLength<T>(items: readonly T[], maxItems: number, maxBytes: number, sizeOf: (item: T) => number, from = 0): number {
  let length = 0;
  let bytes = 0;
  for (let i = from; i < items.length && length < maxItems; i++) {
    const size = sizeOf(items[i]!);
    if (length > 0 && bytes + size > maxBytes) break;
    length++;
    bytes += size;
  }
  return length;
}

/** Consecutive pieces of `items`, each as leadingPieceLength cuts it. */
export function piecesOf<T>(items: readonly T[], maxItems: number, maxBytes: number, sizeOf: (item: T) => number): T[][] {
  const pieces: T[][] = [];
  for (let start = 0; start < items.length; ) {
    const length = leadingPieceLength(items, maxItems, maxBytes, sizeOf, start);
    pieces.push(items.slice(start, start + length));
    start += length;
  }
  return pieces;
}

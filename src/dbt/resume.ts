// Resuming a build after its worker died: run only what has no result yet, in dbt's order.
// From the checkpoint and the manifest: exclude what finished (exactly), and what dbt would
// have skipped below a failure (with `+`); re-select the unfinished tests of finished models.
import type { ResultStatus } from '../contracts/status.js';
import { isConsumerResourceType, isTestResourceType } from '../contracts/messages.js';
import type { Manifest, ManifestNode } from './artifacts.js';

export interface ResumeSelection {
  /** Extra dbt selectors to add to the build's selection (every unfinished test; run with indirect selection off). */
  select: string[];
  /** dbt selectors to exclude. */
  exclude: string[];
  /** Nodes that will not run because something upstream failed before the resume: node -> that failure. */
  skippedBelow: Map<string, string>;
}

const PASSING: ReadonlySet<ResultStatus> = new Set(['success', 'pass', 'warn']);

/** The exact dbt selector of one node: its fqn (unit tests need their method). */
export function exactSelector(node: ManifestNode): string {
  const fqn = (node.fqn ?? [node.package_name, node.name]).join('.');
  return node.resource_type === 'unit_test' ? `unit_test:${fqn}` : fqn;
}

export function planResume(manifest: Manifest, finished: ReadonlyMap<string, ResultStatus>, planned: Iterable<string>): ResumeSelection {
  const lookup = (id: string): ManifestNode | undefined => manifest.nodes[id] ?? manifest.unit_tests?.[id];
  const children = new Map<string, string[]>();
  for (const node of [...Object.values(manifest.nodes), ...Object.values(manifest.unit_tests ?? {})]) {
    for (const parent of node.depends_on?.nodes ?? []) children.set(parent, [...(children.get(parent) ?? []), node.unique_id]);
  }
  const descendants = (root: string): string[] => {
    const seen = new Set<string>();
    const queue = [...(children.get(root) ?? [])];
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      if (seen.has(id)) continue;
      seen.add(id);
      queue.push(...(children.get(id) ?? []));
    }
    return [...seen];
  };

  const exclude: string[] = [];
  const skippedBelow = new Map<string, string>();
  const skipFrom = (root: string, because: string) => {
    const node = lookup(root);
    if (!node) return;
    exclude.push(`${exactSelector(node)}+`);
    for (const d of [root, ...descendants(root)]) if (!finished.has(d) && !skippedBelow.has(d)) skippedBelow.set(d, because);
  };

  for (const [id, status] of finished) {
    const node = lookup(id);
    if (!node) continue;
    if (PASSING.has(status)) {
      exclude.push(exactSelector(node));
    } else if (isConsumerResourceType(node.resource_type)) {
      skipFrom(id, id);
    } else if (isTestResourceType(node.resource_type)) {
      // dbt build skips what depends on the tested models (their other tests still run).
      exclude.push(exactSelector(node));
      for (const parent of node.depends_on?.nodes ?? []) {
        for (const child of children.get(parent) ?? []) {
          const c = lookup(child);
          if (c && isConsumerResourceType(c.resource_type)) skipFrom(child, id);
        }
      }
    } else {
      exclude.push(exactSelector(node));
    }
  }

  // Every unfinished test of the build, selected explicitly: the resumed build runs with
  // indirect selection off, because excluding a finished model would also drop its
  // unfinished tests (dbt applies indirect selection to exclusions too).
  const select: string[] = [];
  for (const id of planned) {
    const node = lookup(id);
    if (!node || finished.has(id) || skippedBelow.has(id) || !isTestResourceType(node.resource_type)) continue;
    select.push(exactSelector(node));
  }
  return { select, exclude: [...new Set(exclude)], skippedBelow };
}

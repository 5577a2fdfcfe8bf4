// Resuming a build after its worker died: run exactly the planned nodes that have no result
// yet, in dbt's order, and nothing dbt would have skipped below a failure. Its rules:
// everything below a model/seed/snapshot that did not pass; the model of a failed unit test
// and everything below it; below a failed data test, the models, seeds and snapshots that
// depend on ALL its parents (dbt's test edges) and everything below those.
// Selecting the remaining nodes explicitly (not "the build's selection minus what finished")
// keeps the resume exact whatever the build selected with (flags, selectors, a default selector).
import { isConsumerResourceType, isTestResourceType } from '../contracts/messages.js';
import { isFailedResultStatus, isPassingResultStatus, type ResultStatus } from '../contracts/status.js';
import type { Manifest, ManifestNode } from '../dbt/artifacts.js';
import { exactSelector } from '../dbt/selectors.js';

export interface ResumeSelection {
  /** Exact selectors of every planned node still to run (run with indirect selection off). */
  select: string[];
  /** Nodes that will not run because something upstream failed before the resume: node -> that failure. */
  skippedBelow: Map<string, string>;
}


export function planResume(manifest: Manifest, finished: ReadonlyMap<string, ResultStatus>, planned: Iterable<string>): ResumeSelection {
  const lookup = (id: string): ManifestNode | undefined => manifest.nodes[id] ?? manifest.unit_tests?.[id];
  const children = new Map<string, string[]>();
  for (const node of [...Object.values(manifest.nodes), ...Object.values(manifest.unit_tests ?? {})]) {
    for (const parent of new Set(node.depends_on?.nodes ?? [])) children.set(parent, [...(children.get(parent) ?? []), node.unique_id]);
  }
  const descendants = (root: string): Set<string> => {
    const seen = new Set<string>();
    const queue = [...(children.get(root) ?? [])];
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      if (seen.has(id)) continue;
      seen.add(id);
      queue.push(...(children.get(id) ?? []));
    }
    return seen;
  };
  const isConsumer = (id: string) => isConsumerResourceType(lookup(id)?.resource_type ?? '');

  const skippedBelow = new Map<string, string>();
  const skip = (ids: Iterable<string>, because: string) => {
    for (const id of ids) if (!finished.has(id) && !skippedBelow.has(id)) skippedBelow.set(id, because);
  };
  for (const [id, status] of finished) {
    const node = lookup(id);
    if (!node || isPassingResultStatus(status)) continue;
    if (isConsumerResourceType(node.resource_type)) {
      skip(descendants(id), id);
    } else if (node.resource_type === 'unit_test' && isFailedResultStatus(status)) {
      // dbt runs a model's unit tests first: one failing skips the model and what is below it.
      for (const model of node.depends_on?.nodes ?? []) skip([model, ...descendants(model)], id);
    } else if (isTestResourceType(node.resource_type) && isFailedResultStatus(status)) {
      // dbt's test edges run from a test to the models, seeds and snapshots below ALL its parents.
      const below = [...new Set(node.depends_on?.nodes ?? [])].map(descendants);
      const held = below.length ? [...below[0]!].filter((d) => isConsumer(d) && below.every((set) => set.has(d))) : [];
      for (const h of held) skip([h, ...descendants(h)], id);
    }
  }

  const root = manifest.metadata.project_name ?? '';
  const select: string[] = [];
  for (const id of new Set(planned)) {
    const node = lookup(id);
    if (node && !finished.has(id) && !skippedBelow.has(id)) select.push(exactSelector(node, root));
  }
  return { select, skippedBelow };
}

// The selected graph of a build, from dbt's manifest and dbt's own selection (`dbt ls`):
// which nodes get a consumer, which tests belong to which consumer, and which consumers
// are upstream of which (for single-node reruns).
import { isConsumerResourceType, isTestResourceType, type AddressSpec, type BuildPlan, type PlannedNode } from '../contracts/messages.js';
import { parseNodeConfig } from '../contracts/node-config.js';
import type { Manifest, ManifestNode } from '../dbt/artifacts.js';
import { exactSelector, sourceSelector } from '../dbt/selectors.js';

/** The selected graph (its `targetKey` is left to the caller, which knows the machine). */
export function planBuild(manifest: Manifest, selectedIds: ReadonlySet<string>): BuildPlan {
  const lookup = (id: string): ManifestNode | undefined => manifest.nodes[id] ?? manifest.unit_tests?.[id];

  const consumers = new Map<string, PlannedNode>();
  const addresses: Record<string, AddressSpec> = {};
  // The sources the planned nodes read, for `dbt source freshness` (sourceFreshness builds).
  const sources: Record<string, string> = {};
  const remember = (a: AddressSpec) => {
    addresses[a.name] ??= a;
    return a.name;
  };
  for (const id of selectedIds) {
    const node = manifest.nodes[id];
    if (!node || !isConsumerResourceType(node.resource_type)) continue;
    const { config, error } = parseNodeConfig(node.config?.meta?.watcher ?? node.meta?.watcher);
    const target = addressOf(node);
    consumers.set(id, {
      uniqueId: id,
      resourceType: node.resource_type,
      name: node.name,
      packageName: node.package_name,
      selector: exactSelector(node, manifest.metadata.project_name ?? ''),
      materialized: node.config?.materialized,
      upstream: [],
      tests: [],
      ...(config && Object.keys(config).length ? { config } : {}),
      ...(error ? { configError: error } : {}),
      lineage: { ...(target ? { target: remember(target) } : {}), sources: lineageSources(manifest, id).map(remember) },
    });
    for (const parentId of parentsThroughEphemerals(manifest, id)) {
      const source = manifest.sources?.[parentId];
      if (source) sources[parentId] ??= sourceSelector(source);
    }
  }

  // Tests belong to every consumer they reference (a relationships test to both models).
  let testCount = 0;
  for (const id of selectedIds) {
    const node = lookup(id);
    if (!node || !isTestResourceType(node.resource_type)) continue;
    testCount++;
    for (const parent of new Set(node.depends_on?.nodes ?? [])) consumers.get(parent)?.tests.push(id);
  }

  // Upstream consumers: the nearest selected consumers among ancestors, looking through
  // nodes that are not in this build (dbt keeps those transitive edges in its subgraph too).
  const memo = new Map<string, Set<string>>();
  const upstreamOf = (id: string, visiting: Set<string>): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const found = new Set<string>();
    if (visiting.has(id)) return found; // dbt refuses cycles; never loop on a broken manifest
    visiting.add(id);
    for (const parent of lookup(id)?.depends_on?.nodes ?? []) {
      if (consumers.has(parent)) found.add(parent);
      else if (manifest.nodes[parent]) for (const up of upstreamOf(parent, visiting)) found.add(up);
    }
    visiting.delete(id);
    memo.set(id, found);
    return found;
  };
  for (const planned of consumers.values()) {
    planned.upstream = [...upstreamOf(planned.uniqueId, new Set())].sort();
    planned.tests.sort();
  }

  return {
    projectName: manifest.metadata.project_name ?? 'unknown',
    dbtVersion: manifest.metadata.dbt_version ?? 'unknown',
    targetKey: '',
    nodes: topologicalOrder([...consumers.values()]),
    addresses,
    testCount,
    ...(Object.keys(sources).length ? { sources } : {}),
  };
}

/** The address a node writes (or a source is): none for ephemeral models. */
export function addressOf(node: ManifestNode): AddressSpec | undefined {
  if (node.resource_type === 'source') {
    const table = node.identifier ?? node.name;
    return { name: [node.database, node.schema, table].filter(Boolean).join('.'), type: 'source', database: node.database ?? undefined, schema: node.schema ?? undefined, table };
  }
  if (node.config?.materialized === 'ephemeral' || !node.alias) return undefined;
  return {
    name: [node.database, node.schema, node.alias].filter(Boolean).join('.'),
    type: 'relation',
    database: node.database ?? undefined,
    schema: node.schema ?? undefined,
    table: node.alias,
  };
}

/** The relations and sources a node reads, looking through ephemeral models (dbt inlines them). */
function lineageSources(manifest: Manifest, id: string): AddressSpec[] {
  const found = new Map<string, AddressSpec>();
  for (const parentId of parentsThroughEphemerals(manifest, id)) {
    const parent = manifest.nodes[parentId] ?? manifest.sources?.[parentId];
    const address = parent && addressOf(parent);
    if (address) found.set(address.name, address);
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * What a node reads: its parents (models, seeds, snapshots, sources), and in place of an
 * ephemeral parent that one's parents (dbt inlines it), each once.
 */
export function parentsThroughEphemerals(manifest: Manifest, id: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const visit = (nodeId: string) => {
    for (const parentId of manifest.nodes[nodeId]?.depends_on?.nodes ?? []) {
      if (seen.has(parentId)) continue;
      seen.add(parentId);
      if (manifest.nodes[parentId]?.config?.materialized === 'ephemeral') visit(parentId);
      else found.push(parentId);
    }
  };
  visit(id);
  return found;
}

/** Kahn's algorithm, ties broken by unique_id, so the order is stable and parents come first. */
export function topologicalOrder(nodes: PlannedNode[]): PlannedNode[] {
  const byId = new Map(nodes.map((n) => [n.uniqueId, n]));
  const remaining = new Map(nodes.map((n) => [n.uniqueId, n.upstream.filter((u) => byId.has(u)).length]));
  const children = new Map<string, string[]>();
  for (const n of nodes) for (const up of n.upstream) if (byId.has(up)) children.set(up, [...(children.get(up) ?? []), n.uniqueId]);
  const ready = nodes.filter((n) => remaining.get(n.uniqueId) === 0).map((n) => n.uniqueId).sort();
  const ordered: PlannedNode[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    ordered.push(byId.get(id)!);
    for (const child of children.get(id) ?? []) {
      const left = remaining.get(child)! - 1;
      remaining.set(child, left);
      if (left === 0) {
        // keep `ready` sorted so the order does not depend on insertion
        const at = ready.findIndex((r) => r > child);
        ready.splice(at === -1 ? ready.length : at, 0, child);
      }
    }
  }
  if (ordered.length < nodes.length) {
    // a cycle (dbt refuses those): append the rest rather than lose nodes
    const seen = new Set(ordered.map((n) => n.uniqueId));
    ordered.push(...nodes.filter((n) => !seen.has(n.uniqueId)).sort((a, b) => a.uniqueId.localeCompare(b.uniqueId)));
  }
  return ordered;
}

// dbt selection strings Watcher writes itself: one node exactly, and the YAML form of the
// CLI's selection syntax (dbt reads each YAML string as ONE criterion, not as CLI syntax).
import type { ManifestNode } from './artifacts.js';

/** A single `?` (dbt's glob for one character) where the CLI syntax would split the criterion. */
const unsplittable = (s: string) => s.replace(/[\s,[\]*]/g, '?');

function basename(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

/**
 * A selector for exactly one node. dbt has no unique_id method, and fqn matches by prefix
 * (`shop.stg` also selects `shop.stg.items` and the unit tests of `stg`), so the node is the
 * intersection of its resource type, package, fqn and file: `path:` for the root project
 * (dbt resolves it against the root only), the file name for a package's nodes.
 */
export function exactSelector(node: ManifestNode, rootProject: string): string {
  const fqn = (node.fqn ?? [node.package_name, node.name]).join('.');
  const parts = [`resource_type:${node.resource_type}`, `package:${node.package_name}`, `fqn:${unsplittable(fqn)}`];
  const file = node.original_file_path;
  if (file) parts.push(node.package_name === rootProject ? `path:${unsplittable(file)}` : `file:${unsplittable(basename(file))}`);
  return parts.join(',');
}

/**
 * A selector for exactly one source table, for `dbt source freshness`: `source:` with its
 * package, source and table names (fqn does not select sources there). A `.` inside a name
 * would split the criterion, so it becomes `?` too.
 */
export function sourceSelector(source: ManifestNode): string {
  const part = (s: string) => unsplittable(s).replace(/\./g, '?');
  return `source:${part(source.package_name)}.${part(source.source_name ?? '*')}.${part(source.name)}`;
}

export type YamlCriterion = string | { intersection: string[] };

/** CLI selection syntax -> YAML: spaces are unions, commas intersections. */
export function cliSelectionToYaml(selections: readonly string[]): YamlCriterion[] {
  return selections
    .flatMap((s) => s.trim().split(/\s+/))
    .filter(Boolean)
    .map((item) => (item.includes(',') ? { intersection: item.split(',').filter(Boolean) } : item));
}

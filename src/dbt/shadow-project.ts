// When a resumed build's selection is too long for the OS argument limit, dbt gets it as a
// YAML selector instead. dbt only reads `selectors.yml` from the project root, so (rather than
// edit the user's file, as Dagster does) dbt runs in a shadow project: a directory of symlinks
// to the project's files plus our own selectors.yml (the user's selectors kept, ours added).
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';

export const RESUME_SELECTOR = 'watcher_resume';

/** Total bytes of an argument vector (what counts against ARG_MAX, with the environment). */
export function argvBytes(args: readonly string[]): number {
  return args.reduce((sum, a) => sum + Buffer.byteLength(a) + 1, 0);
}

export interface SelectorDefinition {
  /** The build's own selection: CLI-style selectors, or a named selector (none = everything). */
  select: string[];
  selector?: string;
  /** Added to the build's selection. */
  extraSelect: string[];
  exclude: string[];
}

export async function createShadowProject(projectDir: string, shadowDir: string, definition: SelectorDefinition): Promise<string> {
  await rm(shadowDir, { recursive: true, force: true });
  await mkdir(shadowDir, { recursive: true });
  for (const entry of await readdir(projectDir)) {
    if (['selectors.yml', 'target', 'logs'].includes(entry)) continue;
    await symlink(path.join(projectDir, entry), path.join(shadowDir, entry));
  }
  let selectors: unknown[] = [];
  try {
    const userFile = YAML.parse(await readFile(path.join(projectDir, 'selectors.yml'), 'utf8')) as { selectors?: unknown[] } | null;
    selectors = userFile?.selectors ?? [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const union: unknown[] = [];
  if (definition.selector) union.push({ method: 'selector', value: definition.selector });
  union.push(...definition.select);
  if (union.length === 0) union.push('fqn:*');
  union.push(...definition.extraSelect);
  if (definition.exclude.length) union.push({ exclude: definition.exclude });
  selectors.push({ name: RESUME_SELECTOR, description: 'written by Watcher to resume a build', definition: { union } });
  await writeFile(path.join(shadowDir, 'selectors.yml'), YAML.stringify({ selectors }));
  return shadowDir;
}

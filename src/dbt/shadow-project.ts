// When a resumed build's selection is too long for the OS argument limit, dbt gets it as a
// YAML selector instead. dbt only reads `selectors.yml` from the project root, so (rather than
// edit the user's file, as Dagster does) dbt runs in a shadow project: a directory of symlinks
// to the project's files plus a selectors.yml with just our selector.
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { cliSelectionToYaml } from './selectors.js';

export const RESUME_SELECTOR = 'watcher_resume';

/** Total bytes of an argument vector (what counts against ARG_MAX, with the environment). */
export function argvBytes(args: readonly string[]): number {
  return args.reduce((sum, a) => sum + Buffer.byteLength(a) + 1, 0);
}

/** A shadow of `projectDir` whose selectors.yml has one selector: the union of `select`. */
export async function createShadowProject(projectDir: string, shadowDir: string, select: readonly string[]): Promise<string> {
  await rm(shadowDir, { recursive: true, force: true });
  await mkdir(shadowDir, { recursive: true });
  for (const entry of await readdir(projectDir)) {
    if (['selectors.yml', 'target', 'logs'].includes(entry)) continue;
    await symlink(path.join(projectDir, entry), path.join(shadowDir, entry));
  }
  const selectors = [{ name: RESUME_SELECTOR, description: 'written by Watcher to resume a build', definition: { union: cliSelectionToYaml(select) } }];
  await writeFile(path.join(shadowDir, 'selectors.yml'), YAML.stringify({ selectors }));
  return shadowDir;
}

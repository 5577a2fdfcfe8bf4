// The key of the relations a build writes: builds with the same key hold one lock between them,
// and a dbt's process record names it (see process.ts).
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { BuildInput } from '../contracts/build-input.js';

/** (real project directory, target): two builds with the same key write the same relations. */
export function targetKeyOf(input: Pick<BuildInput, 'projectDir' | 'target'>): string {
  let dir = input.projectDir;
  try {
    dir = realpathSync(dir);
  } catch {
    // the activity checked the directory already (assertProjectDir)
  }
  return createHash('sha256').update(`${dir}\u0000${input.target ?? ''}`).digest('hex').slice(0, 32);
}

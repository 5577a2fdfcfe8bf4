// A copy of the example project whose profile has a second target, `ci`: the same warehouse as
// `dev` (builds of one project on two targets hold two locks, so they never queue).
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { copyShopProject } from './stack.js';

export function shopProjectWithCiTarget(): string {
  const dir = copyShopProject();
  const profiles = path.join(dir, 'profiles.yml');
  const text = readFileSync(profiles, 'utf8');
  // The profile's last output is `dev`: the same again, as `ci`.
  appendFileSync(profiles, text.slice(text.indexOf('    dev:')).replace('    dev:', '    ci:'));
  return dir;
}

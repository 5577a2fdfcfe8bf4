// Schedules as code: `watcher.yml` at the root of a dbt project declares the project's schedules;
// `watcher schedule sync` makes Temporal match it. The whole file is validated before anything
// is created, and every error names its path (`schedules[1].cron: ...`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { describeZodError, InvalidInputError } from '../contracts/validation.js';
import { parseScheduleDeclaration, type ScheduleDefinition } from './definition.js';

export const WATCHER_FILE = 'watcher.yml';

/**
 * The file's shape. Entries stay `unknown` here and are checked one by one with
 * parseScheduleDeclaration, which also checks their build input against the project.
 * Other top-level keys are refused: a typo (`schedule:`) must not silently declare nothing.
 */
const WatcherFileSchema = z
  .object({
    schedules: z.array(z.unknown(), { error: () => 'must be a list of schedules' }).max(500, 'must list at most 500 schedules').default([]),
  })
  .strict();

export interface WatcherFile {
  file: string;
  schedules: ScheduleDefinition[];
}

/** Parse watcher.yml's text for the project at `projectDir` (absolute). */
export function parseWatcherFile(text: string, projectDir: string, file = path.join(projectDir, WATCHER_FILE)): WatcherFile {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new InvalidInputError(file, doc.errors.map((e) => e.message.split('\n')[0]).join('; '));
  const content: unknown = doc.toJS() ?? {};
  const top = WatcherFileSchema.safeParse(content);
  if (!top.success) throw new InvalidInputError(file, describeZodError(top.error));
  const schedules = top.data.schedules.map((entry, i) => {
    try {
      return parseScheduleDeclaration(entry, projectDir, `schedules[${i}]`);
    } catch (err) {
      if (err instanceof InvalidInputError) throw new InvalidInputError(file, err.problems);
      throw err;
    }
  });
  const seen = new Map<string, number>();
  schedules.forEach((s, i) => {
    const first = seen.get(s.name);
    if (first !== undefined) throw new InvalidInputError(file, `schedules[${i}].name: ${s.name} is already declared by schedules[${first}]`);
    seen.set(s.name, i);
  });
  return { file, schedules };
}

/** Read `<projectDir>/watcher.yml`. A missing file is an error: sync with nothing to sync is a mistake. */
export function readWatcherFile(projectDir: string): WatcherFile {
  const file = path.join(projectDir, WATCHER_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no ${WATCHER_FILE} in ${projectDir}`);
    throw err;
  }
  return parseWatcherFile(text, projectDir, file);
}

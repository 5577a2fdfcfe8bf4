// The dbt flags of a build, as `watcher build` and `watcher schedule create` take them (the same
// names, so a scheduled build is written like a build), and the build input fields they make.
import { Option, type Command } from 'commander';
import path from 'node:path';
import { SOURCE_FRESHNESS_MODES, type BuildInputRaw, type SourceFreshnessMode } from '../contracts/build-input.js';
import { integerArg, jsonObjectArg, textArg } from './options.js';

export interface BuildFlags {
  select?: string[];
  exclude?: string[];
  selector?: string;
  profilesDir?: string;
  target?: string;
  vars?: Record<string, unknown>;
  fullRefresh?: boolean;
  failFast?: boolean;
  threads?: number;
  nodeRetries?: number;
  sourceFreshness?: SourceFreshnessMode;
}

export function addBuildFlags(command: Command): Command {
  return command
    .option('-s, --select <selector...>', 'dbt --select')
    .option('--exclude <selector...>', 'dbt --exclude')
    .option('--selector <name>', 'dbt --selector (from selectors.yml)')
    .option('--profiles-dir <dir>', 'dbt --profiles-dir', textArg('--profiles-dir'))
    .option('-t, --target <name>', 'dbt --target')
    .option('--vars <json>', 'dbt --vars, as a JSON object', jsonObjectArg('--vars'))
    .option('--full-refresh', 'dbt --full-refresh')
    .option('--fail-fast', 'dbt --fail-fast')
    // Bounds are the build input's (validated once, naming the field): here only "an integer".
    .addOption(new Option('--threads <n>', 'dbt --threads').argParser(integerArg('--threads')))
    .addOption(new Option('--node-retries <n>', 'single-node reruns per failed node').argParser(integerArg('--node-retries')))
    .addOption(
      new Option(
        '--source-freshness <mode>',
        'run dbt source freshness first: warn records and alerts stale sources, skip-stale also leaves out models that read only stale sources',
      ).choices(SOURCE_FRESHNESS_MODES),
    );
}

/** The build input fields the flags set (none for a flag not given). */
export function buildFieldsOfFlags(opts: BuildFlags): Partial<BuildInputRaw> {
  const fields: Partial<BuildInputRaw> = {
    select: opts.select,
    exclude: opts.exclude,
    selector: opts.selector,
    // Relative to where the command runs.
    profilesDir: opts.profilesDir !== undefined ? path.resolve(opts.profilesDir) : undefined,
    target: opts.target,
    vars: opts.vars,
    fullRefresh: opts.fullRefresh === true ? true : undefined,
    failFast: opts.failFast === true ? true : undefined,
    threads: opts.threads,
    nodeRetries: opts.nodeRetries,
    sourceFreshness: opts.sourceFreshness,
  };
  for (const key of Object.keys(fields) as Array<keyof BuildInputRaw>) if (fields[key] === undefined) delete fields[key];
  return fields;
}

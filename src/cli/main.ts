// The `watcher` command line.
import { Runtime } from '@temporalio/worker';
import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { parseBuildInput, type BuildInputRaw } from '../contracts/build-input.js';
import { connectClient } from '../client.js';
import { loadConfig } from '../config.js';
import { installRuntime, logLevelFromEnv } from '../temporal/runtime.js';
import { ensureSdkToolchain, ensureToolchain, SdkToolchainError } from '../toolchain.js';
import { runWorker } from '../worker.js';
import { buildCommand, cancelCommand, statusCommand } from './build.js';
import { DEFAULT_DEV_PORTS, demoCommand, devCommand } from './dev.js';
import { checkCommand, monitorCommand } from './monitor.js';
import { runsCommand } from './runs.js';
import { addBuildFlags, buildFieldsOfFlags, type BuildFlags } from './build-flags.js';
import { integerArg, portArg, textArg } from './options.js';
import { scheduleCommand } from './schedule.js';
import { serveCommand, tokenCommand } from './serve.js';
import { migrate } from '../store/migrate.js';

try {
  installRuntime(logLevelFromEnv());
} catch (err) {
  // Before any command runs, and before the runtime exists: say what is wrong and stop.
  console.error(`watcher: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

const program = new Command('watcher')
  .description('Run dbt builds under Temporal: one dbt build, one workflow per node.')
  .showHelpAfterError();

program
  .command('setup')
  .description('install the Python toolchain (dbt-core, dbt-postgres, the Temporal CLI) into .venv, and the etl-watcher SDK and schemathesis into .venv-sdk')
  .action(() => {
    const tools = ensureToolchain();
    console.log(`dbt: ${tools.dbt}\ntemporal: ${tools.temporal}`);
    // Only the API's SDK and fuzz tests need .venv-sdk: a missing Python 3.12+ is reported here
    // and makes those tests fail with the same message, while everything else still runs.
    try {
      const sdk = ensureSdkToolchain();
      console.log(`etl-watcher SDK python: ${sdk.python}\nschemathesis: ${sdk.schemathesis}`);
    } catch (err) {
      if (!(err instanceof SdkToolchainError)) throw err;
      console.error(err.message);
      console.log('etl-watcher SDK python: MISSING (see above)');
    }
  });

program
  .command('dev')
  .description('run the embedded stack (Postgres, Temporal dev server with UI) and a worker until Ctrl-C')
  .addOption(new Option('--temporal-port <port>', 'Temporal frontend port').argParser(portArg('port')).default(DEFAULT_DEV_PORTS.temporalPort))
  .addOption(new Option('--ui-port <port>', 'Temporal Web UI port').argParser(portArg('port')).default(DEFAULT_DEV_PORTS.uiPort))
  .addOption(new Option('--postgres-port <port>', 'embedded Postgres port').argParser(portArg('port')).default(DEFAULT_DEV_PORTS.postgresPort))
  .addOption(new Option('--api-port <port>', 'HTTP API port (loopback, no auth)').argParser(portArg('port')).default(DEFAULT_DEV_PORTS.apiPort))
  .option('--no-worker', 'do not run a worker in this process')
  .action(async (opts: { temporalPort: number; uiPort: number; postgresPort: number; apiPort: number; worker: boolean }) => {
    process.exitCode = await devCommand(opts, { worker: opts.worker });
  });

program
  .command('demo')
  .description('build examples/shop on the embedded stack (or on a running `watcher dev`) and print the per-node table')
  .action(async () => {
    process.exitCode = await demoCommand();
  });

program
  .command('worker')
  .description('run a worker against TEMPORAL_ADDRESS (or the running dev stack) until Ctrl-C')
  .action(async () => {
    ensureToolchain();
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    await runWorker(loadConfig(), { stop: stop.signal });
  });

addBuildFlags(
  program
    .command('build')
    .description('start a dbt build; live progress, then a per-node table. Exit 0 when every node passed, 1 otherwise')
    .argument('[projectDir]', 'the dbt project', textArg('[projectDir]'), '.'),
)
  .option('--build-id <id>', 'build ID (default: a timestamp)')
  .option('--no-progress', 'no progress bar')
  .option('--json', 'print the summary as JSON')
  .action(async (projectDir: string, opts: BuildFlags & { buildId?: string; progress?: boolean; json?: boolean }) => {
    const raw: BuildInputRaw = {
      projectDir: path.resolve(projectDir),
      ...buildFieldsOfFlags(opts),
      ...(opts.buildId !== undefined ? { buildId: opts.buildId } : {}),
    };
    parseBuildInput(raw); // a bad flag is refused (naming its field) before anything connects
    const config = loadConfig();
    const { client, close } = await connectClient(config);
    try {
      process.exitCode = await buildCommand(client, config, raw, { progress: opts.progress !== false, json: opts.json === true });
    } finally {
      await close();
    }
  });

program
  .command('cancel')
  .description('cancel a build: dbt gets SIGINT (then SIGTERM, SIGKILL), its nodes end canceled')
  .argument('<buildId>', 'the build', textArg('<buildId>'))
  .option('--no-wait', 'return once the cancellation is requested')
  .action(async (buildId: string, opts: { wait: boolean }) => {
    const { client, close } = await connectClient(loadConfig());
    try {
      process.exitCode = await cancelCommand(client, buildId, opts.wait);
    } finally {
      await close();
    }
  });

program
  .command('migrate')
  .description("apply Watcher's schema migrations to DATABASE_URL (or the dev stack's database)")
  .addOption(new Option('--down <n>', 'roll back the last n migrations instead (drops their tables and data; needs --yes)').argParser(integerArg('--down', { min: 1 })))
  .option('--yes', 'confirm a --down: the rolled-back tables and their data are dropped')
  .action(async (opts: { down?: number; yes?: boolean }) => {
    // A down migration drops tables: never by accident (`--down 0` once meant "all of them").
    if (opts.down !== undefined && opts.yes !== true) {
      throw new InvalidArgumentError(`--down ${opts.down} drops the tables of the last ${opts.down} migration(s) and all their data: add --yes to confirm`);
    }
    const { databaseUrl } = loadConfig();
    if (!databaseUrl) throw new Error('no metadata database: set DATABASE_URL, or start `watcher dev`');
    const applied = await migrate(databaseUrl, opts.down !== undefined ? { direction: 'down', count: opts.down } : {});
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
  });

program.addCommand(runsCommand());
program.addCommand(serveCommand());
program.addCommand(tokenCommand());
program.addCommand(scheduleCommand());
program.addCommand(monitorCommand());
program.addCommand(checkCommand());

program
  .command('status')
  .description("a build's per-node status (live while it runs)")
  .argument('<buildId>', 'the build', textArg('<buildId>'))
  .option('--json', 'print as JSON')
  .action(async (buildId: string, opts: { json?: boolean }) => {
    const { client, close } = await connectClient(loadConfig());
    try {
      process.exitCode = await statusCommand(client, buildId, opts.json === true);
    } finally {
      await close();
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`watcher: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  // The SDK runtime (its log forwarding) would keep the process alive after the command.
  await Runtime.instance().shutdown();
}

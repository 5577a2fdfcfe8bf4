// schemathesis fuzzes the served OpenAPI document: for every operation it sends the schema's
// examples, boundary values and random valid and invalid inputs, with an admin token, and
// checks that no answer is a 5xx, that every answer (status, content type, body) is one the
// document declares, and that input the document forbids is refused with a 4xx. Not checked:
// positive_data_acceptance (rules across fields, such as a freshness number needing its
// datepart, cannot be said in OpenAPI 3.0, so schema-valid bodies are rightly refused) and the
// auth checks (GET /, /healthz, /readyz are public on purpose; api-server.test.ts covers auth).
// Runs from .venv-sdk (see src/toolchain.ts); bounded so it ends in about a minute.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.js';
import { childEnv, runProcess, sdkToolchain } from '../support/sdk.js';
import type { SdkToolchain } from '../../src/toolchain.js';

const FUZZ_TIMEOUT_MS = 240_000;

let api: TestApi;
let sdk: SdkToolchain;
// schemathesis keeps a crash cache (.schemathesis/) in its working directory: not in the repository
let workDir: string;
beforeAll(async () => {
  sdk = sdkToolchain();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'watcher-fuzz-'));
  // schemathesis sends hundreds of requests a minute: the per-token limit is not under test here
  api = await startTestApi({ rateLimitPerMinute: 1_000_000 });
});
afterAll(async () => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  await api?.close();
});

describe('the served OpenAPI document, fuzzed by schemathesis', () => {
  it('never answers 5xx and every response matches the document', { timeout: FUZZ_TIMEOUT_MS + 30_000 }, async () => {
    const token = await api.token('admin');
    const args = [
      'run',
      `${api.url}/openapi.json`,
      '--header',
      `Authorization: Bearer ${token}`,
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection',
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      '50',
      '--seed',
      '20261202',
      '--generation-database',
      'none',
      '--workers',
      '1',
      '--request-timeout',
      '10',
      '--no-color',
      // Starting or cancelling a build starts real work in Temporal (a dbt build): not fuzzed.
      // (both regexes in one filter: excluded only when the method AND the path match)
      '--exclude-method-regex',
      '(?i)^post$',
      '--exclude-path-regex',
      '^/builds(/\\{[^}]+\\}/cancel)?$',
    ];
    const result = await runProcess(sdk.schemathesis, args, { env: childEnv({}), timeoutMs: FUZZ_TIMEOUT_MS, cwd: workDir });
    const output = `${result.stdout}\n${result.stderr}`.replaceAll(token, '<admin token>');
    // the whole report on failure (with the requests to reproduce), its summary otherwise
    if (result.code !== 0 || result.timedOut) console.error(output);
    // (without its pytest-style "=== N warnings in Ns ===" line: CI log readers take that for
    // the run's closing line, one that counted no test)
    else console.log(output.trim().split('\n').slice(-12).filter((line) => !line.startsWith('===')).join('\n'));
    expect(result.timedOut, 'schemathesis did not finish in time').toBe(false);
    expect(result.code, 'schemathesis found failures (its output is printed above)').toBe(0);
    // a run that selected no operation would pass vacuously
    expect(output).toMatch(/\b\d+ passed\b/);
  });
});

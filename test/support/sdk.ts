// The SDK venv (.venv-sdk) for the API's compatibility and fuzz tests, and a way to run its
// programs while the API keeps serving in this very process (so never spawnSync here).
import { spawn } from 'node:child_process';
import { ensureSdkToolchain, PROJECT_ROOT, type SdkToolchain } from '../../src/toolchain.js';

/**
 * The SDK toolchain, installed when stale. Without Python >= 3.12 this throws the setup's
 * message listing every interpreter tried: CI has one, so a missing one is a failure, not a skip.
 */
export function sdkToolchain(): SdkToolchain {
  return ensureSdkToolchain((line) => console.error(line));
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Run a program with an argument array and a bounded time; SIGKILL when the time is up. */
export function runProcess(command: string, args: string[], options: { env: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A minimal environment for the child: no cloud credentials for the SDK's auth auto-detection. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8', PYTHONUNBUFFERED: '1', ...extra };
}

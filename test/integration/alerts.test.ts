// sendAlerts against real Postgres (the alert_delivery ledger) and real HTTP receivers on
// 127.0.0.1: delivered once per channel, never again, exactly once through 500s, timeouts and a
// receiver that is down for 30 s, and no webhook URL in any error or log line.
// Most tests run the activity in MockActivityEnvironment (real Context: heartbeats, cancellation,
// logger) with `retryLikeTemporal` playing Temporal's retry policy (no attempt limit, exponential
// backoff, non-retryable failures end it) on a shorter cap; the 30 s outage runs through the
// real Temporal dev server with the shipped retry policy.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendAlerts, type SendAlertsResult } from '../../activities/alerts.js';
import type { ActivityDeps } from '../../activities/deps.js';
import type { Alert } from '../../src/monitoring/alerts.js';
import { createNotifier, loadNotifierConfig, slackText } from '../../src/monitoring/notifier.js';
import { listAlertDeliveries } from '../../src/store/alerts.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { Receiver } from '../support/receiver.js';
import { connectTestClient, stack, uniqueName } from '../support/stack.js';

const SLACK_TOKEN = 'T0SECRET/B0SECRET/slackS3cr3tTok3n';
const JSON_TOKEN = 'jsonS3cr3tTok3n';
const SECRETS = ['S3cr3tTok3n', 'T0SECRET', 'B0SECRET'];

let db: TestDatabase;
let seq = 0;
const slack = new Receiver();
const json = new Receiver();
const errorTexts: string[] = [];
const logLines: string[] = [];

function makeAlerts(n: number, tag: string): Alert[] {
  seq++;
  return Array.from({ length: n }, (_, i) => ({
    kind: i % 2 === 0 ? 'freshness_stale' : 'build_failed',
    level: i % 2 === 0 ? 'warning' : 'error',
    title: `${tag} alert ${seq}.${i}`,
    message: `what happened to ${tag} ${i}`,
    details: { pipeline: `model.shop.m${i}`, n: i },
    idempotencyKey: `${tag}:${seq}:${i}`,
    occurredAt: new Date(Date.UTC(2026, 11, 2, 11, 0, i)).toISOString(),
    links: { 'Temporal UI': `http://localhost:8233/namespaces/default/workflows/watcher%2F${tag}` },
  }));
}

function deps(slackPort = slack.port, jsonPort = json.port): ActivityDeps {
  const config = loadNotifierConfig({
    WATCHER_SLACK_WEBHOOK_URL: `http://127.0.0.1:${slackPort}/services/${SLACK_TOKEN}`,
    WATCHER_ALERT_WEBHOOK_URL: `http://127.0.0.1:${jsonPort}/hooks/${JSON_TOKEN}?sig=${JSON_TOKEN}`,
  });
  return {
    client: undefined as never, // sendAlerts talks to no workflow
    dbtBin: 'dbt',
    dbtEnv: {},
    signalConcurrency: 1,
    stopGraceMs: 0,
    heartbeatIntervalMs: 200,
    store: db.pool,
    notifier: createNotifier(config),
  };
}

let heartbeats = 0;
function activityEnv(): MockActivityEnvironment {
  const capture = (level: string) => (message: string, meta?: Record<string, unknown>) => void logLines.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`);
  const env = new MockActivityEnvironment(undefined, {
    logger: { log: (l, m, meta) => capture(l)(m, meta), trace: capture('TRACE'), debug: capture('DEBUG'), info: capture('INFO'), warn: capture('WARN'), error: capture('ERROR') },
  });
  env.on('heartbeat', () => heartbeats++);
  return env;
}

/** One attempt of the activity, in its own mock context. */
function runOnce(d: ActivityDeps, alerts: Alert[]): Promise<SendAlertsResult> {
  return activityEnv().run(sendAlerts, d, alerts) as Promise<SendAlertsResult>;
}

/** Temporal's retry: again after a retryable failure with exponential backoff; a non-retryable one ends it. */
async function retryLikeTemporal(d: ActivityDeps, alerts: Alert[], maxIntervalMs = 1_000): Promise<{ result: SendAlertsResult; attempts: number; results: SendAlertsResult[] }> {
  let interval = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await runOnce(d, alerts);
      return { result, attempts: attempt, results: [result] };
    } catch (err) {
      errorTexts.push(String(err), JSON.stringify(err instanceof ApplicationFailure ? err.details : null));
      if (!(err instanceof ApplicationFailure) || err.nonRetryable) throw err;
      if (attempt > 200) throw new Error(`still failing after ${attempt} attempts: ${String(err)}`);
      await new Promise((r) => setTimeout(r, interval));
      interval = Math.min(interval * 2, maxIntervalMs);
    }
  }
}

/** How often each alert reached a receiver in an accepted request (Slack: by title in the text). */
function acceptedCounts(alerts: Alert[]): { slack: number[]; json: number[] } {
  const slackTexts = slack.accepted().map((r) => (JSON.parse(r.body) as { text: string }).text);
  const jsonKeys = json.accepted().map((r) => (JSON.parse(r.body) as { idempotency_key: string }).idempotency_key);
  return {
    slack: alerts.map((a) => slackTexts.filter((t) => t.includes(`*${a.title}`)).length),
    json: alerts.map((a) => jsonKeys.filter((k) => k === a.idempotencyKey).length),
  };
}

const origStdout = process.stdout.write.bind(process.stdout);
const origStderr = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  db = await createTestDatabase('alerts');
  await slack.listen();
  await json.listen();
  // Everything this file prints is checked for the URLs' secrets too.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (logLines.push(String(chunk)), origStdout(chunk, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => (logLines.push(String(chunk)), origStderr(chunk, ...rest))) as typeof process.stderr.write;
});

afterEach(() => {
  for (const r of [slack, json]) {
    r.respond = () => 200;
    r.delayMs = 0;
  }
});

afterAll(async () => {
  process.stdout.write = origStdout;
  process.stderr.write = origStderr;
  await slack.close();
  await json.close();
  await db?.drop();
});

describe('sendAlerts', () => {
  it('delivers each alert once to Slack (one message) and the JSON webhook, and nothing on a second call', async () => {
    const alerts = makeAlerts(3, 'once');
    const slackBefore = slack.requests.length;
    const jsonBefore = json.requests.length;
    const first = await runOnce(deps(), alerts);
    expect(first).toEqual({ sent: 6, alreadySent: 0, byChannel: { slack: 3, webhook: 3 } });

    const slackReqs = slack.requests.slice(slackBefore);
    expect(slackReqs).toHaveLength(1);
    expect(slackReqs[0]!.path).toBe(`/services/${SLACK_TOKEN}`);
    expect(JSON.parse(slackReqs[0]!.body)).toEqual({ text: slackText(alerts) });
    const jsonReqs = json.requests.slice(jsonBefore);
    expect(jsonReqs.map((r) => r.headers['idempotency-key'])).toEqual(alerts.map((a) => a.idempotencyKey));
    expect(jsonReqs[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(jsonReqs[0]!.body)).toEqual({
      schema: 'watcher.alert/v1',
      kind: 'freshness_stale',
      level: 'warning',
      title: alerts[0]!.title,
      message: alerts[0]!.message,
      details: { pipeline: 'model.shop.m0', n: 0 },
      idempotency_key: alerts[0]!.idempotencyKey,
      occurred_at: '2026-12-02T11:00:00.000Z',
      links: alerts[0]!.links,
    });
    const rows = await listAlertDeliveries(db.pool);
    const mine = rows.filter((r) => r.idempotency_key.startsWith(`once:${seq}:`));
    expect(mine).toHaveLength(6);
    for (const r of mine) expect(r).toMatchObject({ status: 'delivered', attempts: 1, last_error: null });

    const again = await runOnce(deps(), alerts);
    expect(again).toEqual({ sent: 0, alreadySent: 6, byChannel: { slack: 0, webhook: 0 } });
    expect(slack.requests.length - slackBefore).toBe(1);
    expect(json.requests.length - jsonBefore).toBe(3);
    expect(heartbeats).toBeGreaterThan(0);
  });

  it('a receiver answering 500 for its first requests gets each alert exactly once after retries', async () => {
    const alerts = makeAlerts(4, 'flaky');
    // Slack fails its next 2 requests, the JSON webhook its next 3 (each attempt stops a channel at its first failure).
    const slackFailUntil = slack.requests.length + 2;
    slack.respond = (n) => (n <= slackFailUntil ? 500 : 200);
    const jsonFailUntil = json.requests.length + 3;
    json.respond = (n) => (n <= jsonFailUntil ? 500 : 200);
    const { result, attempts } = await retryLikeTemporal(deps(), alerts);
    expect(attempts).toBeGreaterThan(1);
    expect(result.sent + result.alreadySent).toBe(8);
    expect(acceptedCounts(alerts)).toEqual({ slack: [1, 1, 1, 1], json: [1, 1, 1, 1] });
    const rows = (await listAlertDeliveries(db.pool)).filter((r) => r.idempotency_key.startsWith(`flaky:${seq}:`));
    expect(rows.every((r) => r.status === 'delivered')).toBe(true);
    expect(Math.max(...rows.map((r) => r.attempts))).toBeGreaterThan(1);
    expect(errorTexts.some((t) => t.includes('HTTP 500'))).toBe(true);
  });

  it('a receiver that does not answer within 10 s is retried, and the alert still arrives once', async () => {
    const alerts = makeAlerts(1, 'hang');
    const base = json.requests.length;
    json.respond = (n) => (n === base + 1 ? 'hang' : 200);
    const started = Date.now();
    const { attempts } = await retryLikeTemporal(deps(), alerts);
    expect(attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(errorTexts.some((t) => t.includes('webhook: no answer within 10 s'))).toBe(true);
    expect(acceptedCounts(alerts)).toEqual({ slack: [1], json: [1] });
  }, 60_000);

  it('through Temporal: a receiver down (connection refused) for 30 s then up gets every alert exactly once, and no URL reaches the history', async () => {
    // Take a free port, then leave it closed: connecting is refused until the receiver starts there.
    const down = new Receiver();
    await down.listen();
    const port = down.port;
    await down.close();
    const alerts = makeAlerts(5, 'down');
    const d = deps(port, json.port);
    // A worker of this file's own, with a test workflow that calls sendAlerts with the shipped
    // SEND_ALERTS_ACTIVITY_OPTIONS: Temporal's real retries (1, 2, 4, 8, 16 s ... up to 1 min).
    const quiet = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, log: () => undefined };
    const bundle = await bundleWorkflowCode({ workflowsPath: path.join(PROJECT_ROOT, 'test', 'fixtures', 'alerts-workflow.ts'), logger: quiet });
    const connection = await NativeConnection.connect({ address: stack().temporalAddress });
    const taskQueue = uniqueName('alerts');
    const worker = await Worker.create({ connection, namespace: stack().namespace, taskQueue, workflowBundle: bundle, activities: { sendAlerts: sendAlerts.bind(null, d) } });
    const { client, close } = await connectTestClient();
    const slackBefore = slack.requests.length;
    const startedAt = Date.now();
    const up = setTimeout(() => void down.listen(port), 30_000);
    try {
      await worker.runUntil(async () => {
        const handle = await client.workflow.start('sendAlertsTestWorkflow', { args: [alerts], taskQueue, workflowId: uniqueName('alerts-wf') });
        // While the receiver is down, the activity's last failure says why, without the URL.
        let lastFailure: string | undefined;
        for (let i = 0; i < 50 && !lastFailure; i++) {
          await new Promise((r) => setTimeout(r, 200));
          lastFailure = (await handle.describe()).raw.pendingActivities?.[0]?.lastFailure?.message ?? undefined;
        }
        expect(lastFailure).toMatch(/slack: connection refused \(ECONNREFUSED\)/);
        errorTexts.push(lastFailure!);
        const result = (await handle.result()) as SendAlertsResult;
        expect(Date.now() - startedAt).toBeGreaterThanOrEqual(30_000);
        // The last attempt sent the Slack message; the JSON webhook had them all from the first.
        expect(result).toEqual({ sent: 5, alreadySent: 5, byChannel: { slack: 5, webhook: 0 } });
        const history = JSON.stringify((await handle.fetchHistory()).events);
        errorTexts.push(history);
        for (const s of SECRETS) expect(history).not.toContain(s);
      });
    } finally {
      clearTimeout(up);
      await close();
      await connection.close();
    }
    expect(acceptedCounts(alerts).json).toEqual([1, 1, 1, 1, 1]);
    expect(slack.requests.length).toBe(slackBefore);
    const texts = down.accepted().map((r) => (JSON.parse(r.body) as { text: string }).text);
    expect(texts).toHaveLength(1);
    for (const a of alerts) expect(texts[0]).toContain(`*${a.title}:*`);
    const rows = (await listAlertDeliveries(db.pool, { channel: 'slack' })).filter((r) => r.idempotency_key.startsWith(`down:${seq}:`));
    expect(rows.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered', 'delivered']);
    expect(rows[0]!.attempts).toBeGreaterThan(3);
    await down.close();
  }, 150_000);

  it('two attempts racing for the same alerts deliver each once (the ledger claim)', async () => {
    const alerts = makeAlerts(3, 'race');
    // Slow receivers, so both attempts are in flight together.
    slack.delayMs = 300;
    json.delayMs = 300;
    const [a, b] = await Promise.all([retryLikeTemporal(deps(), alerts), retryLikeTemporal(deps(), alerts)]);
    // Each ends having seen all 6 deliveries made (by itself, in an earlier attempt, or by the other)...
    expect(a.result.sent + a.result.alreadySent).toBe(6);
    expect(b.result.sent + b.result.alreadySent).toBe(6);
    // ...one of them met the other's claim and retried instead of sending again...
    expect(errorTexts.some((t) => t.includes('being sent by another attempt'))).toBe(true);
    // ...and the receivers got each alert once.
    expect(acceptedCounts(alerts)).toEqual({ slack: [1, 1, 1], json: [1, 1, 1] });
  });

  it('a 4xx is a non-retryable failure naming the channel and status, recorded, never the URL', async () => {
    const alerts = makeAlerts(2, 'gone');
    slack.respond = () => 404;
    const err = await runOnce(deps(), alerts).then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    errorTexts.push(failure.message);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('AlertRejected');
    expect(failure.message).toMatch(/channel slack answered HTTP 404 for 2 alert\(s\)/);
    // The receiver echoed its path in the body: redacted.
    expect(failure.message).toContain('<slack URL redacted>');
    const rows = (await listAlertDeliveries(db.pool)).filter((r) => r.idempotency_key.startsWith(`gone:${seq}:`));
    expect(rows.filter((r) => r.channel === 'slack').map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(rows.filter((r) => r.channel === 'webhook').map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(rows.find((r) => r.channel === 'slack')!.last_error).toMatch(/^HTTP 404: failed at <slack URL redacted>/);
  });

  it('rejects a bad alert at once, naming the field', async () => {
    const [bad] = makeAlerts(1, 'bad');
    const err = await runOnce(deps(), [{ ...bad!, occurredAt: 'not a time' }])
      .then(
        () => undefined,
        (e: unknown) => e as ApplicationFailure,
      );
    expect(err?.nonRetryable).toBe(true);
    expect(err?.type).toBe('InvalidInput');
    expect(err?.message).toMatch(/^alerts\[0\]\.occurredAt: /);
  });

  it('never shows a webhook URL in an error, a log line or the ledger', async () => {
    const rows = await listAlertDeliveries(db.pool);
    const texts = [...errorTexts, ...logLines, ...rows.map((r) => r.last_error ?? '')];
    expect(errorTexts.length).toBeGreaterThan(5);
    expect(logLines.some((l) => l.startsWith('WARN alert channel'))).toBe(true);
    for (const t of texts) for (const s of SECRETS) expect(t).not.toContain(s);
  });
});

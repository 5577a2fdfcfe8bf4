// The notifier's pure parts: etl-watcher's Slack text, the watcher.alert/v1 JSON body, the
// channel configuration (errors name the variable, never the URL), redaction, and delivery
// decisions against an in-memory ledger with a fake transport.
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/monitoring/alerts.js';
import {
  alertPayloadV1,
  createNotifier,
  idempotencyHeader,
  loadNotifierConfig,
  memoryLedger,
  NotifierConfigError,
  parseAlerts,
  redactSecrets,
  slackBatches,
  slackText,
  type DeliveryLedger,
  type SendOutcome,
} from '../../src/monitoring/notifier.js';

const SECRET = 'https://hooks.slack.com/services/T000/B000/s3cr3tT0ken';

function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    kind: 'freshness_stale',
    level: 'warning',
    title: 'Freshness: model.shop.orders is stale',
    message: 'No new data for 2 hours (threshold 1 hour)',
    details: { pipeline: 'model.shop.orders', pipeline_id: 12, last_dml: '2026-12-02T09:00:00Z', muted: false, note: null },
    idempotencyKey: 'freshness:12:2026-12-02T09:00:00Z',
    occurredAt: '2026-12-02T11:16:51.123Z',
    ...overrides,
  };
}

function configError(env: NodeJS.ProcessEnv, files: Record<string, string> = {}): string {
  try {
    loadNotifierConfig(env, (f) => {
      const text = files[f];
      if (text === undefined) throw Object.assign(new Error(`ENOENT ${f}`), { code: 'ENOENT' });
      return text;
    });
  } catch (err) {
    expect(err).toBeInstanceOf(NotifierConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a NotifierConfigError');
}

describe('Slack payload (etl-watcher create_slack_message)', () => {
  it('formats one alert exactly as etl-watcher does', () => {
    expect(slackText([alert()])).toBe(
      [
        '⚠️ *WARNING*',
        '*Freshness: model.shop.orders is stale*',
        '*Timestamp:* 2026-12-02 11:16:51 UTC',
        '*Message:* No new data for 2 hours (threshold 1 hour)',
        '',
        '*Details:*',
        '• *pipeline:* model.shop.orders',
        '• *pipeline_id:* 12',
        '• *last_dml:* 2026-12-02T09:00:00Z',
        '• *muted:* false',
        '• *note:* null',
      ].join('\n'),
    );
  });

  it('has no Details section without details, and maps each level to its emoji', () => {
    expect(slackText([alert({ level: 'error', details: {} })])).toBe(
      '❌ *ERROR*\n*Freshness: model.shop.orders is stale*\n*Timestamp:* 2026-12-02 11:16:51 UTC\n*Message:* No new data for 2 hours (threshold 1 hour)',
    );
    expect(slackText([alert({ level: 'info', details: {} })]).startsWith('ℹ️ *INFO*\n')).toBe(true);
    expect(slackText([alert({ level: 'critical', details: {} })]).startsWith('🚨 *CRITICAL*\n')).toBe(true);
  });

  it('converts an offset timestamp to UTC', () => {
    expect(slackText([alert({ occurredAt: '2026-12-02T13:00:00+02:00', details: {} })])).toContain('*Timestamp:* 2026-12-02 11:00:00 UTC');
  });

  it('escapes what Slack would read as mentions or links, and writes links as Slack links', () => {
    const text = slackText([alert({ message: 'failed: <!channel> a & b', details: {}, links: { 'Temporal UI': 'http://localhost:8233/x' } })]);
    expect(text).toContain('*Message:* failed: &lt;!channel&gt; a &amp; b');
    expect(text).toContain('• *Temporal UI:* <http://localhost:8233/x|Temporal UI>');
  });

  it('lists several alerts in one message, as etl-watcher does for a check run', () => {
    const a = alert();
    const b = alert({ kind: 'build_failed', level: 'error', title: 'Build b-1 failed', message: '2 nodes failed', details: { build_id: 'b-1' }, idempotencyKey: 'build:b-1', occurredAt: '2026-12-02T11:20:00Z' });
    expect(slackText([a, b])).toBe(
      [
        '❌ *ERROR*',
        '*Watcher: 2 alerts*',
        '*Timestamp:* 2026-12-02 11:20:00 UTC',
        '*Message:* 1 freshness stale, 1 build failed',
        '',
        '*Details:*',
        '• *Freshness: model.shop.orders is stale:* No new data for 2 hours (threshold 1 hour)',
        '\t• *pipeline:* model.shop.orders',
        '\t• *pipeline_id:* 12',
        '\t• *last_dml:* 2026-12-02T09:00:00Z',
        '\t• *muted:* false',
        '\t• *note:* null',
        '• *Build b-1 failed:* 2 nodes failed',
        '\t• *build_id:* b-1',
      ].join('\n'),
    );
  });

  it('splits a large batch into messages of at most 20 alerts', () => {
    const many = Array.from({ length: 45 }, (_, i) => alert({ idempotencyKey: `k${i}` }));
    expect(slackBatches(many).map((b) => b.length)).toEqual([20, 20, 5]);
    const big = Array.from({ length: 5 }, (_, i) => alert({ idempotencyKey: `b${i}`, message: 'x'.repeat(12_000) }));
    for (const b of slackBatches(big)) expect(slackText(b).length).toBeLessThanOrEqual(30_000);
  });
});

describe('JSON webhook payload (watcher.alert/v1)', () => {
  it('has exactly the documented fields', () => {
    expect(alertPayloadV1(alert({ occurredAt: '2026-12-02T13:16:51+02:00', links: { ui: 'http://ui' } }))).toEqual({
      schema: 'watcher.alert/v1',
      kind: 'freshness_stale',
      level: 'warning',
      title: 'Freshness: model.shop.orders is stale',
      message: 'No new data for 2 hours (threshold 1 hour)',
      details: { pipeline: 'model.shop.orders', pipeline_id: 12, last_dml: '2026-12-02T09:00:00Z', muted: false, note: null },
      idempotency_key: 'freshness:12:2026-12-02T09:00:00Z',
      occurred_at: '2026-12-02T11:16:51.000Z',
      links: { ui: 'http://ui' },
    });
    expect(alertPayloadV1(alert()).links).toEqual({});
  });

  it('sends the key as the Idempotency-Key header, percent-encoded only when not plain ASCII', () => {
    expect(idempotencyHeader('freshness:12:2026-12-02T09:00:00Z')).toBe('freshness:12:2026-12-02T09:00:00Z');
    expect(idempotencyHeader('node:model.shöp')).toBe('node%3Amodel.sh%C3%B6p');
  });
});

describe('alert input', () => {
  it('names the field that is wrong', () => {
    expect(() => parseAlerts([alert(), { ...alert(), occurredAt: 'yesterday' }])).toThrow(/^alerts\[1\]\.occurredAt: /);
    expect(() => parseAlerts([{ ...alert(), kind: 'nope' }])).toThrow(/^alerts\[0\]\.kind: /);
    expect(() => parseAlerts([{ ...alert(), idempotencyKey: 'a\nb' }])).toThrow(/^alerts\[0\]\.idempotencyKey: must not contain control characters/);
  });
});

describe('channel configuration', () => {
  it('logs to stdout when nothing else is configured, so no alert is dropped silently', () => {
    expect(loadNotifierConfig({}).channels).toEqual([{ type: 'log', name: 'log', stream: 'stdout' }]);
    expect(loadNotifierConfig({ WATCHER_SLACK_WEBHOOK_URL: SECRET }).channels.map((c) => c.name)).toEqual(['slack']);
    expect(loadNotifierConfig({ WATCHER_SLACK_WEBHOOK_URL: SECRET, WATCHER_ALERT_LOG: 'stderr' }).channels.map((c) => c.name)).toEqual(['slack', 'log']);
  });

  it('reads both webhooks from the environment', () => {
    const config = loadNotifierConfig({ WATCHER_SLACK_WEBHOOK_URL: SECRET, WATCHER_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook?token=abc' });
    expect(config.channels).toEqual([
      { type: 'slack', name: 'slack', url: SECRET, source: 'WATCHER_SLACK_WEBHOOK_URL' },
      { type: 'webhook', name: 'webhook', url: 'http://127.0.0.1:9/hook?token=abc', source: 'WATCHER_ALERT_WEBHOOK_URL' },
    ]);
  });

  it('refuses a URL that does not parse, naming the variable and never showing the value', () => {
    const bad = 'hooks.slack.com/services/T000/s3cr3t';
    const m = configError({ WATCHER_SLACK_WEBHOOK_URL: bad });
    expect(m).toMatch(/^WATCHER_SLACK_WEBHOOK_URL is not a valid URL/);
    expect(m).not.toContain('s3cr3t');
    const ftp = configError({ WATCHER_ALERT_WEBHOOK_URL: 'ftp://example.test/s3cr3t' });
    expect(ftp).toMatch(/^WATCHER_ALERT_WEBHOOK_URL must be an http or https URL, not ftp:/);
    expect(ftp).not.toContain('s3cr3t');
  });

  it('refuses a log setting it does not know, and no channel at all', () => {
    expect(configError({ WATCHER_ALERT_LOG: 'maybe' })).toMatch(/^WATCHER_ALERT_LOG must be one of/);
    expect(configError({ WATCHER_ALERT_LOG: 'off' })).toMatch(/^WATCHER_ALERT_LOG is off and no other alert channel is configured/);
    expect(loadNotifierConfig({ WATCHER_ALERT_LOG: 'off', WATCHER_ALERT_WEBHOOK_URL: 'https://x.test/h' }).channels.map((c) => c.name)).toEqual(['webhook']);
  });

  it('reads channels from a YAML file, with URLs from variables it names', () => {
    const file = [
      'version: 1',
      'channels:',
      '  - name: oncall',
      '    type: webhook',
      '    url_env: ONCALL_HOOK',
      '    kinds: [build_failed, node_failed]',
      '    min_level: error',
      '  - name: team',
      '    type: slack',
      `    url: ${SECRET}`,
      '  - name: audit',
      '    type: log',
      '    stream: stderr',
    ].join('\n');
    const config = loadNotifierConfig({ WATCHER_ALERTS_FILE: '/etc/w.yml', ONCALL_HOOK: 'https://oncall.test/in' }, () => file);
    expect(config.channels).toEqual([
      { type: 'webhook', name: 'oncall', url: 'https://oncall.test/in', source: 'ONCALL_HOOK', kinds: ['build_failed', 'node_failed'], minLevel: 'error' },
      { type: 'slack', name: 'team', url: SECRET, source: 'WATCHER_ALERTS_FILE (/etc/w.yml): channels[1].url' },
      { type: 'log', name: 'audit', stream: 'stderr' },
    ]);
  });

  it('names the file and the field that is wrong, never the URL', () => {
    const env = { WATCHER_ALERTS_FILE: 'a.yml' };
    expect(configError(env, { 'a.yml': 'channels:\n  - name: x\n    type: pager\n' })).toMatch(/^WATCHER_ALERTS_FILE \(a\.yml\): channels\[0\]\.type: /);
    expect(configError(env, { 'a.yml': 'channels:\n  - name: x\n    type: slack\n' })).toBe('WATCHER_ALERTS_FILE (a.yml): channels[0]: give exactly one of url and url_env');
    expect(configError(env, { 'a.yml': 'channels:\n  - name: x\n    type: slack\n    url_env: NOPE\n' })).toBe('WATCHER_ALERTS_FILE (a.yml): channels[0].url_env: the variable NOPE is not set');
    const m = configError(env, { 'a.yml': 'channels:\n  - name: x\n    type: slack\n    url: "not a url s3cr3t"\n' });
    expect(m).toMatch(/^WATCHER_ALERTS_FILE \(a\.yml\): channels\[0\]\.url is not a valid URL/);
    expect(m).not.toContain('s3cr3t');
    expect(configError(env, { 'a.yml': 'channels: [ {name: x, url: "s3cr3t' })).toMatch(/^WATCHER_ALERTS_FILE \(a\.yml\) is not valid YAML or JSON/);
    expect(configError(env, { 'a.yml': 'channels: [ {name: x, url: "s3cr3t' })).not.toContain('s3cr3t');
    expect(configError(env)).toBe('WATCHER_ALERTS_FILE (a.yml) cannot be read: ENOENT');
    expect(configError({ ...env, WATCHER_SLACK_WEBHOOK_URL: SECRET }, { 'a.yml': '{"channels": [{"name": "slack", "type": "log"}]}' })).toMatch(/channel name "slack" is used twice/);
  });
});

describe('redaction', () => {
  it('removes every form of a webhook URL from a text', () => {
    const { channels } = loadNotifierConfig({ WATCHER_SLACK_WEBHOOK_URL: SECRET, WATCHER_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/h%20ook?token=abc' });
    const text = `posting to ${SECRET} failed; path /services/T000/B000/s3cr3tT0ken; other http://127.0.0.1:9/h ook?token=abc and /h%20ook?token=abc`;
    const out = redactSecrets(text, channels);
    expect(out).not.toContain('s3cr3t');
    expect(out).not.toContain('token=abc');
    expect(out).toContain('<slack URL redacted>');
    expect(out).toContain('<webhook URL redacted>');
  });
});

describe('delivery decisions (in-memory ledger, fake transport)', () => {
  const config = loadNotifierConfig({ WATCHER_SLACK_WEBHOOK_URL: SECRET, WATCHER_ALERT_WEBHOOK_URL: 'https://json.test/in' });
  const a = alert({ idempotencyKey: 'a' });
  const b = alert({ idempotencyKey: 'b', kind: 'anomaly' });

  it('sends each alert once per channel, and nothing the second time', async () => {
    const calls: Array<{ url: string; body: unknown; headers: Record<string, string> }> = [];
    const post = async (url: string, body: unknown, headers: Record<string, string>): Promise<SendOutcome> => {
      calls.push({ url, body, headers });
      return { ok: true };
    };
    const notifier = createNotifier(config);
    const ledger = memoryLedger();
    const first = await notifier.deliver([a, b, a], ledger, { post });
    expect(first).toEqual({ sent: 4, alreadySent: 0, byChannel: { slack: 2, webhook: 2 }, transient: [], permanent: [], unrouted: [] });
    expect(calls.filter((c) => c.url === SECRET)).toHaveLength(1); // one Slack message for the batch
    expect(calls.filter((c) => c.url !== SECRET).map((c) => c.headers['idempotency-key'])).toEqual(['a', 'b']);
    const second = await notifier.deliver([a, b], ledger, { post });
    expect(second).toMatchObject({ sent: 0, alreadySent: 4, byChannel: { slack: 0, webhook: 0 } });
    expect(calls).toHaveLength(3);
  });

  it('stops a channel at its first transient failure, keeps a 4xx permanent, and redacts both', async () => {
    const post = async (url: string): Promise<SendOutcome> =>
      url === SECRET ? { ok: false, permanent: true, status: 404, error: `HTTP 404: no_service at ${SECRET}` } : { ok: false, permanent: false, error: 'HTTP 500: down' };
    const report = await createNotifier(config).deliver([a, b], memoryLedger(), { post });
    expect(report.sent).toBe(0);
    expect(report.permanent).toEqual([{ channel: 'slack', status: 404, error: 'HTTP 404: no_service at <slack URL redacted>', undelivered: 2 }]);
    expect(report.transient).toEqual([{ channel: 'webhook', error: 'HTTP 500: down', undelivered: 2 }]);
  });

  it('sends nothing while the ledger cannot say what was delivered (Postgres away)', async () => {
    let posts = 0;
    const post = async (): Promise<SendOutcome> => (posts++, { ok: true });
    const down: DeliveryLedger = { ...memoryLedger(), claim: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) };
    await expect(createNotifier(config).deliver([a], down, { post })).rejects.toThrow(/ECONNREFUSED/);
    expect(posts).toBe(0);
  });

  it('does not send again on the same worker when recording a delivery failed', async () => {
    let posts = 0;
    const post = async (): Promise<SendOutcome> => (posts++, { ok: true });
    const inner = memoryLedger();
    let failNext = true;
    const flaky: DeliveryLedger = {
      ...inner,
      markDelivered: (channel, keys) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('Connection terminated unexpectedly'));
        }
        return inner.markDelivered(channel, keys);
      },
    };
    const notifier = createNotifier(loadNotifierConfig({ WATCHER_ALERT_WEBHOOK_URL: 'https://json.test/in' }));
    await expect(notifier.deliver([a], flaky, { post })).rejects.toThrow(/terminated/);
    expect(posts).toBe(1);
    // The retry writes what was delivered first, then finds nothing left to send.
    expect(await notifier.deliver([a], flaky, { post })).toMatchObject({ sent: 0, alreadySent: 1 });
    expect(posts).toBe(1);
  });

  it('routes by kind and level', async () => {
    const routed = loadNotifierConfig({ WATCHER_ALERTS_FILE: 'f' }, () => '{"channels": [{"name": "errors", "type": "log", "min_level": "error"}, {"name": "anomalies", "type": "log", "kinds": ["anomaly"]}]}');
    const lines: string[] = [];
    const report = await createNotifier(routed).deliver([a, b, alert({ idempotencyKey: 'c', level: 'critical' })], memoryLedger(), { write: (_s, l) => lines.push(l) });
    expect(report.byChannel).toEqual({ errors: 1, anomalies: 1 });
    expect(report.unrouted).toEqual(['a']);
    expect(lines.map((l) => (JSON.parse(l) as { idempotency_key: string }).idempotency_key).sort()).toEqual(['b', 'c']);
  });
});

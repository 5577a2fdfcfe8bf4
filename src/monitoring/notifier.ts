// The one notifier: which channels alerts go to (environment and/or WATCHER_ALERTS_FILE), what
// each channel receives (etl-watcher's Slack text, Watcher's versioned JSON, a log line), and
// delivery exactly once per (channel, idempotency key) against a ledger (Postgres in a worker,
// see src/store/alerts.ts). The activity (activities/alerts.ts) only adds heartbeats and turns
// the report into Temporal failures.
//
// Webhook URLs are secrets: they live only in this process (read from its environment or file),
// never in workflow inputs, results or logs; every error text that could carry one is redacted.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ALERT_KINDS, ALERT_LEVELS, type Alert, type AlertKind, type AlertLevel } from './alerts.js';

// ---------------------------------------------------------------------------------------------
// Configuration

export type ChannelType = 'slack' | 'webhook' | 'log';

interface ChannelBase {
  /** Unique; the `channel` column of alert_delivery, and the key of `byChannel`. */
  name: string;
  /** Only these kinds (all when absent). */
  kinds?: AlertKind[];
  /** Only alerts at or above this level. */
  minLevel?: AlertLevel;
}
export interface SlackChannel extends ChannelBase {
  type: 'slack';
  url: string;
  /** Where the URL came from (a variable name or `file channels[i].url`): errors name it, never the URL. */
  source: string;
}
export interface WebhookChannel extends ChannelBase {
  type: 'webhook';
  url: string;
  source: string;
}
export interface LogChannel extends ChannelBase {
  type: 'log';
  stream: 'stdout' | 'stderr';
}
export type Channel = SlackChannel | WebhookChannel | LogChannel;

export interface NotifierConfig {
  channels: Channel[];
}

/** A configuration that does not parse: the message names the variable (or file field), never a URL. */
export class NotifierConfigError extends Error {
  override name = 'NotifierConfigError';
}

const CHANNEL_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const ON = new Set(['1', 'true', 'on', 'yes', 'stdout']);
const OFF = new Set(['0', 'false', 'off', 'no']);

/** A webhook URL, checked without ever echoing it. `where` names the variable or field. */
export function parseWebhookUrl(raw: string, where: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new NotifierConfigError(`${where} is not a valid URL (its value is secret and not shown)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NotifierConfigError(`${where} must be an http or https URL, not ${url.protocol.replace(/:$/, '')}: (its value is secret and not shown)`);
  }
  return url.href;
}

// The file format (YAML or JSON). A URL can be written in the file or, better, named by the
// variable that holds it (`url_env`), so the file itself can be committed.
const FileChannelSchema = z
  .object({
    name: z.string().regex(CHANNEL_NAME, 'must be 1-64 of a-z 0-9 _ . - (starting with a letter or digit)'),
    type: z.enum(['slack', 'webhook', 'log']),
    url: z.string().optional(),
    url_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    stream: z.enum(['stdout', 'stderr']).optional(),
    kinds: z.array(z.enum(ALERT_KINDS)).min(1).optional(),
    min_level: z.enum(ALERT_LEVELS).optional(),
  })
  .strict();
const AlertsFileSchema = z.object({ version: z.literal(1).optional(), channels: z.array(FileChannelSchema) }).strict();

function zodWhere(issue: z.core.$ZodIssue): string {
  return issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

function channelsFromFile(file: string, env: NodeJS.ProcessEnv, read: (f: string) => string): Channel[] {
  const where = `WATCHER_ALERTS_FILE (${file})`;
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    throw new NotifierConfigError(`${where} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON: one parser for both
  } catch (err) {
    // The parser's message quotes the offending line, which may hold a URL: keep only its position.
    const pos = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw new NotifierConfigError(`${where} is not valid YAML or JSON${pos ? ` (line ${pos})` : ''}`);
  }
  const parsed = AlertsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NotifierConfigError(`${where}: ${zodWhere(issue) || '(top level)'}: ${issue.message}`);
  }
  return parsed.data.channels.map((c, i): Channel => {
    const at = `${where}: channels[${i}]`;
    const filters = { ...(c.kinds ? { kinds: c.kinds } : {}), ...(c.min_level ? { minLevel: c.min_level } : {}) };
    if (c.type === 'log') {
      if (c.url !== undefined || c.url_env !== undefined) throw new NotifierConfigError(`${at}: a log channel takes no url`);
      return { type: 'log', name: c.name, stream: c.stream ?? 'stdout', ...filters };
    }
    if (c.stream !== undefined) throw new NotifierConfigError(`${at}.stream: only a log channel has a stream`);
    if ((c.url === undefined) === (c.url_env === undefined)) throw new NotifierConfigError(`${at}: give exactly one of url and url_env`);
    let source: string;
    let value: string | undefined;
    if (c.url_env !== undefined) {
      source = c.url_env;
      value = env[c.url_env];
      if (!value) throw new NotifierConfigError(`${at}.url_env: the variable ${c.url_env} is not set`);
    } else {
      source = `${at}.url`;
      value = c.url;
    }
    return { type: c.type, name: c.name, url: parseWebhookUrl(value!, c.url_env !== undefined ? `${c.url_env} (${at}.url_env)` : `${at}.url`), source, ...filters };
  });
}

/**
 * The channels, from the environment and WATCHER_ALERTS_FILE:
 * - WATCHER_SLACK_WEBHOOK_URL: channel `slack`, a Slack incoming webhook;
 * - WATCHER_ALERT_WEBHOOK_URL: channel `webhook`, the JSON webhook (schema watcher.alert/v1);
 * - WATCHER_ALERT_LOG: channel `log`, one JSON line per alert on stdout (`stderr` for stderr,
 *   `off` to turn it off). Unset, it is on exactly when no other channel is configured, so an
 *   alert is never dropped without a trace; `off` with no other channel is refused.
 * Throws NotifierConfigError naming the variable (or the file's field); never shows a URL.
 */
export function loadNotifierConfig(env: NodeJS.ProcessEnv = process.env, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): NotifierConfig {
  const channels: Channel[] = [];
  const slack = env.WATCHER_SLACK_WEBHOOK_URL;
  if (slack) channels.push({ type: 'slack', name: 'slack', url: parseWebhookUrl(slack, 'WATCHER_SLACK_WEBHOOK_URL'), source: 'WATCHER_SLACK_WEBHOOK_URL' });
  const hook = env.WATCHER_ALERT_WEBHOOK_URL;
  if (hook) channels.push({ type: 'webhook', name: 'webhook', url: parseWebhookUrl(hook, 'WATCHER_ALERT_WEBHOOK_URL'), source: 'WATCHER_ALERT_WEBHOOK_URL' });
  if (env.WATCHER_ALERTS_FILE) {
    for (const c of channelsFromFile(env.WATCHER_ALERTS_FILE, env, read)) {
      if (channels.some((o) => o.name === c.name)) {
        throw new NotifierConfigError(`WATCHER_ALERTS_FILE (${env.WATCHER_ALERTS_FILE}): channel name ${JSON.stringify(c.name)} is used twice (slack and webhook are taken by the environment's channels)`);
      }
      channels.push(c);
    }
  }
  const log = env.WATCHER_ALERT_LOG?.trim().toLowerCase();
  if (log) {
    if (OFF.has(log)) {
      if (channels.length === 0) {
        throw new NotifierConfigError('WATCHER_ALERT_LOG is off and no other alert channel is configured (WATCHER_SLACK_WEBHOOK_URL, WATCHER_ALERT_WEBHOOK_URL, WATCHER_ALERTS_FILE): alerts would be dropped');
      }
    } else if (ON.has(log) || log === 'stderr') {
      if (!channels.some((c) => c.name === 'log')) channels.push({ type: 'log', name: 'log', stream: log === 'stderr' ? 'stderr' : 'stdout' });
    } else {
      throw new NotifierConfigError(`WATCHER_ALERT_LOG must be one of on, off, stdout, stderr (or 1/0, true/false), not ${JSON.stringify(env.WATCHER_ALERT_LOG)}`);
    }
  } else if (channels.length === 0) {
    channels.push({ type: 'log', name: 'log', stream: 'stdout' });
  }
  return { channels };
}

/** What may be said about the configuration (no URLs): for logs and `watcher` commands. */
export function describeChannels(config: NotifierConfig): string[] {
  return config.channels.map((c) => (c.type === 'log' ? `${c.name} (log, ${c.stream})` : `${c.name} (${c.type}, URL from ${c.source})`));
}

// ---------------------------------------------------------------------------------------------
// Input

/** Idempotency keys end up in a primary key and an HTTP header: bounded, no control characters. */
export const AlertSchema = z
  .object({
    kind: z.enum(ALERT_KINDS),
    level: z.enum(ALERT_LEVELS),
    title: z.string().min(1).max(1_000),
    message: z.string().max(20_000),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    idempotencyKey: z
      .string()
      .min(1)
      .max(500)
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters'),
    occurredAt: z.iso.datetime({ offset: true }),
    links: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/** Validate a batch; the error names the field, e.g. `alerts[2].occurredAt`. */
export function parseAlerts(input: unknown): Alert[] {
  const parsed = z.array(AlertSchema).safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  throw new TypeError(`alerts${where}: ${issue.message}`);
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** etl-watcher's emojis (src/notifier.py); it has no "critical", so that one gets a siren. */
const LEVEL_EMOJI: Record<AlertLevel, string> = { info: 'ℹ️', warning: '⚠️', error: '❌', critical: '🚨' };
const LEVEL_RANK: Record<AlertLevel, number> = { info: 0, warning: 1, error: 2, critical: 3 };
const KIND_LABEL: Record<AlertKind, string> = {
  build_failed: 'build failed',
  node_failed: 'node failed',
  freshness_stale: 'freshness stale',
  timeliness_late: 'timeliness late',
  anomaly: 'anomaly',
  failure_rate: 'failure rate',
};

/** `2026-12-02 11:16:51 UTC`: etl-watcher's `YYYY-MM-DD HH:mm:ss z` in UTC. */
export function slackTimestamp(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Slack's mrkdwn reads `<...>` as links and mentions (`<!channel>`): escape what the alert says. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function valueText(v: string | number | boolean | null): string {
  return v === null ? 'null' : String(v);
}

function detailLines(alert: Alert, bullet: string): string[] {
  const lines = Object.entries(alert.details).map(([k, v]) => `${bullet}*${esc(k)}:* ${esc(valueText(v))}`);
  for (const [k, url] of Object.entries(alert.links ?? {})) lines.push(`${bullet}*${esc(k)}:* <${url.replace(/[<>|]/g, encodeURIComponent)}|${esc(k)}>`);
  return lines;
}

/** One alert, exactly etl-watcher's `create_slack_message` layout. */
function slackTextOne(alert: Alert): string {
  const lines = [`${LEVEL_EMOJI[alert.level]} *${alert.level.toUpperCase()}*`, `*${esc(alert.title)}*`, `*Timestamp:* ${slackTimestamp(alert.occurredAt)}`, `*Message:* ${esc(alert.message)}`];
  const details = detailLines(alert, '• ');
  if (details.length > 0) lines.push('\n*Details:*', ...details);
  return lines.join('\n');
}

/**
 * The Slack text for a batch. One alert: etl-watcher's message as is. Several: one message the
 * way etl-watcher reports a check run (its highest level, a count as the title, the newest
 * finding's time), each alert a detail bullet with its own facts indented under it.
 */
export function slackText(alerts: Alert[]): string {
  if (alerts.length === 1) return slackTextOne(alerts[0]!);
  const top = alerts.reduce((a, b) => (LEVEL_RANK[b.level] > LEVEL_RANK[a.level] ? b : a)).level;
  const newest = alerts.reduce((a, b) => (Date.parse(b.occurredAt) > Date.parse(a.occurredAt) ? b : a)).occurredAt;
  const counts = new Map<AlertKind, number>();
  for (const a of alerts) counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
  const summary = [...counts].map(([k, n]) => `${n} ${KIND_LABEL[k]}`).join(', ');
  const lines = [`${LEVEL_EMOJI[top]} *${top.toUpperCase()}*`, `*Watcher: ${alerts.length} alerts*`, `*Timestamp:* ${slackTimestamp(newest)}`, `*Message:* ${summary}`, '\n*Details:*'];
  for (const a of alerts) {
    lines.push(`• *${esc(a.title)}:* ${esc(a.message)}`, ...detailLines(a, '\t• '));
  }
  return lines.join('\n');
}

/** Slack truncates a message past 40,000 characters: a batch is split well below that. */
export const SLACK_MAX_ALERTS_PER_MESSAGE = 20;
export const SLACK_MAX_TEXT = 30_000;

/** Split a batch into Slack messages (each a whole number of alerts). */
export function slackBatches(alerts: Alert[]): Alert[][] {
  const out: Alert[][] = [];
  let cur: Alert[] = [];
  for (const a of alerts) {
    const next = [...cur, a];
    if (cur.length > 0 && (next.length > SLACK_MAX_ALERTS_PER_MESSAGE || slackText(next).length > SLACK_MAX_TEXT)) {
      out.push(cur);
      cur = [a];
    } else cur = next;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export const ALERT_SCHEMA_V1 = 'watcher.alert/v1';

/**
 * The JSON webhook's body, schema `watcher.alert/v1`. Stable: fields are only ever added under a
 * new version. The same alert always gives the same body (so a retried POST is byte-identical).
 */
export interface AlertPayloadV1 {
  schema: typeof ALERT_SCHEMA_V1;
  kind: AlertKind;
  level: AlertLevel;
  title: string;
  message: string;
  details: Record<string, string | number | boolean | null>;
  idempotency_key: string;
  /** ISO 8601, UTC (`Z`). */
  occurred_at: string;
  links: Record<string, string>;
}

export function alertPayloadV1(alert: Alert): AlertPayloadV1 {
  return {
    schema: ALERT_SCHEMA_V1,
    kind: alert.kind,
    level: alert.level,
    title: alert.title,
    message: alert.message,
    details: alert.details,
    idempotency_key: alert.idempotencyKey,
    occurred_at: new Date(alert.occurredAt).toISOString(),
    links: alert.links ?? {},
  };
}

/** An HTTP header carries visible ASCII only: other keys go percent-encoded (the body has them as they are). */
export function idempotencyHeader(key: string): string {
  return /^[\x20-\x7e]+$/.test(key) ? key : encodeURIComponent(key);
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** Replace every form of each secret URL (as given, normalised, its path) in `text`. */
export function redactSecrets(text: string, channels: readonly Channel[]): string {
  let out = text;
  for (const c of channels) {
    if (c.type === 'log') continue;
    const forms = new Set<string>([c.url]);
    try {
      const u = new URL(c.url);
      forms.add(u.href);
      forms.add(decodeURIComponent(u.href));
      // The path and query of a webhook are its token (Slack: /services/T../B../xxxx).
      if (u.pathname.length > 1 || u.search) forms.add(`${u.pathname}${u.search}`);
    } catch {
      // parseWebhookUrl accepted it, so this does not happen; the raw form is still redacted.
    }
    for (const f of [...forms].sort((a, b) => b.length - a.length)) out = out.split(f).join(`<${c.name} URL redacted>`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Transport

/** Per request, as etl-watcher (10 s). */
export const REQUEST_TIMEOUT_MS = 10_000;

export type SendOutcome =
  | { ok: true }
  | { ok: false; permanent: false; error: string; retryAfterMs?: number }
  | { ok: false; permanent: true; status: number; error: string };

function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Describe a fetch failure by its cause's code only: undici's messages can quote the address. */
function networkError(err: unknown, timedOut: boolean): string {
  if (timedOut) return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = (err as { cause?: { code?: string; name?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code) return `network error (${code})`;
  return `network error (${cause?.name ?? (err as Error).name ?? 'unknown'})`;
}

/**
 * POST a JSON body. 2xx: delivered. 408, 429, 5xx, timeout, network error: transient (retry).
 * Any other 4xx (and 3xx: a webhook does not redirect): permanent.
 */
export async function postJson(url: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<SendOutcome> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'watcher-notifier', ...headers },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
  } catch (err) {
    if (signal?.aborted) throw err; // the activity was cancelled: not a delivery outcome
    return { ok: false, permanent: false, error: networkError(err, timeout.aborted) };
  }
  // Read (and so release) the body; a short excerpt helps (Slack says e.g. `no_service`).
  const text = await res.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const excerpt = text.trim().slice(0, 200).replace(/\s+/g, ' ');
  const error = `HTTP ${res.status}${excerpt ? `: ${excerpt}` : ''}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) {
    const after = retryAfterMs(res.headers.get('retry-after'));
    return { ok: false, permanent: false, error, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  return { ok: false, permanent: true, status: res.status, error };
}

// ---------------------------------------------------------------------------------------------
// Delivery

/**
 * Who has been sent what. `claim` marks keys as being sent now and returns those this caller may
 * send: not delivered, and not being sent by someone else within the lease (two workers, or an
 * attempt Temporal gave up on that is still running).
 */
export interface DeliveryLedger {
  claim(channel: string, alerts: Alert[]): Promise<{ claimed: Set<string>; delivered: Set<string>; inFlight: Set<string> }>;
  markDelivered(channel: string, keys: string[]): Promise<void>;
  markFailed(channel: string, keys: string[], error: string, permanent: boolean): Promise<void>;
}

/** A claim older than this is taken to be abandoned: well above one request's 10 s. */
export const CLAIM_LEASE_MS = 60_000;

/** A ledger in memory: exactly-once within one process only (a worker without DATABASE_URL). */
export function memoryLedger(now: () => number = Date.now): DeliveryLedger {
  const rows = new Map<string, { status: 'sending' | 'retrying' | 'failed' | 'delivered'; at: number }>();
  const id = (channel: string, key: string) => `${channel}\u0000${key}`;
  return {
    async claim(channel, alerts) {
      const claimed = new Set<string>();
      const delivered = new Set<string>();
      const inFlight = new Set<string>();
      for (const a of alerts) {
        const row = rows.get(id(channel, a.idempotencyKey));
        if (row?.status === 'delivered') delivered.add(a.idempotencyKey);
        else if (row?.status === 'sending' && now() - row.at < CLAIM_LEASE_MS) inFlight.add(a.idempotencyKey);
        else {
          rows.set(id(channel, a.idempotencyKey), { status: 'sending', at: now() });
          claimed.add(a.idempotencyKey);
        }
      }
      return { claimed, delivered, inFlight };
    },
    async markDelivered(channel, keys) {
      for (const k of keys) rows.set(id(channel, k), { status: 'delivered', at: now() });
    },
    async markFailed(channel, keys, _error, permanent) {
      for (const k of keys) rows.set(id(channel, k), { status: permanent ? 'failed' : 'retrying', at: now() });
    },
  };
}

export interface ChannelFailure {
  channel: string;
  error: string;
  /** Alerts of this channel not delivered by this call. */
  undelivered: number;
}

export interface DeliveryReport {
  /** Deliveries this call made, over all channels. */
  sent: number;
  /** (channel, alert) pairs skipped because they had been delivered before. */
  alreadySent: number;
  /** Deliveries this call made, per channel name. */
  byChannel: Record<string, number>;
  /** Worth retrying: 5xx, 408, 429, timeouts, refused connections, another sender's claim. */
  transient: Array<ChannelFailure & { retryAfterMs?: number }>;
  /** A 4xx that a retry will not change. */
  permanent: Array<ChannelFailure & { status: number }>;
  /** Keys of alerts that no channel's filters (kinds, min_level) let through. */
  unrouted: string[];
}

export interface DeliverOptions {
  signal?: AbortSignal;
  /** Called after each request (the activity heartbeats here). */
  progress?: () => void;
  /** Where the log channel writes (tests capture it). */
  write?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** The HTTP transport (tests may swap it). */
  post?: typeof postJson;
}

export interface Notifier {
  readonly config: NotifierConfig;
  deliver(alerts: Alert[], ledger: DeliveryLedger, options?: DeliverOptions): Promise<DeliveryReport>;
}

function wants(channel: Channel, alert: Alert): boolean {
  if (channel.kinds && !channel.kinds.includes(alert.kind)) return false;
  if (channel.minLevel && LEVEL_RANK[alert.level] < LEVEL_RANK[channel.minLevel]) return false;
  return true;
}

/** The requests one channel makes: a Slack message per batch, a JSON POST or log line per alert. */
function requestsFor(channel: Channel, alerts: Alert[]): Alert[][] {
  return channel.type === 'slack' ? slackBatches(alerts) : alerts.map((a) => [a]);
}

export function createNotifier(config: NotifierConfig): Notifier {
  // Keys whose request succeeded but whose ledger write failed (Postgres away): written first
  // on the next call in this process, so a retry on the same worker does not send them again.
  const unrecorded = new Map<string, Set<string>>();

  async function flushUnrecorded(ledger: DeliveryLedger): Promise<void> {
    for (const [channel, keys] of unrecorded) {
      await ledger.markDelivered(channel, [...keys]);
      unrecorded.delete(channel);
    }
  }

  async function send(channel: Channel, batch: Alert[], options: DeliverOptions): Promise<SendOutcome> {
    if (channel.type === 'log') {
      const write = options.write ?? ((stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`));
      write(channel.stream, JSON.stringify(alertPayloadV1(batch[0]!)));
      return { ok: true };
    }
    const post = options.post ?? postJson;
    const outcome =
      channel.type === 'slack'
        ? await post(channel.url, { text: slackText(batch) }, {}, options.signal)
        : await post(channel.url, alertPayloadV1(batch[0]!), { 'idempotency-key': idempotencyHeader(batch[0]!.idempotencyKey) }, options.signal);
    return outcome.ok ? outcome : { ...outcome, error: redactSecrets(outcome.error, config.channels) };
  }

  async function deliverChannel(channel: Channel, alerts: Alert[], ledger: DeliveryLedger, options: DeliverOptions, report: DeliveryReport): Promise<void> {
    const mine = alerts.filter((a) => wants(channel, a));
    let sent = 0;
    const pending = new Set(mine.map((a) => a.idempotencyKey));
    const requests = requestsFor(channel, mine);
    for (let i = 0; i < requests.length; i++) {
      const { claimed, delivered, inFlight } = await ledger.claim(channel.name, requests[i]!);
      report.alreadySent += delivered.size;
      for (const k of delivered) pending.delete(k);
      if (inFlight.size > 0) {
        // Another attempt holds these: it will deliver them; this one retries later and then finds them delivered.
        report.transient.push({ channel: channel.name, error: `${inFlight.size} alert(s) being sent by another attempt`, undelivered: inFlight.size });
        for (const k of inFlight) pending.delete(k);
      }
      const batch = requests[i]!.filter((a) => claimed.has(a.idempotencyKey));
      if (batch.length === 0) continue;
      const keys = batch.map((a) => a.idempotencyKey);
      const outcome = await send(channel, batch, options);
      options.progress?.();
      if (outcome.ok) {
        sent += keys.length;
        for (const k of keys) pending.delete(k);
        try {
          await ledger.markDelivered(channel.name, keys);
        } catch (err) {
          const set = unrecorded.get(channel.name) ?? new Set<string>();
          for (const k of keys) set.add(k);
          unrecorded.set(channel.name, set);
          throw err;
        }
        continue;
      }
      await ledger.markFailed(channel.name, keys, outcome.error, outcome.permanent);
      if (outcome.permanent) {
        report.permanent.push({ channel: channel.name, status: outcome.status, error: outcome.error, undelivered: keys.length });
        for (const k of keys) pending.delete(k);
        continue; // another payload may still be accepted
      }
      // A receiver that is down stays down for the next request: stop this channel for this
      // attempt (the rest stay unclaimed) instead of spending 10 s per alert on timeouts.
      report.transient.push({ channel: channel.name, error: outcome.error, undelivered: pending.size, ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}) });
      pending.clear();
      break;
    }
    report.sent += sent;
    report.byChannel[channel.name] = sent;
  }

  return {
    config,
    async deliver(input, ledger, options = {}) {
      // The same event twice in one call is one alert.
      const seen = new Set<string>();
      const alerts = input.filter((a) => !seen.has(a.idempotencyKey) && seen.add(a.idempotencyKey));
      await flushUnrecorded(ledger);
      const report: DeliveryReport = { sent: 0, alreadySent: 0, byChannel: {}, transient: [], permanent: [], unrouted: [] };
      report.unrouted = alerts.filter((a) => !config.channels.some((c) => wants(c, a))).map((a) => a.idempotencyKey);
      // Channels are independent: a slow Slack does not hold back the JSON webhook.
      const results = await Promise.allSettled(config.channels.map((c) => deliverChannel(c, alerts, ledger, options, report)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return report;
    },
  };
}

// Node settings as code: `meta: {watcher: {...}}` on a dbt model, seed or snapshot (or in
// dbt_project.yml), synced to its pipeline row. Workflow-safe (no Node built-ins).
import { z } from 'zod';
import { describeZodError, lazySchema } from './validation.js';

export const DATEPARTS = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const;
export type Datepart = (typeof DATEPARTS)[number];

/** Built on first use (see lazySchema). */
const nodeConfigSchema = lazySchema(() => {
  // `{number: 1, datepart: day}`, or the shorthand `"1 day"` / `"24 hours"`.
  // Positive and bounded: the columns are Postgres integers with CHECK (> 0).
  const intervalNumber = z.number().int().positive().max(100_000, 'must be at most 100000');
  const interval = z.union([
    z.object({ number: intervalNumber, datepart: z.enum(DATEPARTS) }).strict(),
    z
      .string()
      .regex(/^\s*\d+\s*(minute|hour|day|week|month|year)s?\s*$/i, 'must look like "1 day" or "24 hours"')
      .transform((s) => {
        const [, n, part] = /^\s*(\d+)\s*([a-z]+?)s?\s*$/i.exec(s)!;
        return { number: Number(n), datepart: part!.toLowerCase() as Datepart };
      })
      .pipe(z.object({ number: intervalNumber, datepart: z.enum(DATEPARTS) })),
  ]);

  return z
    .object({
      freshness: interval.optional(),
      timeliness: interval.optional(),
      mute_freshness_check: z.boolean().optional(),
      mute_timeliness_check: z.boolean().optional(),
      active: z.boolean().optional(),
      owner: z.string().max(256).optional(),
    })
    // Anything else (team, tier, ...) is kept as pipeline metadata.
    .catchall(z.unknown());
});

export type NodeConfig = z.output<ReturnType<typeof nodeConfigSchema>>;

/** The node's `meta.watcher`, validated; a bad config is reported, never fails a build. */
export function parseNodeConfig(meta: unknown): { config?: NodeConfig; error?: string } {
  if (meta === undefined || meta === null) return {};
  const parsed = nodeConfigSchema().safeParse(meta);
  if (!parsed.success) return { error: `meta.watcher: ${describeZodError(parsed.error)}` };
  return { config: parsed.data };
}

// The `dbtNode` consumer's input, validated by the consumer itself (it can be started by hand too).
import { z } from 'zod';
import { BuildInputSchema, DBT_OPTION_MESSAGE, looksLikeDbtOption } from './build-input.js';
import { CONSUMER_RESOURCE_TYPES } from './messages.js';
import { DATEPARTS } from './node-config.js';
import { BUILD_ID_PATTERN } from './names.js';
import { parseInput } from './validation.js';

// dbt unique_ids: `model.<package>.<name>` (versioned models add `.v<N>`).
const UNIQUE_ID = /^[a-z_]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_.-]+$/;
const uniqueId = z.string().max(512, 'must be at most 512 characters').regex(UNIQUE_ID, 'must be a dbt unique_id such as model.shop.orders');

export const NodeInputSchema = z
  .object({
    buildId: z.string().regex(BUILD_ID_PATTERN, 'must be a build ID'),
    node: z
      .object({
        uniqueId,
        resourceType: z.enum(CONSUMER_RESOURCE_TYPES),
        name: z.string().min(1).max(256),
        packageName: z.string().min(1).max(256),
        selector: z
          .string()
          .min(1)
          .max(4096)
          // One argument, never a shell word: no whitespace, quotes, shell metacharacters or control characters.
          // eslint-disable-next-line no-control-regex
          .regex(/^[^\s'"`;$|&<>\u0000-\u001f]+$/, 'must be one dbt selector without spaces, quotes or shell metacharacters, such as fqn:shop.orders')
          .refine((s) => !looksLikeDbtOption(s), DBT_OPTION_MESSAGE),
        materialized: z.string().max(64).optional(),
        relation: z.string().max(1024).optional(),
        upstream: z.array(uniqueId).max(10_000),
        tests: z.array(z.string().max(512)).max(10_000),
        /** `meta.watcher.active: false`: shown on the consumer and in its record. */
        active: z.boolean().optional(),
        configError: z.string().max(4000).optional(),
        /** `meta.watcher.timeliness`: the node's own threshold, for its timer until its pipeline is in the store. */
        timeliness: z.object({ number: z.number().int().positive().max(100_000), datepart: z.enum(DATEPARTS) }).strict().optional(),
        /** `meta.watcher.mute_timeliness_check`. */
        muteTimeliness: z.boolean().optional(),
      })
      .strict(),
    /**
     * The build's execution key (src/recording/records.ts): names this node's executions, so the
     * timeliness timer's alert has the key the check would use. Without it, no timer.
     */
    buildKey: z.string().min(1).max(900).optional(),
    /** The build's dbt flags, carried by a single-node rerun (or, from a node group, `rerunFlagsFrom`). */
    rerun: BuildInputSchema.pick({
      projectDir: true,
      profilesDir: true,
      target: true,
      vars: true,
      fullRefresh: true,
      threads: true,
    }).optional(),
    /** The node group whose `rerunFlags` query has the build's dbt flags: consumers do not each carry the vars. */
    rerunFlagsFrom: z.string().min(1).max(1024).optional(),
    /** Bound on the wait for the build's report; past it the consumer ends `not_run`. */
    waitTimeoutSeconds: z.number().positive().max(7 * 24 * 3600),
    /** How long a retried node waits for its upstream consumers. */
    upstreamTimeoutSeconds: z.number().positive().max(7 * 24 * 3600).default(24 * 3600),
  })
  .strict()
  .refine((input) => (input.rerun === undefined) !== (input.rerunFlagsFrom === undefined), {
    message: 'needs exactly one of rerun (the build\'s dbt flags) and rerunFlagsFrom (the node group that has them)',
    path: ['rerun'],
  });

export type NodeInputRaw = z.input<typeof NodeInputSchema>;
export type NodeInput = z.output<typeof NodeInputSchema>;

export function parseNodeInput(raw: unknown): NodeInput {
  return parseInput(NodeInputSchema, raw, 'dbtNode');
}

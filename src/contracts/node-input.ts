// The `dbtNode` consumer's input, validated by the consumer itself (it can be started by hand too).
import { z } from 'zod';
import { DBT_OPTION_MESSAGE, looksLikeDbtOption, rerunFlagsSchema } from './build-input.js';
import { CONSUMER_RESOURCE_TYPES } from './messages.js';
import { DATEPARTS } from './node-config.js';
import { BUILD_ID_PATTERN, nodeGroupWorkflowIdPrefix } from './names.js';
import { lazySchema, parseInput } from './validation.js';

// dbt unique_ids: `model.<package>.<name>` (versioned models add `.v<N>`).
const UNIQUE_ID = /^[a-z_]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_.-]+$/;

const DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 24 * 3600;

/** Built on first use (see lazySchema): only consumers parse with it. */
const nodeInputSchema = lazySchema(() => {
  const uniqueId = z.string().max(512, 'must be at most 512 characters').regex(UNIQUE_ID, 'must be a dbt unique_id such as model.shop.orders');
  return z
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
      rerun: rerunFlagsSchema().optional(),
      /** The node group whose `rerunFlags` query has the build's dbt flags: consumers do not each carry the vars. */
      rerunFlagsFrom: z.string().min(1).max(1024).optional(),
      /** Bound on the wait for the build's report; past it the consumer ends `not_run`. */
      waitTimeoutSeconds: z.number().positive().max(7 * 24 * 3600),
      /** How long a retried node waits for its upstream consumers. */
      upstreamTimeoutSeconds: z.number().positive().max(7 * 24 * 3600).default(DEFAULT_UPSTREAM_TIMEOUT_SECONDS),
    })
    .strict()
    .refine((input) => (input.rerun === undefined) !== (input.rerunFlagsFrom === undefined), {
      message: 'needs exactly one of rerun (the build\'s dbt flags) and rerunFlagsFrom (the node group that has them)',
      path: ['rerun'],
    });
});

export type NodeInputRaw = z.input<ReturnType<typeof nodeInputSchema>>;
export type NodeInput = z.output<ReturnType<typeof nodeInputSchema>>;

export function parseNodeInput(raw: unknown): NodeInput {
  return parseInput(nodeInputSchema(), raw, 'dbtNode');
}

/**
 * A consumer's input, validated at the edge: one started by hand (or by anything but its build's
 * node group) is parsed; one its node group started carries what Watcher built itself from the
 * validated build input and dbt's manifest, and only gets its defaults. Building the schema took
 * ~15 ms of worker CPU per consumer, as much as the rest of its first workflow task.
 */
export function nodeInputOf(raw: NodeInputRaw, startedBy: { workflowId: string } | undefined): NodeInput {
  const fromItsGroup = startedBy !== undefined && typeof raw.buildId === 'string' && startedBy.workflowId.startsWith(nodeGroupWorkflowIdPrefix(raw.buildId));
  if (!fromItsGroup) return parseNodeInput(raw);
  return { ...raw, upstreamTimeoutSeconds: raw.upstreamTimeoutSeconds ?? DEFAULT_UPSTREAM_TIMEOUT_SECONDS } as NodeInput;
}

// What started a build: `watcher build` (cli), a Watcher schedule (schedule) or the HTTP API's
// POST /builds (api). Whoever starts the build says so in the workflow's memo; the build records
// it on its root execution (`trigger` in its metadata), where GET /builds reads and filters it.

export const BUILD_TRIGGERS = ['cli', 'schedule', 'api'] as const;
export type BuildTrigger = (typeof BUILD_TRIGGERS)[number];

/** The memo key a build's starter sets (`startBuild(..., { trigger })`). */
export const TRIGGER_MEMO_KEY = 'watcherTrigger';
/** The memo key of a schedule's action: every build a Watcher schedule starts carries it. */
export const SCHEDULE_MEMO_KEY = 'watcherSchedule';

export function isBuildTrigger(value: unknown): value is BuildTrigger {
  return typeof value === 'string' && (BUILD_TRIGGERS as readonly string[]).includes(value);
}

/** The memo a build is started with so that it knows its trigger. */
export function triggerMemo(trigger: BuildTrigger): Record<string, unknown> {
  return { [TRIGGER_MEMO_KEY]: trigger };
}

/**
 * A build's trigger: the one its starter put in the memo; else `schedule` when a Watcher schedule
 * started it (its action's memo, present on schedules made before triggers were recorded) or its
 * input names a schedule; else unknown (started some other way, e.g. `temporal workflow start`).
 */
export function buildTriggerOf(memo: Record<string, unknown> | undefined, input: { schedule?: string }): BuildTrigger | undefined {
  const given = memo?.[TRIGGER_MEMO_KEY];
  if (isBuildTrigger(given)) return given;
  if (memo?.[SCHEDULE_MEMO_KEY] !== undefined || input.schedule !== undefined) return 'schedule';
  return undefined;
}

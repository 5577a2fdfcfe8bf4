// Shared helpers for validating inputs at the edge with zod. Workflow-safe (no Node built-ins).
import { z } from 'zod';

/**
 * A schema built on first use, then kept. The Temporal worker evaluates every module of the
 * workflow bundle again for each workflow it starts, so a schema built at module level was built
 * once per consumer (zod schemas are costly to build: ~30% of the workflow thread's CPU at 185
 * models). Built lazily, each workflow builds only the schemas it parses with.
 */
export function lazySchema<T>(make: () => T): () => T {
  let schema: T | undefined;
  return () => (schema ??= make());
}

/** One line per problem, each naming the field: `select[2]: must not contain ';'`. */
export function describeZodError(error: z.ZodError): string {
  return describeIssues(error.issues, []);
}

function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): string {
  return issues
    .map((issue) => {
      const at = [...prefix, ...issue.path];
      if (issue.code === 'unrecognized_keys') {
        const where = at.length ? `${formatPath(at)}.` : '';
        return issue.keys.map((key) => `${where}${key}: unknown field`).join('; ');
      }
      // A union (e.g. "a string or a list"): report the branch that got past the type check,
      // whose message says what is wrong, rather than zod's generic "Invalid input".
      if (issue.code === 'invalid_union') {
        const specific = issue.errors.find((branch) => branch.length > 0 && !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
        if (specific) return describeIssues(specific, at);
      }
      const field = at.length ? formatPath(at) : '(input)';
      // A bad record key carries the real reason one level down.
      if (issue.code === 'invalid_key' && issue.issues.length > 0) return `${field}: ${issue.issues.map((i) => i.message).join('; ')}`;
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

function formatPath(path: PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
}

/** Thrown for any input that fails validation; the message names every bad field. */
export class InvalidInputError extends Error {
  constructor(
    readonly what: string,
    readonly problems: string,
  ) {
    super(`invalid ${what} input: ${problems}`);
    this.name = 'InvalidInputError';
  }
}

/** Parse or throw InvalidInputError naming the fields. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new InvalidInputError(what, describeZodError(result.error));
  return result.data;
}

/**
 * Posix path normalisation without Node's `path` (this module is bundled into workflows).
 * Returns null for a path that climbs above its root.
 */
export function normalizePosixPath(p: string): string | null {
  const absolute = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(part);
  }
  return (absolute ? '/' : '') + out.join('/');
}

// Control characters are never part of a legitimate path, selector or name.
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

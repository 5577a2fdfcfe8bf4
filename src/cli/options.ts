// How the CLI reads its option values: one parser per kind, each refusing a bad value with a
// message that names the flag (commander prints it and exits 1 before anything runs).
import { InvalidArgumentError } from 'commander';

/** A decimal integer within [min, max]: '', '1.5', '0x10' and '1e3' are refused. */
export function integerArg(flag: string, bounds: { min?: number; max?: number } = {}): (value: string) => number {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds;
  const range = min > Number.MIN_SAFE_INTEGER ? (max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min === 1 ? ' (1 or more)' : ` of at least ${min}`) : '';
  return (value) => {
    const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be an integer${range}, not ${JSON.stringify(value)}`);
    return n;
  };
}

/** A decimal number (integer or not). */
export function numberArg(flag: string): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number, not ${JSON.stringify(value)}`);
    return n;
  };
}

export const portArg = (flag: string) => integerArg(flag, { min: 0, max: 65_535 });

/** A JSON object, e.g. dbt's --vars. */
export function jsonObjectArg(flag: string): (value: string) => Record<string, unknown> {
  return (value) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new InvalidArgumentError(`${flag} must be a JSON object, e.g. '{"key": "value"}'`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`${flag} must be a JSON object, not ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
    return parsed as Record<string, unknown>;
  };
}

/**
 * A name, path or address: not empty, and not a word commander took from the next option
 * (`--name --scope read` makes the name "--scope"). `what` is the flag or the argument, e.g. '<name>'.
 */
export function textArg(what: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw new InvalidArgumentError(`${what} must not be empty`);
    if (value.startsWith('-')) throw new InvalidArgumentError(`${what} must not start with '-', not ${JSON.stringify(value)} (a value was expected: was it left out?)`);
    return value;
  };
}

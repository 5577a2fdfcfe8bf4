// Summary statistics for benchmarks: medians and spread, never a single run.
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  p99: number;
}

export function summarize(values: number[]): Summary {
  return {
    n: values.length,
    median: quantile(values, 0.5),
    min: Math.min(...values),
    max: Math.max(...values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    p99: quantile(values, 0.99),
  };
}

export function fmt(s: Summary, unit: string, digits = 2): string {
  return `median ${s.median.toFixed(digits)} ${unit} (min ${s.min.toFixed(digits)}, p25 ${s.p25.toFixed(digits)}, p75 ${s.p75.toFixed(digits)}, max ${s.max.toFixed(digits)}; n=${s.n})`;
}

// Percentiles and number formatting for the benchmark's figures.

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of the finite samples (NaN marks a sample that never completed). */
export function latency(samples: ArrayLike<number>): Latency {
  const finite: number[] = [];
  for (let i = 0; i < samples.length; i++) if (Number.isFinite(samples[i])) finite.push(samples[i]);
  const sorted = Float64Array.from(finite).sort();
  const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]);
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

function group(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export const fmt = {
  rate: (perSec: number) => (Number.isFinite(perSec) ? `${group(perSec)}/s` : '—'),
  ms: (ms: number) => (!Number.isFinite(ms) ? '—' : Math.abs(ms) >= 100 ? `${group(ms)} ms` : `${ms.toFixed(1)} ms`),
  p50p99: (l: Latency) => (l.n === 0 ? '—' : `${fmt.num(l.p50)} / ${fmt.num(l.p99)} ms`),
  num: (x: number) => (!Number.isFinite(x) ? '—' : Math.abs(x) >= 100 ? group(x) : x.toFixed(1)),
  mb: (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : '—'),
  ratio: (r: number) => (!Number.isFinite(r) ? '—' : r >= 10 ? `×${r.toFixed(0)}` : `×${r.toFixed(2)}`),
  int: (n: number) => group(n),
};

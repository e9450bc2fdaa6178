// The closing table: each figure beside its baselines (with kite/baseline ratios) and its target.

export interface Baseline {
  name: string;
  value: string;
  /** kite ÷ baseline (NaN when not meaningful). */
  ratio: number;
}

export interface Row {
  backend: string;
  figure: string;
  kite: string;
  /** Server CPU time per operation: kite's, and the floor's when it has one. */
  cpu?: string;
  baselines: Baseline[];
  /** e.g. "≥ 2,000/s"; empty when the issue sets none. */
  target: string;
  met?: boolean;
}

function ratioText(r: number): string {
  if (!Number.isFinite(r)) return '—';
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

export function renderTable(rows: Row[], headings: { backend?: string; cpu?: string } = {}): string {
  const header = [headings.backend ?? 'backend', 'figure', 'kite', headings.cpu ?? 'CPU/op kite (floor)', 'baseline', 'kite/base', 'target', 'verdict'];
  const cells = rows.map((r) => [
    r.backend,
    r.figure,
    r.kite,
    r.cpu ?? '',
    r.baselines.map((b) => `${b.name} ${b.value}`).join('; ') || '—',
    r.baselines.map((b) => ratioText(b.ratio)).join('; ') || '—',
    r.target || '—',
    r.target ? (r.met === undefined ? '?' : r.met ? 'met' : 'NOT MET') : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (const c of cells) {
    if (last && c[0] !== last) out.push('');
    last = c[0];
    out.push(line(c));
  }
  return out.join('\n');
}

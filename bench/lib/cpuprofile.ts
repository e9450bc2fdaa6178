import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Summarises V8 .cpuprofile files (node --cpu-prof): self time per function and per source file.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock that process.hrtime() reads. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of time, in microseconds of process.hrtime(). */
export interface Window {
  fromUs: number;
  toUs: number;
}

export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface Hot {
  name: string;
  ms: number;
  share: number;
}

/** Self time by function and by file, over every profile in `dir`, counting only samples inside `window`. */
export function summariseProfiles(dir: string, repoRoot: string, top = 20, window?: Window): { totalMs: number; functions: Hot[]; files: Hot[]; areas: Hot[] } {
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    let at = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      const n = nodes.get(p.samples[i]);
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      at += p.timeDeltas[i] ?? 0;
      if (!n || (window && (at < window.fromUs || at > window.toUs))) continue;
      total += dt;
      const url = n.callFrame.url.replace(/^file:\/\//, '');
      const file = url ? (url.startsWith(repoRoot) ? relative(repoRoot, url) : url) : '(native)';
      const fn = `${n.callFrame.functionName || '(anonymous)'} ${file}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
      byFn.set(fn, (byFn.get(fn) ?? 0) + dt);
      const fileKey = n.callFrame.functionName === '(idle)' ? '(idle)' : n.callFrame.functionName === '(garbage collector)' ? '(garbage collector)' : file;
      byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + dt);
      const area = areaOf(fileKey);
      byArea.set(area, (byArea.get(area) ?? 0) + dt);
    }
  }
  const rank = (m: Map<string, number>): Hot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: total > 0 ? ms / total : 0 }));
  return { totalMs: total, functions: rank(byFn), files: rank(byFile), areas: rank(byArea) };
}

/** A coarse owner for a file: kite's source directory, a dependency package, or Node itself. */
function areaOf(file: string): string {
  if (file.startsWith('(')) return file;
  if (file.startsWith('node:')) return /http|tls|net|stream|_http|crypto/.test(file) ? 'node: http/tls/streams' : 'node: other';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (dep) return `dep: ${dep[1]}`;
  // The API server's files one by one (its costs differ most); elsewhere, kite's directories.
  const src = /(?:^|\/)src\/(apiserver\/.+|(?:api|storage)\/[^/]+|[^/]+)/.exec(file);
  if (src) return `kite: ${src[1].replace(/\.js$/, '')}`;
  return file;
}

// Service proxy benchmark: how long a sync takes for 1,000 and 10,000 services (two endpoints each, a tenth
// of them NodePorts, a tenth with ClientIP affinity, a tenth without endpoints):
//   - render: Service/EndpointSlice model → ruleset → nft text;
//   - full: the first sync, one `nft -f -` that writes the whole table;
//   - one change: the sync after one endpoint moved (the diff transaction);
//   - no change: a sync that finds nothing to do (render + diff only, nft is not called).
// nft runs inside a private network namespace (`ip netns add kitep-bench`), so the host's rules are untouched.
// Needs root and nft. Results go to stdout as a table; `BENCH_PROXY_SIZES=1000,10000` and
// `BENCH_PROXY_REPS=3` change what is measured.
//
//   node dist/bench/proxy.js

import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { ServicePortInfo } from '../src/proxy/model.js';
import { renderRuleset } from '../src/proxy/render.js';
import { diffScript, fullScript } from '../src/proxy/nftscript.js';
import { nftRunner } from '../src/proxy/nft.js';

const NETNS = 'kitep-bench';
const TABLE = 'kite_bench_proxy';
const CFG = { nodeName: 'node-a', serviceCidr: '10.80.0.0/12' };
const SIZES = (process.env.BENCH_PROXY_SIZES ?? '1000,10000').split(',').map(Number);
const REPS = Number(process.env.BENCH_PROXY_REPS ?? 3);

function world(n: number, moved = -1): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 10;
    const oct = `${(i >> 8) & 255}.${i & 255}`;
    out.push({
      namespace: 'bench',
      name: `svc-${i}`,
      protocol: kind === 7 ? 'udp' : 'tcp',
      port: 80,
      clusterIP: `10.${80 + (i >> 16)}.${oct}`,
      nodePort: kind === 3 ? 30000 + Math.floor(i / 10) : undefined,
      externalIPs: [],
      externalLocal: false,
      internalLocal: false,
      affinityTimeout: kind === 5 ? 10800 : undefined,
      endpoints: kind === 9 ? [] : [0, 1].map((k) => ({ ip: `10.${100 + k + (i === moved ? 2 : 0)}.${oct}`, port: 8080, nodeName: k === 0 ? 'node-a' : 'node-b' })),
    });
  }
  return out;
}

const ms = (t0: number) => performance.now() - t0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(n: number): Promise<Record<string, string>> {
  const nft = nftRunner(['ip', 'netns', 'exec', NETNS]);
  const render: number[] = [];
  const full: number[] = [];
  const change: number[] = [];
  const idle: number[] = [];
  let lines = 0;
  for (let r = 0; r < REPS; r++) {
    await nft.run(['delete', 'table', 'ip', TABLE]).catch(() => undefined);
    let t0 = performance.now();
    const rs = renderRuleset(world(n), CFG);
    const text = fullScript('ip', TABLE, rs);
    render.push(ms(t0));
    lines = text.split('\n').length;
    t0 = performance.now();
    await nft.apply(text);
    full.push(ms(t0));
    t0 = performance.now();
    const rs2 = renderRuleset(world(n, 1), CFG);
    await nft.apply(diffScript('ip', TABLE, rs, rs2));
    change.push(ms(t0));
    t0 = performance.now();
    const same = diffScript('ip', TABLE, rs2, renderRuleset(world(n, 1), CFG));
    if (same) throw new Error('an unchanged world produced a diff');
    idle.push(ms(t0));
  }
  await nft.run(['delete', 'table', 'ip', TABLE]).catch(() => undefined);
  const f = (xs: number[]) => `${median(xs).toFixed(0)} ms`;
  return { services: String(n), 'nft lines': String(lines), render: f(render), 'full sync': f(full), 'one change': f(change), 'no change': f(idle) };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/proxy needs root (network namespace and nft)');
  execFileSync('ip', ['netns', 'add', NETNS]);
  try {
    const rows: Array<Record<string, string>> = [];
    for (const n of SIZES) {
      process.stderr.write(`measuring ${n} services…\n`);
      rows.push(await measure(n));
    }
    const cols = Object.keys(rows[0]!);
    const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c]!.length)));
    const line = (cells: string[]) => cells.map((s, i) => s.padStart(width[i]!)).join('  ');
    console.log(line(cols));
    for (const r of rows) console.log(line(cols.map((c) => r[c]!)));
  } finally {
    execFileSync('ip', ['netns', 'del', NETNS]);
  }
}

await main();

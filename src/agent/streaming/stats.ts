import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { RuntimeService } from '../../runtime/interface.js';
import type { ContainerLocator } from './server.js';

// GET /stats/summary: the part of the kubelet's Summary API that metrics (kubectl top, the HPA) read.
// CPU usage is cumulative in the runtime; the rate (usageNanoCores) is the change since the previous
// sample of the same container, kept here in memory, over the time between the two samples.

export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes: number;
  workingSetBytes: number;
}

export interface ContainerStatsSummary {
  name: string;
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface PodStatsSummary {
  podRef: { name: string; namespace: string; uid: string };
  containers: ContainerStatsSummary[];
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface Summary {
  node: { nodeName: string; startTime?: string; cpu: CpuStats; memory: MemoryStats };
  pods: PodStatsSummary[];
}

interface Sample {
  atMs: number;
  /** Cumulative CPU nanoseconds. */
  cpu: bigint;
}

/** A rate is only worth reporting over a window this long; younger samples are measured again shortly. */
const MIN_WINDOW_MS = 100;
const PRIME_MS = 250;
/** A sample older than this says nothing about current usage. */
const MAX_WINDOW_MS = 5 * 60_000;

const USER_HZ = 100; // jiffies per second in /proc/stat on Linux

async function nodeCpu(): Promise<{ cpu: bigint; bootMs?: number }> {
  const text = await readFile('/proc/stat', 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  const f = (line ?? '').trim().split(/\s+/).slice(1).map((x) => BigInt(x));
  // user nice system idle iowait irq softirq steal: busy time excludes idle and iowait.
  const busy = (f[0] ?? 0n) + (f[1] ?? 0n) + (f[2] ?? 0n) + (f[5] ?? 0n) + (f[6] ?? 0n) + (f[7] ?? 0n);
  const btime = /^btime (\d+)$/m.exec(text);
  return { cpu: busy * BigInt(1e9 / USER_HZ), bootMs: btime ? Number(btime[1]) * 1000 : undefined };
}

async function nodeMemory(): Promise<{ total: number; free: number; available: number }> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total: kb('MemTotal'), free: kb('MemFree'), available: kb('MemAvailable') };
}

export class StatsProvider {
  private samples = new Map<string, Sample>();

  constructor(
    private readonly runtime: RuntimeService,
    private readonly locator: ContainerLocator,
    private readonly nodeName: string = hostname(),
  ) {}

  private rate(key: string, now: Sample): number | undefined {
    const prev = this.samples.get(key);
    this.samples.set(key, now);
    if (!prev) return undefined;
    const dt = now.atMs - prev.atMs;
    if (dt < MIN_WINDOW_MS || dt > MAX_WINDOW_MS || now.cpu < prev.cpu) return undefined;
    return Number(((now.cpu - prev.cpu) * 1_000_000n) / BigInt(Math.round(dt * 1000)));
  }

  /** True when some key has no recent sample, so the summary should measure twice. */
  private needsPriming(keys: string[], nowMs: number): boolean {
    return keys.some((k) => {
      const s = this.samples.get(k);
      return !s || nowMs - s.atMs > MAX_WINDOW_MS;
    });
  }

  async summary(): Promise<Summary> {
    const pods = await this.locator.pods();
    const keys = ['node', ...pods.flatMap((p) => p.containers.map((c) => c.id))];
    if (this.needsPriming(keys, Date.now())) {
      // First look at something: take a baseline so this very summary already has rates.
      await this.collect(pods);
      await new Promise((r) => setTimeout(r, PRIME_MS));
    }
    const summary = await this.collect(pods);
    // Forget containers that are gone.
    const live = new Set(keys);
    for (const k of this.samples.keys()) if (!live.has(k)) this.samples.delete(k);
    return summary;
  }

  private async collect(pods: Awaited<ReturnType<ContainerLocator['pods']>>): Promise<Summary> {
    const nowMs = Date.now();
    const time = new Date(nowMs).toISOString();
    const { cpu, bootMs } = await nodeCpu();
    const mem = await nodeMemory();
    const node = {
      nodeName: this.nodeName,
      ...(bootMs ? { startTime: new Date(bootMs).toISOString() } : {}),
      cpu: { time, usageNanoCores: this.rate('node', { atMs: nowMs, cpu }), usageCoreNanoSeconds: Number(cpu) },
      memory: { time, availableBytes: mem.available, usageBytes: mem.total - mem.free, workingSetBytes: mem.total - mem.available },
    };
    const out: PodStatsSummary[] = [];
    for (const p of pods) {
      const containers: ContainerStatsSummary[] = [];
      for (const c of p.containers) {
        const s = await this.runtime.containerStats(c.id).catch(() => undefined);
        if (!s) continue;
        const t = new Date(s.timestamp).toISOString();
        const used = BigInt(s.cpuUsageNanos);
        containers.push({
          name: c.name,
          cpu: { time: t, usageNanoCores: this.rate(c.id, { atMs: s.timestamp, cpu: used }), usageCoreNanoSeconds: Number(used) },
          memory: { time: t, usageBytes: s.memoryUsageBytes, workingSetBytes: s.memoryWorkingSetBytes },
        });
      }
      const haveRates = containers.every((c) => c.cpu.usageNanoCores !== undefined);
      out.push({
        podRef: { name: p.name, namespace: p.namespace, uid: p.uid },
        containers,
        cpu: {
          time,
          ...(haveRates ? { usageNanoCores: containers.reduce((a, c) => a + (c.cpu.usageNanoCores ?? 0), 0) } : {}),
          usageCoreNanoSeconds: containers.reduce((a, c) => a + c.cpu.usageCoreNanoSeconds, 0),
        },
        memory: {
          time,
          usageBytes: containers.reduce((a, c) => a + c.memory.usageBytes, 0),
          workingSetBytes: containers.reduce((a, c) => a + c.memory.workingSetBytes, 0),
        },
      });
    }
    return { node, pods: out };
  }
}

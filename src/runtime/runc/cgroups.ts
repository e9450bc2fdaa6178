import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerResources } from '../interface.js';

// Pod-level cgroups with the cgroupfs driver (no systemd on the node). runc creates and removes each container's
// leaf cgroup, but the pod's parent must exist in *every* hierarchy — each v1 controller, name=systemd and the
// unified cgroup2 mount — and is ours to remove once the pod is gone.

export interface CgroupHierarchy {
  mountPoint: string;
  /** v1 controllers bound to this mount ("memory", "cpu", "name=systemd"); empty for cgroup2. */
  controllers: string[];
  version: 1 | 2;
}

export async function cgroupHierarchies(): Promise<CgroupHierarchy[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const seen = new Set<string>();
  const out: CgroupHierarchy[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const fstype = post[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    if (pre[3] !== '/') continue; // a bind of a sub-tree: not where absolute cgroup paths start
    const mountPoint = pre[4]!;
    if (seen.has(mountPoint)) continue;
    seen.add(mountPoint);
    const known = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'devices', 'freezer', 'net_cls', 'net_prio', 'perf_event', 'hugetlb', 'rdma', 'misc'];
    const controllers = fstype === 'cgroup' ? (post[2] ?? '').split(',').filter((o) => known.includes(o) || o.startsWith('name=')) : [];
    out.push({ mountPoint, controllers, version: fstype === 'cgroup' ? 1 : 2 });
  }
  return out;
}

/** Directory of an absolute cgroup path in the v1 hierarchy that carries the controller, if mounted. */
export async function controllerDir(controller: string, cgroupPath: string): Promise<string | undefined> {
  const h = (await cgroupHierarchies()).find((x) => x.version === 1 && x.controllers.includes(controller));
  return h ? join(h.mountPoint, cgroupPath) : undefined;
}

/** Creates the cgroup in every hierarchy. cpuset levels get their parent's cpus/mems, or no task could join. */
export async function ensureCgroup(cgroupPath: string): Promise<void> {
  // Hierarchies are independent: create the path in all of them at once.
  await Promise.all((await cgroupHierarchies()).map((h) => ensureIn(h, cgroupPath)));
}

async function ensureIn(h: CgroupHierarchy, cgroupPath: string): Promise<void> {
  let dir = h.mountPoint;
  for (const part of cgroupPath.split('/').filter(Boolean)) {
    const parent = dir;
    dir = join(dir, part);
    await mkdir(dir, { recursive: true });
    if (h.controllers.includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const cur = (await readFile(join(dir, f), 'utf8').catch(() => '')).trim();
        if (!cur) await writeFile(join(dir, f), await readFile(join(parent, f), 'utf8')).catch(() => undefined);
      }
    }
  }
}

/** Pod-level limits, written into the pod cgroup (the sum the containers' own limits fit under). */
export async function applyResources(cgroupPath: string, r: ContainerResources): Promise<void> {
  const writes: Array<[string, string, string]> = [];
  if (r.memoryLimitBytes) writes.push(['memory', 'memory.limit_in_bytes', String(r.memoryLimitBytes)]);
  if (r.cpuShares) writes.push(['cpu', 'cpu.shares', String(r.cpuShares)]);
  if (r.cpuPeriodUs) writes.push(['cpu', 'cpu.cfs_period_us', String(r.cpuPeriodUs)]);
  if (r.cpuQuotaUs) writes.push(['cpu', 'cpu.cfs_quota_us', String(r.cpuQuotaUs)]);
  if (r.pidsLimit) writes.push(['pids', 'pids.max', String(r.pidsLimit)]);
  for (const [controller, file, value] of writes) {
    const dir = await controllerDir(controller, cgroupPath);
    if (dir) await writeFile(join(dir, file), value);
  }
}

/**
 * Removes the cgroup and anything left below it in every hierarchy, deepest first. A cgroup that still has
 * processes cannot be removed: those are reported so the caller can say which container is still alive.
 */
export async function removeCgroup(cgroupPath: string): Promise<void> {
  const busy: string[] = [];
  await Promise.all((await cgroupHierarchies()).map((h) => removeTree(join(h.mountPoint, cgroupPath), busy)));
  if (busy.length) throw new Error(`cgroup still has processes, kill them first: ${busy.join(', ')}`);
}

async function removeTree(dir: string, busy: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // already gone
  }
  for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name), busy);
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // The kernel frees a cgroup a little after its last task has exited.
      if (code === 'EBUSY' && i < 20) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      busy.push(dir);
      return;
    }
  }
}

export interface CgroupStats {
  cpuUsageNanos: string;
  memoryUsageBytes: number;
  memoryWorkingSetBytes: number;
  pids?: number;
}

/** Usage from the v1 controllers (the unified mount has no memory.* here). 64-bit counters stay strings. */
export async function readCgroupStats(cgroupPath: string): Promise<CgroupStats | undefined> {
  const cpuDir = await controllerDir('cpuacct', cgroupPath);
  const memDir = await controllerDir('memory', cgroupPath);
  const pidsDir = await controllerDir('pids', cgroupPath);
  const read = async (dir: string | undefined, f: string): Promise<string | undefined> =>
    dir ? (await readFile(join(dir, f), 'utf8').catch(() => undefined))?.trim() : undefined;
  const cpu = await read(cpuDir, 'cpuacct.usage');
  const usage = await read(memDir, 'memory.usage_in_bytes');
  if (cpu === undefined && usage === undefined) return undefined;
  const stat = (await read(memDir, 'memory.stat')) ?? '';
  const inactive = /^total_inactive_file (\d+)$/m.exec(stat)?.[1] ?? '0';
  const usageBig = BigInt(usage ?? '0');
  const inactiveBig = BigInt(inactive);
  const ws = usageBig > inactiveBig ? usageBig - inactiveBig : 0n;
  const pids = await read(pidsDir, 'pids.current');
  return {
    cpuUsageNanos: cpu ?? '0',
    memoryUsageBytes: Number(usageBig),
    memoryWorkingSetBytes: Number(ws),
    pids: pids === undefined ? undefined : Number(pids),
  };
}

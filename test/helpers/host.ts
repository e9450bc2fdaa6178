import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

// What a test node agent leaves on the host, and how a test removes it: containers, processes in its cgroups,
// mounts under its data dir (network namespaces are bind mounts there), cgroups, the service proxy's nft
// table, veths and the bridge. A real node keeps its bridge and parent cgroup for the next start; a test
// must leave the host as it found it.

/** Mount points (from /proc/self/mountinfo) under a directory. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Mount points of every cgroup hierarchy (each v1 controller, name=systemd, the cgroup2 mount). */
function cgroupMounts(): string[] {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const fstype = line.slice(dash + 3).split(' ')[0];
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && pre[3] === '/') out.add(pre[4]!);
  }
  return [...out];
}

/** Child cgroups left under a parent in any hierarchy. */
export function cgroupsUnder(parent: string): string[] {
  const left: string[] = [];
  for (const h of cgroupMounts()) {
    const dir = join(h, parent);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) left.push(`${dir}/${e.name}`);
  }
  return left;
}

/** Every cgroup at or below the parent in every hierarchy, deepest first, with its path below the parent. */
function cgroupTree(parent: string): Array<{ dir: string; below: string }> {
  const out: Array<{ dir: string; below: string }> = [];
  for (const h of cgroupMounts()) {
    const top = join(h, parent);
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
      out.push({ dir, below: dir.slice(top.length) });
    };
    if (existsSync(top)) walk(top);
  }
  return out;
}

export function bridgeExists(bridge: string): boolean {
  return existsSync(`/sys/class/net/${bridge}`);
}

/** Host-side veth interfaces enslaved to a bridge. */
export function bridgePorts(bridge: string): string[] {
  const dir = `/sys/class/net/${bridge}/brif`;
  return existsSync(dir) ? readdirSync(dir) : [];
}

function sh(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${String(stdout)}${String(stderr)}` });
    });
  });
}

export interface NodeFootprint {
  /** The server's --data-dir; the agent's state is under <dataDir>/agent. */
  dataDir: string;
  bridge: string;
  cgroupParent: string;
  /** Whether the bridge is the test's to delete (it did not exist before the agent first started). */
  ownsBridge: boolean;
}

/**
 * Removes what a stopped (or killed) node agent left on the host and returns what it had to remove beyond
 * the bridge and the empty parent cgroup, which an agent always keeps: after a clean stop that list is empty.
 * Call it only once the agent's process has exited.
 */
export async function cleanupNode(f: NodeFootprint): Promise<string[]> {
  const left: string[] = [];
  const runcRoot = join(f.dataDir, 'agent', 'runtime', 'runc');
  if (existsSync(runcRoot)) {
    const list = await sh('runc', ['--root', runcRoot, 'list', '-q']);
    for (const id of list.code === 0 ? list.out.split('\n').filter(Boolean) : []) {
      left.push(`container ${id}`);
      await sh('runc', ['--root', runcRoot, 'delete', '--force', id]);
    }
  }
  // Whatever still runs in the test's cgroups (exec sessions, a container runc lost track of).
  const pids = new Set<number>();
  for (const { dir } of cgroupTree(f.cgroupParent)) {
    const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8') : '';
    for (const p of procs.split('\n').filter(Boolean)) pids.add(Number(p));
  }
  for (const pid of pids) {
    left.push(`process ${pid}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  // Deepest first, so that a mount under another mount goes before it.
  for (const m of mountsUnder(f.dataDir).sort((a, b) => b.length - a.length)) {
    left.push(`mount ${m}`);
    if ((await sh('umount', [m])).code !== 0) await sh('umount', ['-l', m]);
  }
  for (const { dir, below } of cgroupTree(f.cgroupParent)) {
    if (below) left.push(`cgroup ${f.cgroupParent}${below}`);
    // A cgroup empties shortly after its last process is killed: retry briefly.
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || i === 49) {
          left.push(`cgroup ${dir} (cannot remove: ${(e as Error).message})`);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  // Loaded here: the agent CLI's module graph is large, and most tests start no agent.
  const { proxyTableName } = await import('../../src/cli/agent.js');
  const table = proxyTableName(f.bridge);
  if ((await sh('nft', ['list', 'table', 'ip', table])).code === 0) {
    left.push(`nft table ip ${table}`);
    await sh('nft', ['delete', 'table', 'ip', table]);
  }
  for (const veth of bridgePorts(f.bridge)) {
    left.push(`veth ${veth} on ${f.bridge}`);
    await sh('ip', ['link', 'del', veth]);
  }
  if (f.ownsBridge && bridgeExists(f.bridge)) {
    const r = await sh('ip', ['link', 'del', f.bridge]);
    if (r.code !== 0) left.push(`bridge ${f.bridge} (cannot remove: ${r.out.trim()})`);
  }
  return [...new Set(left)];
}

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The floor of pod start on this machine: what any runc-based node must do for a pod of one container, done
// with as little as possible in between: an overlay of the image's layers, a fresh network namespace pinned by a
// bind mount, CNI loopback + bridge (host-local IPAM, the same plugin configuration kite's runtime uses), and
// `runc run -d`. No conmon, no state files, no API server: the time from "go" to `runc run` returning.

export interface RuncFloorOptions {
  /** Work directory (bundles, namespace files, runc state, IPAM reservations); removed by cleanup(). */
  dir: string;
  /** Overlay lower directories, top layer first (as the image store lists them). */
  layerDirs: string[];
  bridge: string;
  /** e.g. "10.88.7.128/25"; the bridge gets its first address. */
  podCidr: string;
  gateway: string;
  /** Absolute cgroup path under which each container gets its own cgroup (created by runc). */
  cgroupParent: string;
  argv: string[];
  pluginDir?: string;
}

export interface RuncFloor {
  /** Starts `n` pods at once; resolves to each one's time from the common start to running, ms. */
  startPods(n: number, prefix: string): Promise<number[]>;
  /** Kills and removes every pod started so far (not timed). */
  removePods(): Promise<void>;
  /** Removes everything: pods, mounts, the bridge, the cgroup parent, the work directory. */
  cleanup(): Promise<void>;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function exec(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? { PATH } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ code: 127, out, err: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, out, err }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

async function must(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${(r.err || r.out).trim().slice(0, 1000)}`);
  return r.out;
}

interface OciSpec {
  process: { terminal: boolean; args: string[]; env: string[]; cwd: string };
  root: { path: string; readonly: boolean };
  hostname?: string;
  linux: { namespaces: Array<{ type: string; path?: string }>; cgroupsPath?: string };
}

export async function createRuncFloor(o: RuncFloorOptions): Promise<RuncFloor> {
  const nsDir = join(o.dir, 'netns');
  const runcRoot = join(o.dir, 'runc');
  const bundles = join(o.dir, 'bundles');
  const pluginDir = o.pluginDir ?? '/usr/lib/cni';
  for (const d of [nsDir, runcRoot, bundles, join(o.dir, 'spec')]) await mkdir(d, { recursive: true });
  // Namespace files must live under a private mount, or every container's mount namespace would pin them.
  await must('mount', ['--bind', nsDir, nsDir]);
  await must('mount', ['--make-private', nsDir]);
  await must('runc', ['spec', '--bundle', join(o.dir, 'spec')]);
  const base = JSON.parse(await readFile(join(o.dir, 'spec', 'config.json'), 'utf8')) as OciSpec;
  const started: string[] = [];

  const netconf = {
    cniVersion: '1.0.0',
    name: 'kite-bench-floor',
    type: 'bridge',
    bridge: o.bridge,
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: { type: 'host-local', dataDir: join(o.dir, 'ipam'), ranges: [[{ subnet: o.podCidr, gateway: o.gateway }]], routes: [{ dst: '0.0.0.0/0' }] },
  };
  const loopback = { cniVersion: '1.0.0', name: 'kite-bench-floor-lo', type: 'loopback' };
  const cni = (command: 'ADD' | 'DEL', conf: Record<string, unknown>, id: string, netns: string, ifName: string) =>
    (command === 'ADD' ? must : exec)(join(pluginDir, String(conf.type)), [], {
      input: JSON.stringify(conf),
      env: { PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: ifName, CNI_PATH: pluginDir },
    });

  async function startOne(id: string, t0: number): Promise<number> {
    const bundle = join(bundles, id);
    const rootfs = join(bundle, 'rootfs');
    await Promise.all(['rootfs', 'upper', 'work'].map((d) => mkdir(join(bundle, d), { recursive: true })));
    await must('mount', ['-t', 'overlay', '-o', `lowerdir=${o.layerDirs.join(':')},upperdir=${join(bundle, 'upper')},workdir=${join(bundle, 'work')}`, 'overlay', rootfs]);
    const netns = join(nsDir, id);
    await writeFile(netns, '');
    await must('unshare', [`--net=${netns}`, 'true']);
    await cni('ADD', loopback, id, netns, 'lo');
    await cni('ADD', netconf, id, netns, 'eth0');
    const spec: OciSpec = structuredClone(base);
    spec.process = { ...spec.process, terminal: false, args: o.argv, env: [`PATH=${PATH}`], cwd: '/' };
    spec.root = { path: 'rootfs', readonly: false };
    spec.hostname = id;
    spec.linux.namespaces = [...spec.linux.namespaces.filter((n) => n.type !== 'network'), { type: 'network', path: netns }];
    spec.linux.cgroupsPath = `${o.cgroupParent}/${id}`;
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    started.push(id);
    // runc run -d hands its own stdio to the container: give it /dev/null and a file, never pipes we wait on.
    const errFile = join(bundle, 'runc.err');
    const errFd = openSync(errFile, 'w');
    const r = await new Promise<number>((resolve) => {
      const child = spawn('runc', ['--root', runcRoot, 'run', '-d', '--bundle', bundle, id], { stdio: ['ignore', 'ignore', errFd], env: { PATH } });
      child.on('error', () => resolve(127));
      child.on('exit', (code) => resolve(code ?? 1));
    });
    closeSync(errFd);
    if (r !== 0) throw new Error(`runc run -d ${id} failed (exit ${r}): ${(await readFile(errFile, 'utf8').catch(() => '')).trim()}`);
    return performance.now() - t0;
  }

  async function removeOne(id: string): Promise<void> {
    const bundle = join(bundles, id);
    const netns = join(nsDir, id);
    await exec('runc', ['--root', runcRoot, 'kill', id, 'KILL']);
    // runc delete refuses a container that is still stopping; retry briefly.
    for (let i = 0; i < 50; i++) {
      const d = await exec('runc', ['--root', runcRoot, 'delete', '--force', id]);
      if (d.code === 0 || /does not exist|not found/i.test(d.err)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cni('DEL', netconf, id, netns, 'eth0');
    await cni('DEL', loopback, id, netns, 'lo');
    await exec('umount', [netns]);
    await rm(netns, { force: true });
    await exec('umount', [join(bundle, 'rootfs')]);
    await rm(bundle, { recursive: true, force: true });
  }

  return {
    async startPods(n, prefix) {
      const t0 = performance.now();
      return Promise.all(Array.from({ length: n }, (_, i) => startOne(`${prefix}${i}`, t0)));
    },
    async removePods() {
      const ids = started.splice(0);
      await Promise.all(ids.map((id) => removeOne(id)));
    },
    async cleanup() {
      const ids = started.splice(0);
      await Promise.all(ids.map((id) => removeOne(id).catch(() => undefined)));
      await exec('umount', [nsDir]);
      await exec('ip', ['link', 'del', o.bridge]);
      await rm(o.dir, { recursive: true, force: true });
    },
  };
}

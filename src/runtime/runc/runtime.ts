import { randomBytes } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { PodNetwork } from '../cni/network.js';
import type {
  ContainerConfig,
  ContainerStats,
  ContainerStatus,
  ExecResult,
  ImageService,
  PodSandboxConfig,
  PodSandboxStatus,
  RuntimeEvent,
  RuntimeService,
  StreamOptions,
  StreamSession,
} from '../interface.js';
import { applyResources, cgroupHierarchies, ensureCgroup, readCgroupStats, removeCgroup } from './cgroups.js';
import { readExit, startConmon, type ExitInfo } from './conmon.js';
import { ensurePrivateMountDir, mountOverlay, mountsUnder, unmountAll, unmountPaths } from './mounts.js';
import { createPodNamespaces, removeNamespaceFiles, startPause, stopPause } from './namespaces.js';
import { hostNetworkHostsFile, hostsFile, resolvConf } from './podfiles.js';
import { killPidFile, run, runOk } from './proc.js';
import { buildSpec, capabilitiesInMask, hostDevices } from './spec.js';
import { Store, type ContainerRecord, type SandboxRecord } from './store.js';
import { attachSession, execSession, portForwardStream } from './streams.js';
import { readRootfsFile, resolveUser } from './users.js';

// The node's container runtime on runc: sandboxes are pinned namespaces plus CNI, containers are runc bundles on
// an overlay rootfs supervised by conmon. Every fact lives in files under dataDir, so a new instance over the same
// directory adopts what an earlier one started (containers keep running across agent restarts).

export interface RuncRuntimeOptions {
  dataDir: string;
  images: Pick<ImageService, 'layerDirs'>;
  network: { bridge: string; podCidr: string; mtu?: number };
  /** Absolute cgroup path under which pod cgroups are created, e.g. "/kite". */
  cgroupParent: string;
  /** The pod IP of hostNetwork pods. */
  nodeIP?: string;
  log(m: string): void;
}

export async function createRuncRuntime(opts: RuncRuntimeOptions): Promise<RuntimeService> {
  const rt = new RuncRuntime(opts);
  await rt.init();
  return rt;
}

const LOG_SIZE_MAX = 10 * 1024 * 1024;
const EXIT_POLL_MS = 2000;
const KILL_WAIT_MS = 10_000;
const CATATONIT = '/usr/bin/catatonit';

function findBinary(name: string): string {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed (looked in /usr/local/sbin, /usr/sbin, /usr/bin, …); install it to run pods`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class RuncRuntime implements RuntimeService {
  private readonly store: Store;
  private readonly net: PodNetwork;
  private readonly nsDir: string;
  private readonly runcRoot: string;
  private readonly exitDir: string;
  private readonly persistRoot: string;
  private readonly socketDir: string;
  private readonly cgroupParent: string;
  private runc = 'runc';
  private runcVersion = 'unknown';
  private allCapabilities?: string[];
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Containers runc no longer knows (deleted by us); forgotten when the container is removed. */
  private readonly runcDeleted = new Set<string>();
  private watcher?: FSWatcher;
  private poller?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: RuncRuntimeOptions) {
    if (!opts.cgroupParent.startsWith('/')) throw new Error(`cgroupParent "${opts.cgroupParent}" must be an absolute cgroup path such as /kite`);
    this.store = new Store(opts.dataDir);
    this.nsDir = join(opts.dataDir, 'netns');
    this.runcRoot = join(opts.dataDir, 'runc');
    this.exitDir = join(opts.dataDir, 'conmon', 'exits');
    this.persistRoot = join(opts.dataDir, 'conmon', 'persist');
    this.socketDir = join(opts.dataDir, 'conmon', 'sock');
    this.cgroupParent = opts.cgroupParent.replace(/\/+$/, '');
    this.net = new PodNetwork({ dataDir: join(opts.dataDir, 'cni'), bridge: opts.network.bridge, podCidr: opts.network.podCidr, mtu: opts.network.mtu });
  }

  async init(): Promise<void> {
    this.runc = findBinary('runc');
    findBinary('conmon');
    if (!existsSync(CATATONIT)) throw new Error(`${CATATONIT} is not installed; install catatonit (the containers' init)`);
    for (const d of [this.nsDir, this.runcRoot, this.exitDir, this.persistRoot, this.socketDir]) await mkdir(d, { recursive: true });
    await this.store.init();
    await ensurePrivateMountDir(this.nsDir);
    const v = await runOk(this.runc, ['--version']);
    this.runcVersion = /runc version (\S+)/.exec(v)?.[1] ?? 'unknown';
    const status = await readFile('/proc/self/status', 'utf8');
    const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (bnd) this.allCapabilities = capabilitiesInMask(bnd);

    for (const s of await this.store.loadSandboxes()) this.sandboxes.set(s.id, s);
    for (const c of await this.store.loadContainers()) {
      if (c.removed) continue;
      this.containers.set(c.id, c);
      if (c.finishedAt === undefined) await this.adopt(c);
    }
    this.watcher = watch(this.exitDir, (_ev, file) => {
      if (file) void this.checkExit(String(file));
    });
    this.watcher.on('error', (e) => this.opts.log(`runc runtime: exit watcher failed (${e.message}); falling back to polling`));
    // A slow poll as a backstop for missed inotify events.
    this.poller = setInterval(() => {
      for (const c of this.containers.values()) if (c.finishedAt === undefined) void this.checkExit(c.id);
    }, EXIT_POLL_MS);
    this.poller.unref();
  }

  /** A container found at startup: learn whether it exited while no runtime was watching. */
  private async adopt(c: ContainerRecord): Promise<void> {
    const exit = await this.readExitOf(c);
    if (exit) {
      this.applyExit(c, exit);
      await this.store.saveContainer(c);
      return;
    }
    const state = await this.runcState(c.id);
    if (state === 'running' || state === 'created' || state === 'paused') return;
    // Exited without conmon writing its file (conmon killed): the exit code is gone.
    const again = await this.readExitOf(c);
    if (again) this.applyExit(c, again);
    else {
      c.finishedAt = Date.now();
      c.exitCode = 255;
      c.lostReason = 'the container exited while its monitor (conmon) was not running; exit code unknown';
    }
    await this.store.saveContainer(c);
  }

  version(): { runtimeName: string; runtimeVersion: string; runtimeApiVersion: string } {
    return { runtimeName: 'runc', runtimeVersion: this.runcVersion, runtimeApiVersion: 'v1' };
  }

  // ------------------------------------------------------------------------------------------ sandboxes

  async runPodSandbox(config: PodSandboxConfig): Promise<PodSandboxStatus> {
    const id = randomBytes(32).toString('hex');
    const dir = this.store.sandboxDir(id);
    await mkdir(join(dir, 'shm'), { recursive: true });
    const rec: SandboxRecord = {
      id,
      config,
      state: 'NotReady',
      createdAt: Date.now(),
      ns: { ipc: join(this.nsDir, `${id}-ipc`) },
      cgroupPath: `${this.cgroupParent}/pod${config.podUid}`,
      dir,
    };
    // Recorded before anything is created, so a failure (or a crash) half-way can be undone by removePodSandbox.
    this.sandboxes.set(id, rec);
    await this.store.saveSandbox(rec);
    try {
      // The cgroup (files only) and the namespaces with the /dev/shm tmpfs (one process) do not depend on each other.
      const cgroup = (async () => {
        await ensureCgroup(rec.cgroupPath);
        if (config.resources) await applyResources(rec.cgroupPath, config.resources);
      })();
      // Both settle before a failure is handled: a clean-up racing a cgroup still being created would leak it.
      const [cgroupDone, created] = await Promise.allSettled([
        cgroup,
        createPodNamespaces(this.nsDir, id, {
          hostNetwork: config.hostNetwork,
          hostname: config.hostname,
          shm: { path: join(dir, 'shm'), options: 'mode=1777,size=65536k,nosuid,nodev,noexec' },
        }),
      ]);
      if (cgroupDone.status === 'rejected') throw cgroupDone.reason;
      if (created.status === 'rejected') throw created.reason;
      const ns = created.value;
      rec.ns = { ...ns };
      await this.store.saveSandbox(rec);

      if (config.hostNetwork) {
        rec.ip = this.opts.nodeIP;
        const [hosts, resolv] = await Promise.all([readFile('/etc/hosts', 'utf8').catch(() => ''), readFile('/etc/resolv.conf', 'utf8').catch(() => '')]);
        await Promise.all([
          writeFile(join(dir, 'hostname'), `${osHostname()}\n`),
          writeFile(join(dir, 'hosts'), hostNetworkHostsFile(hosts, config)),
          writeFile(join(dir, 'resolv.conf'), resolv),
        ]);
      } else {
        const att = await this.net.setUp({
          sandboxId: id,
          netnsPath: ns.net!,
          podName: config.name,
          podNamespace: config.namespace,
          podUid: config.podUid,
          portMappings: config.portMappings,
          // createPodNamespaces brought lo up in the same process that made the namespace.
          loopbackUp: true,
        });
        rec.ip = att.ip;
        rec.hostVeth = att.hostVeth;
        await Promise.all([
          writeFile(join(dir, 'hostname'), `${config.hostname}\n`),
          writeFile(join(dir, 'hosts'), hostsFile(config, att.ip)),
          writeFile(join(dir, 'resolv.conf'), resolvConf(config.dns)),
        ]);
      }
      if (config.shareProcessNamespace) {
        rec.ns.pid = join(this.nsDir, `${id}-pid`);
        await this.store.saveSandbox(rec);
        const procs = (await cgroupHierarchies()).map((h) => join(h.mountPoint, rec.cgroupPath, 'cgroup.procs'));
        rec.pause = await startPause(rec.ns.pid, ns, procs, CATATONIT);
      }
      rec.state = 'Ready';
      await this.store.saveSandbox(rec);
      this.opts.log(`sandbox ${id.slice(0, 12)} for ${config.namespace}/${config.name} ready (ip ${rec.ip ?? 'none'})`);
      return this.sandboxStatus(rec);
    } catch (e) {
      await this.removePodSandbox(id).catch((err: Error) => this.opts.log(`cleanup of failed sandbox ${id.slice(0, 12)}: ${err.message}`));
      throw e;
    }
  }

  stopPodSandbox(id: string): Promise<void> {
    return this.withLock(`sandbox:${id}`, () => this.stopSandboxLocked(id));
  }

  private async stopSandboxLocked(id: string): Promise<void> {
    const rec = this.sandboxes.get(id);
    if (!rec) return;
    for (const c of this.containersOf(id)) await this.stopContainer(c.id, 0);
    if (rec.pause) await stopPause(rec.pause);
    if (!rec.config.hostNetwork) await this.net.tearDown(id);
    if (rec.state !== 'NotReady') {
      rec.state = 'NotReady';
      await this.store.saveSandbox(rec);
    }
  }

  removePodSandbox(id: string): Promise<void> {
    return this.withLock(`sandbox:${id}`, async () => {
      const rec = this.sandboxes.get(id);
      if (!rec) return;
      await this.stopSandboxLocked(id);
      for (const c of this.containersOf(id)) await this.removeContainer(c.id);
      // The namespace files and the shm tmpfs in one umount; unmountAll then finds anything else left under dir.
      const nsFiles = [rec.ns.net, rec.ns.ipc, rec.ns.uts, rec.ns.pid].filter((p): p is string => !!p);
      await unmountPaths([...nsFiles, join(rec.dir, 'shm')]);
      await removeNamespaceFiles(nsFiles);
      await unmountAll(rec.dir);
      // The pod cgroup is the pod's, not the sandbox's: keep it while another sandbox of the pod exists.
      const sharedWith = [...this.sandboxes.values()].some((s) => s.id !== id && s.config.podUid === rec.config.podUid);
      if (!sharedWith) await removeCgroup(rec.cgroupPath);
      await rm(rec.dir, { recursive: true, force: true });
      this.sandboxes.delete(id);
      this.opts.log(`sandbox ${id.slice(0, 12)} for ${rec.config.namespace}/${rec.config.name} removed`);
    });
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    const rec = this.sandboxes.get(id);
    return rec ? this.sandboxStatus(rec) : undefined;
  }

  async listPodSandboxes(): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()].map((r) => this.sandboxStatus(r));
  }

  private sandboxStatus(r: SandboxRecord): PodSandboxStatus {
    return {
      id: r.id,
      podUid: r.config.podUid,
      name: r.config.name,
      namespace: r.config.namespace,
      attempt: r.config.attempt,
      state: r.state,
      ip: r.ip,
      createdAt: r.createdAt,
      netnsPath: r.ns.net,
      hostsPath: join(r.dir, 'hosts'),
      resolvConfPath: join(r.dir, 'resolv.conf'),
      hostnamePath: join(r.dir, 'hostname'),
    };
  }

  // ----------------------------------------------------------------------------------------- containers

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) throw new Error(`pod sandbox ${sandboxId} does not exist; create the sandbox first`);
    if (sb.state !== 'Ready') throw new Error(`pod sandbox ${sandboxId.slice(0, 12)} is not ready (stopped); recreate the pod sandbox`);
    const id = randomBytes(32).toString('hex');
    const bundle = this.store.containerDir(id);
    const rootfs = join(bundle, 'rootfs');
    const rec: ContainerRecord = {
      id,
      sandboxId,
      config,
      createdAt: Date.now(),
      cgroupPath: `${sb.cgroupPath}/${id}`,
      bundle,
    };
    try {
      const persistDir = join(this.persistRoot, id);
      await Promise.all([...['rootfs', 'upper', 'work'].map((d) => mkdir(join(bundle, d), { recursive: true })), mkdir(dirname(config.logPath), { recursive: true }), mkdir(persistDir, { recursive: true })]);
      await mountOverlay(this.opts.images.layerDirs(config.image), join(bundle, 'upper'), join(bundle, 'work'), rootfs);
      const sec = config.security;
      const [passwd, group] = await Promise.all([readRootfsFile(rootfs, 'etc/passwd'), readRootfsFile(rootfs, 'etc/group')]);
      const user = resolveUser({ runAsUser: sec.runAsUser, runAsGroup: sec.runAsGroup, supplementalGroups: sec.supplementalGroups, imageUser: config.imageUser }, passwd, group);
      const spec = buildSpec({
        config,
        user,
        cgroupsPath: rec.cgroupPath,
        namespaces: { network: sb.ns.net, ipc: sb.ns.ipc, uts: sb.ns.uts, pid: sb.ns.pid },
        pod: { hostsPath: join(sb.dir, 'hosts'), resolvConfPath: join(sb.dir, 'resolv.conf'), hostnamePath: join(sb.dir, 'hostname'), shmPath: join(sb.dir, 'shm') },
        initBinary: CATATONIT,
        hostDevices: sec.privileged ? await hostDevices() : undefined,
        allCapabilities: this.allCapabilities,
      });
      await Promise.all([writeFile(join(bundle, 'config.json'), JSON.stringify(spec, null, 1)), this.store.saveContainer(rec)]);
      this.containers.set(id, rec);
      const started = await startConmon({
        id,
        name: config.name,
        bundle,
        logPath: config.logPath,
        logSizeMax: LOG_SIZE_MAX,
        tty: config.tty,
        runc: this.runc,
        runcRoot: this.runcRoot,
        exitDir: this.exitDir,
        persistDir,
        socketDir: this.socketDir,
      });
      rec.pid = started.pid;
      rec.conmonPid = started.conmonPid;
      await this.store.saveContainer(rec);
      return id;
    } catch (e) {
      this.containers.delete(id);
      await this.destroyBundle(rec).catch(() => undefined);
      this.runcDeleted.delete(id);
      throw e;
    }
  }

  startContainer(id: string): Promise<void> {
    return this.withLock(`ctr:${id}`, async () => {
      const rec = this.mustContainer(id);
      if (rec.startedAt !== undefined) return;
      if (rec.finishedAt !== undefined) throw new Error(`container ${id.slice(0, 12)} has already exited; create a new one`);
      await runOk(this.runc, ['--root', this.runcRoot, 'start', id]);
      rec.startedAt = Date.now();
      await this.store.saveContainer(rec);
      this.emit({ type: 'ContainerStarted', containerId: id, sandboxId: rec.sandboxId });
    });
  }

  stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    return this.withLock(`ctr:${id}`, async () => {
      const rec = this.containers.get(id);
      if (!rec) return;
      if (rec.finishedAt === undefined) await this.checkExit(id);
      if (rec.finishedAt === undefined) {
        const sharedPid = Boolean(this.sandboxes.get(rec.sandboxId)?.ns.pid);
        if (gracePeriodSeconds > 0 && rec.startedAt !== undefined) {
          await this.kill(id, 'TERM', false);
          await this.waitExit(rec, gracePeriodSeconds * 1000);
        }
        if (rec.finishedAt === undefined) {
          // In a shared PID namespace the container's init is not PID 1: killing it would leave its children.
          await this.kill(id, 'KILL', sharedPid);
          await this.waitExit(rec, KILL_WAIT_MS);
        }
        if (rec.finishedAt === undefined) {
          const state = await this.runcState(id);
          if (state === 'running' || state === 'created') throw new Error(`container ${id.slice(0, 12)} did not die after SIGKILL; check the node (D-state processes?)`);
          rec.finishedAt = Date.now();
          rec.exitCode = 137;
          rec.lostReason = 'the container was killed but its monitor (conmon) recorded no exit code';
          await this.store.saveContainer(rec);
          this.emit({ type: 'ContainerExited', containerId: id, sandboxId: rec.sandboxId });
        }
      }
      await this.runcDelete(id);
    });
  }

  removeContainer(id: string): Promise<void> {
    return (async () => {
      const rec = this.containers.get(id);
      if (!rec) return;
      await this.stopContainer(id, 0);
      await this.withLock(`ctr:${id}`, async () => {
        await this.destroyBundle(rec);
        this.containers.delete(id);
        this.runcDeleted.delete(id);
        this.emit({ type: 'ContainerRemoved', containerId: id, sandboxId: rec.sandboxId });
      });
    })();
  }

  /** Everything of a container on the host, except its log (the agent owns log files). */
  private async destroyBundle(rec: ContainerRecord): Promise<void> {
    await this.runcDelete(rec.id);
    await unmountAll(rec.bundle);
    // runc delete removes the leaf cgroup; a failed create may have left it.
    await removeCgroup(rec.cgroupPath).catch(() => undefined);
    await rm(rec.bundle, { recursive: true, force: true });
    await rm(join(this.exitDir, rec.id), { force: true });
    await rm(join(this.persistRoot, rec.id), { recursive: true, force: true });
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const rec = this.containers.get(id);
    if (!rec) return undefined;
    if (rec.finishedAt === undefined && rec.startedAt !== undefined) await this.checkExit(id);
    return this.status(rec);
  }

  async listContainers(filter?: { sandboxId?: string }): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const rec of this.containers.values()) {
      if (filter?.sandboxId && rec.sandboxId !== filter.sandboxId) continue;
      const s = await this.containerStatus(rec.id);
      if (s) out.push(s);
    }
    return out;
  }

  private status(r: ContainerRecord): ContainerStatus {
    const state = r.finishedAt !== undefined ? 'Exited' : r.startedAt !== undefined ? 'Running' : 'Created';
    let reason: string | undefined;
    if (state === 'Exited') reason = r.oomKilled ? 'OOMKilled' : r.exitCode === 0 ? 'Completed' : 'Error';
    return {
      id: r.id,
      sandboxId: r.sandboxId,
      name: r.config.name,
      attempt: r.config.attempt,
      state,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      exitCode: r.exitCode,
      reason,
      message: r.lostReason,
      imageRef: r.config.image.repoTags[0] ?? r.config.image.id,
      imageId: r.config.image.id,
      logPath: r.config.logPath,
      pid: state === 'Running' ? r.pid : undefined,
      labels: r.config.labels,
      annotations: r.config.annotations,
    };
  }

  // ------------------------------------------------------------------------------------ exec and streams

  async execSync(id: string, argv: string[], timeoutMs: number): Promise<ExecResult> {
    this.mustBeRunning(id);
    const dir = join(this.opts.dataDir, 'run');
    await mkdir(dir, { recursive: true });
    const pidFile = join(dir, `exec-${randomBytes(8).toString('hex')}.pid`);
    try {
      const r = await run(this.runc, ['--root', this.runcRoot, 'exec', '--pid-file', pidFile, id, ...argv], {
        timeoutMs,
        // Killing runc itself would leave the process running in the container: kill the process.
        onTimeout: () => void killPidFile(pidFile),
      });
      return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
    } finally {
      await rm(pidFile, { force: true });
    }
  }

  async exec(id: string, argv: string[], opts: StreamOptions): Promise<StreamSession> {
    this.mustBeRunning(id);
    return execSession({ runc: this.runc, runcRoot: this.runcRoot, containerId: id }, argv, opts);
  }

  async attach(id: string, opts: StreamOptions): Promise<StreamSession> {
    const rec = this.mustBeRunning(id);
    const exited = new Promise<number>((resolve) => {
      const done = (): boolean => {
        if (rec.finishedAt === undefined) return false;
        resolve(rec.exitCode ?? 255);
        return true;
      };
      if (done()) return;
      const off = this.onEvent((e) => {
        if (e.containerId === id && (e.type === 'ContainerExited' || e.type === 'ContainerRemoved') && (done() || e.type === 'ContainerRemoved')) {
          off();
          resolve(rec.exitCode ?? 255);
        }
      });
    });
    return attachSession({ logPath: rec.config.logPath, exited }, opts);
  }

  async portForward(sandboxId: string, port: number): Promise<Duplex> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) throw new Error(`pod sandbox ${sandboxId} does not exist`);
    if (sb.state !== 'Ready') throw new Error(`pod sandbox ${sandboxId.slice(0, 12)} is not running; port-forward needs a running pod`);
    return portForwardStream(sb.ns.net, port);
  }

  async containerStats(id: string): Promise<ContainerStats | undefined> {
    const rec = this.containers.get(id);
    if (!rec || rec.startedAt === undefined || rec.finishedAt !== undefined) return undefined;
    const s = await readCgroupStats(rec.cgroupPath);
    if (!s) return undefined;
    return { timestamp: Date.now(), ...s };
  }

  onEvent(listener: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    await Promise.allSettled([...this.locks.values()]);
    // The private namespace directory is re-created by the next instance; leave no idle mount behind.
    const under = await mountsUnder(this.nsDir);
    if (under.length === 1 && under[0] === this.nsDir) await run('umount', [this.nsDir]);
  }

  // ---------------------------------------------------------------------------------------------- helpers

  private emit(e: RuntimeEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.opts.log(`runtime event listener failed: ${(err as Error).message}`);
      }
    }
  }

  private containersOf(sandboxId: string): ContainerRecord[] {
    return [...this.containers.values()].filter((c) => c.sandboxId === sandboxId);
  }

  private mustContainer(id: string): ContainerRecord {
    const rec = this.containers.get(id);
    if (!rec) throw new Error(`container ${id} does not exist on this node`);
    return rec;
  }

  private mustBeRunning(id: string): ContainerRecord {
    const rec = this.mustContainer(id);
    if (rec.startedAt === undefined || rec.finishedAt !== undefined) throw new Error(`container ${id.slice(0, 12)} is not running`);
    return rec;
  }

  private readExitOf(c: ContainerRecord): Promise<ExitInfo | undefined> {
    return readExit(this.exitDir, join(this.persistRoot, c.id), c.bundle, c.id);
  }

  private applyExit(c: ContainerRecord, exit: ExitInfo): void {
    c.finishedAt = exit.finishedAt;
    c.exitCode = exit.exitCode;
    c.oomKilled = exit.oomKilled;
  }

  /** Records an exit conmon has written, once, and announces it. */
  private async checkExit(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c || c.finishedAt !== undefined || this.closed) return;
    const exit = await this.readExitOf(c);
    if (!exit || c.finishedAt !== undefined) return;
    this.applyExit(c, exit);
    await this.store.saveContainer(c).catch(() => undefined);
    this.emit({ type: 'ContainerExited', containerId: id, sandboxId: c.sandboxId });
  }

  private async waitExit(rec: ContainerRecord, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (rec.finishedAt === undefined && Date.now() < deadline) {
      await this.checkExit(rec.id);
      if (rec.finishedAt === undefined) await sleep(25);
    }
  }

  private async kill(id: string, signal: string, all: boolean): Promise<void> {
    // Errors are expected when the container has just exited; the exit file is what counts.
    await run(this.runc, ['--root', this.runcRoot, 'kill', ...(all ? ['--all'] : []), id, signal]);
  }

  private async runcDelete(id: string): Promise<void> {
    // stopContainer, removeContainer and destroyBundle each make sure runc's state is gone: ask runc once.
    if (this.runcDeleted.has(id)) return;
    const r = await run(this.runc, ['--root', this.runcRoot, 'delete', id]);
    const msg = r.stderr.toString();
    if (r.code !== 0 && !/does not exist|not found/i.test(msg)) throw new Error(`runc delete ${id.slice(0, 12)} failed: ${msg.trim()}`);
    this.runcDeleted.add(id);
  }

  private async runcState(id: string): Promise<string | undefined> {
    const r = await run(this.runc, ['--root', this.runcRoot, 'state', id]);
    if (r.code !== 0) return undefined;
    return /"status":\s*"(\w+)"/.exec(r.stdout.toString())?.[1];
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }
}

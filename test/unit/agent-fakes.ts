import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { normalizeImageRef, PullError, type ContainerConfig, type ContainerStats, type ContainerStatus, type ExecResult, type ImageInfo, type ImageService, type PodSandboxConfig, type PodSandboxStatus, type RuntimeEvent, type RuntimeService, type StreamSession } from '../../src/runtime/interface.js';
import type { VolumeManager, VolumeMount } from '../../src/agent/types.js';

// In-memory stand-ins for the runtime, the image store and the volume manager, so the agent's pod logic
// is tested against a real API server without starting containers. A container's argv says what it does:
// ["exit", "N"] exits with N shortly after it starts; anything else runs until stopped.

type FakeContainer = ContainerStatus & { config: ContainerConfig; stopGrace?: number };
type FakeSandbox = PodSandboxStatus & { config: PodSandboxConfig };

export class FakeRuntime implements RuntimeService {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  /** Every container ever created, in order. */
  readonly created: FakeContainer[] = [];
  readonly removedSandboxes: string[] = [];
  /** Per pod UID, how often its containers were listed by sandbox: a pod worker does so once per sync. */
  readonly podListings = new Map<string, number>();
  /** Exec (probes, hooks): the exit code for argv; default 0. */
  execHandler: (id: string, argv: string[]) => number = () => 0;
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  private nextIP = 2;
  private readonly timers = new Set<NodeJS.Timeout>();

  version() {
    return { runtimeName: 'runc', runtimeVersion: '1.1.5-fake', runtimeApiVersion: 'v1' };
  }

  private emit(e: RuntimeEvent): void {
    for (const l of this.listeners) l(e);
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<PodSandboxStatus> {
    const id = randomBytes(8).toString('hex');
    const sb: FakeSandbox = {
      id,
      podUid: config.podUid,
      name: config.name,
      namespace: config.namespace,
      attempt: config.attempt,
      state: 'Ready',
      ip: config.hostNetwork ? '127.0.0.1' : `10.88.3.${this.nextIP++}`,
      createdAt: Date.now(),
      hostsPath: '/dev/null',
      resolvConfPath: '/dev/null',
      hostnamePath: '/dev/null',
      config,
    };
    this.sandboxes.set(id, sb);
    return { ...sb };
  }

  /** Adds a sandbox and a running container as a previous agent would have left them. */
  addOrphan(podUid: string, name: string, namespace: string): string {
    const id = randomBytes(8).toString('hex');
    this.sandboxes.set(id, { id, podUid, name, namespace, attempt: 0, state: 'Ready', ip: '10.88.3.250', createdAt: Date.now(), hostsPath: '', resolvConfPath: '', hostnamePath: '', config: {} as PodSandboxConfig });
    const cid = randomBytes(8).toString('hex');
    this.containers.set(cid, { id: cid, sandboxId: id, name: 'app', attempt: 0, state: 'Running', createdAt: Date.now(), startedAt: Date.now(), imageRef: 'busybox', imageId: 'sha256:x', logPath: '', labels: { 'io.kubernetes.pod.uid': podUid, 'io.kubernetes.container.name': 'app' }, annotations: {}, config: {} as ContainerConfig });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sb = this.sandboxes.get(id);
    if (!sb) return;
    for (const c of this.containers.values()) if (c.sandboxId === id && c.state === 'Running') this.exit(c.id, 137);
    sb.state = 'NotReady';
  }

  async removePodSandbox(id: string): Promise<void> {
    if (!this.sandboxes.has(id)) return;
    for (const c of [...this.containers.values()]) if (c.sandboxId === id) this.containers.delete(c.id);
    this.sandboxes.delete(id);
    this.removedSandboxes.push(id);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    const sb = this.sandboxes.get(id);
    return sb ? { ...sb } : undefined;
  }

  async listPodSandboxes(): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()].map((s) => ({ ...s }));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    if (!this.sandboxes.has(sandboxId)) throw new Error(`no sandbox ${sandboxId}`);
    const id = randomBytes(12).toString('hex');
    const c: FakeContainer = { id, sandboxId, name: config.name, attempt: config.attempt, state: 'Created', createdAt: Date.now(), imageRef: config.image.repoTags[0] ?? '', imageId: config.image.id, logPath: config.logPath, labels: config.labels, annotations: config.annotations, config };
    this.containers.set(id, c);
    this.created.push(c);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    c.state = 'Running';
    c.startedAt = Date.now();
    this.emit({ type: 'ContainerStarted', containerId: id, sandboxId: c.sandboxId });
    const [cmd, code] = c.config.argv;
    if (cmd === 'exit') {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.containers.get(id)?.state === 'Running') this.exit(id, Number(code ?? 0));
      }, 50);
      this.timers.add(t);
    }
  }

  /** The container's process ends with `code`. */
  exit(id: string, code: number): void {
    const c = this.containers.get(id);
    if (!c || c.state === 'Exited') return;
    c.state = 'Exited';
    c.exitCode = code;
    c.reason = code === 0 ? 'Completed' : 'Error';
    c.finishedAt = Date.now();
    this.emit({ type: 'ContainerExited', containerId: id, sandboxId: c.sandboxId });
  }

  async stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    c.stopGrace = gracePeriodSeconds;
    if (c.state === 'Running' || c.state === 'Created') this.exit(id, 137);
  }

  async removeContainer(id: string): Promise<void> {
    this.containers.delete(id);
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const c = this.containers.get(id);
    return c ? { ...c } : undefined;
  }

  async listContainers(filter?: { sandboxId?: string }): Promise<ContainerStatus[]> {
    const podUid = filter?.sandboxId ? this.sandboxes.get(filter.sandboxId)?.podUid : undefined;
    if (podUid) this.podListings.set(podUid, (this.podListings.get(podUid) ?? 0) + 1);
    return [...this.containers.values()].filter((c) => !filter?.sandboxId || c.sandboxId === filter.sandboxId).map((c) => ({ ...c }));
  }

  async execSync(id: string, argv: string[]): Promise<ExecResult> {
    const code = this.execHandler(id, argv);
    return { exitCode: code, stdout: Buffer.from(code === 0 ? '' : `probe said no (${argv.join(' ')})`), stderr: Buffer.alloc(0), timedOut: false };
  }

  async exec(): Promise<StreamSession> {
    throw new Error('not supported by the fake runtime');
  }

  async attach(): Promise<StreamSession> {
    throw new Error('not supported by the fake runtime');
  }

  async portForward(): Promise<Duplex> {
    return new PassThrough();
  }

  async containerStats(): Promise<ContainerStats | undefined> {
    return undefined;
  }

  onEvent(listener: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
  }

  /** Containers of a pod by container name, latest first. */
  podContainers(podUid: string, name: string): FakeContainer[] {
    return this.created.filter((c) => c.labels['io.kubernetes.pod.uid'] === podUid && c.config.name === name).reverse();
  }
}

export class FakeImages implements ImageService {
  readonly pulls: string[] = [];
  readonly missing = new Set<string>();
  private readonly present = new Map<string, ImageInfo>();

  private info(ref: string): ImageInfo {
    const name = normalizeImageRef(ref);
    const digest = createHash('sha256').update(name).digest('hex');
    const repo = name.replace(/:[^:/]*$/, '');
    return { id: `sha256:${createHash('sha256').update(`config ${name}`).digest('hex')}`, repoTags: [name], repoDigests: [`${repo}@sha256:${digest}`], size: 4242, config: { entrypoint: [], cmd: ['sleep'], env: ['PATH=/usr/bin:/bin', 'FROM_IMAGE=1'], workingDir: '/', user: '', exposedPorts: [], labels: {} }, layers: [] };
  }

  async pullImage(ref: string): Promise<ImageInfo> {
    this.pulls.push(ref);
    if (this.missing.has(ref)) throw new PullError(`failed to resolve reference "${normalizeImageRef(ref)}": not found`, true);
    const i = this.info(ref);
    this.present.set(i.repoTags[0]!, i);
    return i;
  }

  async imageStatus(ref: string): Promise<ImageInfo | undefined> {
    return this.present.get(normalizeImageRef(ref)) ?? [...this.present.values()].find((i) => i.id === ref);
  }

  async listImages(): Promise<ImageInfo[]> {
    return [...this.present.values()];
  }

  async removeImage(ref: string): Promise<void> {
    this.present.delete(normalizeImageRef(ref));
  }

  layerDirs(): string[] {
    return [];
  }

  async usage() {
    return { usedBytes: 0, capacityBytes: 100, availableBytes: 90 };
  }
}

export class FakeVolumes implements VolumeManager {
  readonly tornDown: string[] = [];
  readonly onDisk = new Set<string>();
  /** Volume names whose set-up fails. */
  readonly failing = new Set<string>();

  constructor(private readonly dir: string) {}

  async setUp(pod: Pod): Promise<Map<string, VolumeMount>> {
    const uid = pod.metadata?.uid ?? '';
    const out = new Map<string, VolumeMount>();
    for (const v of pod.spec?.volumes ?? []) {
      if (this.failing.has(v.name)) throw Object.assign(new Error(`MountVolume.SetUp failed for volume "${v.name}" : not today`), { reason: 'FailedMount' });
      const p = join(this.dir, uid, v.name);
      mkdirSync(p, { recursive: true });
      out.set(v.name, { hostPath: p, readOnly: false });
    }
    this.onDisk.add(uid);
    return out;
  }

  async refresh(): Promise<void> {}

  async tearDown(podUid: string): Promise<void> {
    this.tornDown.push(podUid);
    this.onDisk.delete(podUid);
    rmSync(join(this.dir, podUid), { recursive: true, force: true });
  }

  async podsOnDisk(): Promise<string[]> {
    return [...this.onDisk];
  }
}

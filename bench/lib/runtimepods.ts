import { join } from 'node:path';
import type { ContainerConfig, ImageInfo, ImageService, PodSandboxConfig, RuntimeService } from '../../src/runtime/interface.js';
import { createRuncRuntime } from '../../src/runtime/runc/runtime.js';

// kite's runc runtime on its own, in the bench process: RunPodSandbox + CreateContainer + StartContainer per pod,
// as the agent calls them, without the API server, scheduler, agent or status reports. Between the floor (raw runc
// + CNI) and the whole of kite, it says whether the time goes to the runtime or above it.

export interface StepTimes {
  /** From the common start to StartContainer returning, ms. */
  total: number;
  sandbox: number;
  create: number;
  start: number;
}

export interface RuntimePods {
  startPods(n: number, prefix: string): Promise<StepTimes[]>;
  removePods(): Promise<void>;
  close(): Promise<void>;
}

export async function createRuntimePods(o: {
  dataDir: string;
  images: Pick<ImageService, 'layerDirs'>;
  image: ImageInfo;
  bridge: string;
  podCidr: string;
  cgroupParent: string;
  argv: string[];
}): Promise<RuntimePods> {
  const rt: RuntimeService = await createRuncRuntime({
    dataDir: o.dataDir,
    images: o.images,
    network: { bridge: o.bridge, podCidr: o.podCidr },
    cgroupParent: o.cgroupParent,
    log: () => undefined,
  });
  const sandboxes: string[] = [];
  let seq = 0;

  const sandboxConfig = (name: string): PodSandboxConfig => ({
    podUid: `00000000-0000-4000-9000-${String(++seq).padStart(12, '0')}`,
    name,
    namespace: 'bench',
    attempt: 0,
    hostname: name,
    dns: { servers: ['10.43.0.10'], searches: ['bench.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
    hostAliases: [],
    portMappings: [],
    hostNetwork: false,
    shareProcessNamespace: false,
    labels: {},
    annotations: {},
  });
  const containerConfig = (name: string): ContainerConfig => ({
    name: 'app',
    attempt: 0,
    image: o.image,
    argv: o.argv,
    env: [{ name: 'PATH', value: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }],
    workingDir: '/',
    mounts: [],
    logPath: join(o.dataDir, 'logs', name, '0.log'),
    stdin: false,
    stdinOnce: false,
    tty: false,
    resources: {},
    security: {},
    labels: {},
    annotations: {},
  });

  async function one(name: string, t0: number): Promise<StepTimes> {
    const a = performance.now();
    const sb = await rt.runPodSandbox(sandboxConfig(name));
    sandboxes.push(sb.id);
    const b = performance.now();
    const id = await rt.createContainer(sb.id, containerConfig(name));
    const c = performance.now();
    await rt.startContainer(id);
    const d = performance.now();
    return { total: d - t0, sandbox: b - a, create: c - b, start: d - c };
  }

  return {
    startPods(n, prefix) {
      const t0 = performance.now();
      return Promise.all(Array.from({ length: n }, (_, i) => one(`${prefix}${i}`, t0)));
    },
    async removePods() {
      const ids = sandboxes.splice(0);
      await Promise.all(ids.map((id) => rt.removePodSandbox(id)));
    },
    async close() {
      const ids = sandboxes.splice(0);
      await Promise.all(ids.map((id) => rt.removePodSandbox(id).catch(() => undefined)));
      await rt.close();
    },
  };
}

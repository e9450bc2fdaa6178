import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigMap, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { RestClient, resource, type ClientConfig } from '../client/rest.js';
import type { ImageInfo, ImageService, RuntimeService } from '../runtime/interface.js';
import { Backoff } from './backoff.js';
import { collectImages, DEFAULT_IMAGE_GC } from './imagegc.js';
import { ImagePuller } from './images.js';
import { createLocator } from './locator.js';
import { errorMessage, isTerminalPhase } from './meta.js';
import { capacityOf, NodeReporter } from './node.js';
import { PodSyncer, type EventFn } from './podsync.js';
import { containerFieldPath } from './containerref.js';
import { ProbeManager } from './probes.js';
import { milliCpu, bytes } from './resources.js';
import { servingCertificate } from './tls.js';
import type { AgentImageService, VolumeManager } from './types.js';
import { PodWorkers } from './workers.js';
import type { StreamingServer } from './streaming/server.js';

// The node agent (kubelet): registers the node and keeps its Lease and status fresh, runs the pods bound
// to it through the runtime, and serves logs/exec/port-forward. Everything it knows about running pods it
// reads back from the runtime, so a restarted agent adopts what its predecessor started.

const PODS = resource('', 'v1', 'pods');
const SERVICES = resource('', 'v1', 'services');
const CONFIGMAPS = resource('', 'v1', 'configmaps');
const SECRETS = resource('', 'v1', 'secrets');

export interface AgentTiming {
  /** Periodic re-sync of every pod worker (the kubelet's is about 10 s... per pod, plus events). */
  resyncMs: number;
  leaseRenewMs: number;
  statusUpdateMs: number;
  /** How often an unchanged node status is re-posted. */
  statusReportMs: number;
  imageGcMs: number;
  housekeepingMs: number;
  crashBackoffInitialMs: number;
  crashBackoffMaxMs: number;
  /** A container that ran this long restarts without back-off. */
  backoffResetMs: number;
  imageBackoffInitialMs: number;
  imageBackoffMaxMs: number;
  volumeRefreshMs: number;
}

export const DEFAULT_TIMING: AgentTiming = {
  resyncMs: 10_000,
  leaseRenewMs: 10_000,
  statusUpdateMs: 10_000,
  statusReportMs: 60_000,
  imageGcMs: 5 * 60_000,
  housekeepingMs: 30_000,
  crashBackoffInitialMs: 10_000,
  crashBackoffMaxMs: 5 * 60_000,
  backoffResetMs: 10 * 60_000,
  imageBackoffInitialMs: 10_000,
  imageBackoffMaxMs: 5 * 60_000,
  volumeRefreshMs: 60_000,
};

export interface AgentOptions {
  /** The API server: URL, CA and bearer token. */
  server: ClientConfig;
  nodeName: string;
  nodeIP?: string;
  podCidr: string;
  clusterDns: string[];
  clusterDomain: string;
  /** Port of the streaming endpoint (kubectl logs/exec/port-forward reach it through the API server). */
  kubeletPort: number;
  bindAddress?: string;
  dataDir: string;
  runtime: RuntimeService;
  images: AgentImageService;
  volumes: VolumeManager;
  /** Runs in the server's process: labelled as a control-plane node, as k3s does. */
  controlPlane?: boolean;
  maxPods?: number;
  /** false: do not start the streaming server (tests with fake runtimes). */
  streaming?: boolean;
  timing?: Partial<AgentTiming>;
  /** On stop, also stop and remove every pod's containers and volumes (test clusters; like k3s-killall.sh). */
  killPodsOnStop?: boolean;
  /** Problems and notes (stderr). */
  log(msg: string): void;
  /** Progress lines for the user (stderr). */
  progress?(msg: string): void;
}

export interface Agent {
  nodeName: string;
  /** Stops the agent; containers keep running (a restarted agent adopts them). */
  stop(): Promise<void>;
}

function asPodObject(pod: Pod): KubeObject {
  return { ...(pod as unknown as KubeObject), apiVersion: 'v1', kind: 'Pod' };
}

async function getOrUndefined<T>(fn: () => Promise<KubeObject>): Promise<T | undefined> {
  try {
    return (await fn()) as unknown as T;
  } catch (e) {
    if (e instanceof StatusError && e.code === 404) return undefined;
    throw e;
  }
}

/** The image service, remembering each image it hands out so statuses can show repo digests at once. */
function recordingImages(images: ImageService, seen: Map<string, string>): ImageService {
  const note = (i: ImageInfo | undefined) => {
    if (i) seen.set(i.id, i.repoDigests[0] ?? i.id);
    return i;
  };
  return {
    ...images,
    pullImage: async (ref, o) => note(await images.pullImage(ref, o))!,
    imageStatus: async (ref) => note(await images.imageStatus(ref)),
    listImages: () => images.listImages(),
    removeImage: (ref) => images.removeImage(ref),
    layerDirs: (i) => images.layerDirs(i),
    usage: () => images.usage(),
  };
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const t: AgentTiming = { ...DEFAULT_TIMING, ...opts.timing };
  const { runtime, log } = opts;
  const progress = opts.progress ?? (() => undefined);
  const name = opts.nodeName;
  mkdirSync(opts.dataDir, { recursive: true });
  const client = new RestClient({ ...opts.server, userAgent: 'kubelet' });
  const recorder = new EventRecorder(client, 'kubelet', name);
  const event: EventFn = (pod, type, reason, message, fieldPath) => recorder.event(asPodObject(pod), type, reason, message, fieldPath);
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const every = (ms: number, fn: () => Promise<void>) => {
    let busy = false;
    const h = setInterval(() => {
      if (busy || stopped) return;
      busy = true;
      void fn()
        .catch((e: unknown) => log(errorMessage(e)))
        .finally(() => (busy = false));
    }, ms);
    h.unref();
    timers.push(h);
  };

  // The streaming endpoint first: its port goes into the Node's daemonEndpoints.
  let streaming: StreamingServer | undefined;
  const pods = new Informer(client, PODS, { fieldSelector: `spec.nodeName=${name}`, log });
  const uidOf = (ns: string, n: string) => pods.get(`${ns}/${n}`)?.metadata.uid;
  let kubeletPort = opts.kubeletPort;
  if (opts.streaming !== false) {
    try {
      const tls = await servingCertificate(join(opts.dataDir, 'pki'), [name, 'localhost', '127.0.0.1', ...(opts.nodeIP ? [opts.nodeIP] : [])]);
      const mod = await import('./streaming/server.js');
      streaming = await mod.startStreamingServer({
        port: opts.kubeletPort,
        bindAddress: opts.bindAddress ?? '0.0.0.0',
        tls,
        authenticate: (req) => !!opts.server.token && req.headers.authorization === `Bearer ${opts.server.token}`,
        runtime,
        locator: createLocator(runtime, uidOf),
        log: (m) => log(`streaming: ${m}`),
      });
      kubeletPort = streaming.port;
    } catch (e) {
      log(`the streaming endpoint (logs, exec, port-forward) is not available: ${errorMessage(e)}`);
    }
  }

  const reporter = new NodeReporter(
    client,
    { name, podCidr: opts.podCidr, kubeletPort, runtimeVersion: `${runtime.version().runtimeName}://${runtime.version().runtimeVersion}`, controlPlane: !!opts.controlPlane, dataDir: opts.dataDir, nodeIP: opts.nodeIP, maxPods: opts.maxPods ?? 110 },
    log,
    t.statusReportMs,
  );
  for (let attempt = 0; ; attempt++) {
    try {
      await reporter.register();
      break;
    } catch (e) {
      if (attempt >= 4) log(`registering node ${name}: ${errorMessage(e)}; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
    }
  }
  progress(`kite agent: node ${name} registered (${reporter.hostIP}, pod CIDR ${opts.podCidr})`);
  every(t.leaseRenewMs, () => reporter.renewLease());
  every(t.statusUpdateMs, () => reporter.updateStatus());

  const services = new Informer(client, SERVICES, { log });
  const imageRefs = new Map<string, string>();
  const pendingImageLookups = new Set<string>();
  const alloc = capacityOf(reporter.machine, opts.maxPods ?? 110).allocatable;
  // Syncs run only after the informers synced, by which time `syncer` exists.
  const workers: PodWorkers = new PodWorkers((rec) => syncer.sync(rec), log);

  const probes = new ProbeManager({
    runtime,
    unhealthy: (pod, c, message) => event(pod, 'Warning', 'Unhealthy', message, containerFieldPath(pod, c.name)),
    changed: (uid) => workers.trigger(uid),
  });
  const imageService = recordingImages(opts.images, imageRefs);
  const puller = new ImagePuller({
    images: imageService,
    secret: (ns, n) => getOrUndefined<Secret>(() => client.get(SECRETS, ns, n)),
    event,
    backoff: new Backoff(t.imageBackoffInitialMs, t.imageBackoffMaxMs),
  });
  const syncer = new PodSyncer({
    client,
    runtime,
    volumes: opts.volumes,
    puller,
    probes,
    event,
    env: {
      configMap: (ns, n) => getOrUndefined<ConfigMap>(() => client.get(CONFIGMAPS, ns, n)),
      secret: (ns, n) => getOrUndefined<Secret>(() => client.get(SECRETS, ns, n)),
      services: (ns) => services.byIndex('namespace', ns) as unknown as Service[],
      allocatable: { cpuMilli: milliCpu(alloc.cpu)!, memoryBytes: bytes(alloc.memory)!, ephemeralBytes: bytes(alloc['ephemeral-storage'])! },
    },
    dns: { clusterDns: opts.clusterDns, clusterDomain: opts.clusterDomain },
    hostIP: reporter.hostIP,
    dataDir: opts.dataDir,
    crashBackoff: new Backoff(t.crashBackoffInitialMs, t.crashBackoffMaxMs),
    backoffResetMs: t.backoffResetMs,
    volumeRefreshMs: t.volumeRefreshMs,
    allocatable: { cpuMilli: milliCpu(alloc.cpu)!, memoryBytes: bytes(alloc.memory)!, pods: Number(alloc.pods) },
    admittedPods: (except) =>
      workers.all().filter((r) => r.uid !== except && r.admitted && !r.gone && !r.override && !isTerminalPhase(r.pod.status?.phase)).map((r) => r.pod),
    imageRef: (id) => {
      const known = imageRefs.get(id);
      if (known) return known;
      // An adopted container's image: look it up once, then report again.
      if (id && !pendingImageLookups.has(id)) {
        pendingImageLookups.add(id);
        void imageService
          .imageStatus(id)
          .then((i) => {
            if (!i) imageRefs.set(id, id);
            for (const r of workers.all()) workers.trigger(r.uid);
          })
          .catch(() => imageRefs.set(id, id));
      }
      return id;
    },
    log,
  });
  const w = workers;

  pods.addHandlers({
    add: (o) => w.update(o as unknown as Pod),
    update: (_, o) => w.update(o as unknown as Pod),
    delete: (o) => w.remove(o.metadata.uid ?? '', o as unknown as Pod),
  });
  services.start();
  pods.start();
  await Promise.all([pods.waitForSync(), services.waitForSync()]);

  // Runtime events wake the pod's worker at once (a container exited: restart it now, not at the next resync).
  const sandboxOwner = new Map<string, string>();
  const unsubscribe = runtime.onEvent((e) => {
    const uid = sandboxOwner.get(e.sandboxId);
    if (uid) return w.trigger(uid);
    void runtime
      .podSandboxStatus(e.sandboxId)
      .then((sb) => {
        if (!sb) return;
        sandboxOwner.set(e.sandboxId, sb.podUid);
        w.trigger(sb.podUid);
      })
      .catch(() => undefined);
  });

  const housekeeping = async () => {
    const known = new Set(pods.list().map((p) => p.metadata.uid ?? ''));
    const withSandbox = new Set<string>();
    for (const sb of await runtime.listPodSandboxes()) {
      sandboxOwner.set(sb.id, sb.podUid);
      withSandbox.add(sb.podUid);
      if (known.has(sb.podUid) || w.get(sb.podUid)) continue;
      // A sandbox of a pod the API no longer has (deleted while the agent was down): stop and remove it.
      log(`removing sandbox ${sb.id} of pod ${sb.namespace}/${sb.name} (${sb.podUid}), which no longer exists`);
      w.remove(sb.podUid, { metadata: { uid: sb.podUid, name: sb.name, namespace: sb.namespace, deletionGracePeriodSeconds: 0 } });
    }
    for (const uid of await opts.volumes.podsOnDisk()) {
      if (known.has(uid) || withSandbox.has(uid) || w.get(uid)) continue;
      await opts.volumes.tearDown(uid).catch((e: unknown) => log(`tearing down volumes of removed pod ${uid}: ${errorMessage(e)}`));
    }
  };
  await housekeeping().catch((e: unknown) => log(`cleaning up after removed pods: ${errorMessage(e)}`));
  every(t.housekeepingMs, housekeeping);
  every(t.resyncMs, async () => {
    for (const r of w.all()) w.trigger(r.uid);
  });
  every(t.imageGcMs, () => collectImages(opts.images, runtime, DEFAULT_IMAGE_GC, log));
  progress(`kite agent: node ${name} Ready`);

  return {
    nodeName: name,
    async stop() {
      stopped = true;
      for (const h of timers) clearInterval(h);
      unsubscribe();
      await Promise.all([pods.stop(), services.stop()]);
      await w.stop();
      probes.stop();
      if (opts.killPodsOnStop) {
        for (const sb of await runtime.listPodSandboxes().catch(() => [])) {
          await runtime.stopPodSandbox(sb.id).catch((e: unknown) => log(`stopping sandbox ${sb.id}: ${errorMessage(e)}`));
          await runtime.removePodSandbox(sb.id).catch((e: unknown) => log(`removing sandbox ${sb.id}: ${errorMessage(e)}`));
        }
        for (const uid of await opts.volumes.podsOnDisk().catch(() => [])) await opts.volumes.tearDown(uid).catch(() => undefined);
      }
      await streaming?.close().catch(() => undefined);
      client.close();
    },
  };
}


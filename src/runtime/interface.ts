import type { Duplex, Readable, Writable } from 'node:stream';

// The node's container runtime, shaped like the CRI (RuntimeService + ImageService) so that the pod workers
// never learn whether runc or a CRI client for containerd sits underneath. Everything here is plain data:
// the agent translates the Pod spec into these configs (argv resolved against the image, env resolved,
// volumes already prepared on the host), and the runtime only runs what it is given.

// ---------------------------------------------------------------------------------------------- images

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[]; // "NAME=value", as in the OCI image config
  workingDir: string;
  user: string;
  exposedPorts: string[]; // "8080/tcp"
  labels: Record<string, string>;
}

export interface ImageInfo {
  /** The image ID: the config blob's digest, "sha256:…". */
  id: string;
  /** Normalised names, "docker.io/library/busybox:1.35". */
  repoTags: string[];
  /** "docker.io/library/busybox@sha256:<manifest digest>" for images that came from a registry. */
  repoDigests: string[];
  /** Bytes of the compressed layers. */
  size: number;
  config: ImageConfig;
  /** The layers' diff IDs (uncompressed sha256), bottom first. */
  layers: string[];
}

/** Credentials for one registry, as found in a dockerconfigjson `auths` entry. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** base64("user:password"), the `auth` field. */
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface PullOptions {
  /** Credentials for a registry host ("docker.io", "127.0.0.1:5000"), from the pod's imagePullSecrets. */
  credentials?: (registryHost: string) => RegistryAuth | undefined;
  /** Progress lines for events and logs ("pulled 12.3 MB of 40.1 MB"). */
  onProgress?: (message: string) => void;
}

export interface ImageService {
  /** Pulls (or finds, for images built or imported locally) and returns the image. Throws PullError. */
  pullImage(ref: string, opts?: PullOptions): Promise<ImageInfo>;
  /** The image a reference names, if present on this node (by normalised name, ID or repo digest). */
  imageStatus(ref: string): Promise<ImageInfo | undefined>;
  listImages(): Promise<ImageInfo[]>;
  removeImage(ref: string): Promise<void>;
  /** Host directories of the unpacked layers, **top first** (overlayfs lowerdir order). */
  layerDirs(image: ImageInfo): string[];
  /** Bytes used by blobs and unpacked layers, for disk-pressure checks and image GC. */
  usage(): Promise<{ usedBytes: number; capacityBytes: number; availableBytes: number }>;
}

/** A pull that failed; `message` says what to do next. `notFound` separates "no such image" from network trouble. */
export class PullError extends Error {
  constructor(
    message: string,
    readonly notFound = false,
    readonly unauthorized = false,
  ) {
    super(message);
    this.name = 'PullError';
  }
}

/** docker.io/library normalisation, as the kubelet and containerd apply it: "busybox" → "docker.io/library/busybox:latest". */
export function normalizeImageRef(ref: string): string {
  let name = ref;
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at);
    name = name.slice(0, at);
  }
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = `docker.io/${slash >= 0 ? name : `library/${name}`}`;
  const lastSlash = name.lastIndexOf('/');
  if (!digest && !name.slice(lastSlash + 1).includes(':')) name += ':latest';
  return name + digest;
}

// -------------------------------------------------------------------------------------------- sandboxes

export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  hostIP?: string;
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodSandboxConfig {
  podUid: string;
  name: string;
  namespace: string;
  /** Bumped each time the sandbox of the same pod is re-created. */
  attempt: number;
  hostname: string;
  /** pod.spec.subdomain etc. already folded in: the FQDN written to /etc/hosts, if any. */
  hostnameFqdn?: string;
  /** Written to the pod's /etc/resolv.conf (ignored with hostNetwork: the host's file is used). */
  dns: DnsConfig;
  /** Extra /etc/hosts lines: [ip, ...names] (spec.hostAliases). */
  hostAliases: Array<{ ip: string; hostnames: string[] }>;
  portMappings: PortMapping[];
  hostNetwork: boolean;
  shareProcessNamespace: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Pod-level cgroup limits (sum of the containers' limits), when all containers have them. */
  resources?: ContainerResources;
}

export type SandboxState = 'Ready' | 'NotReady';

export interface PodSandboxStatus {
  id: string;
  podUid: string;
  name: string;
  namespace: string;
  attempt: number;
  state: SandboxState;
  /** The pod IP (from CNI), or the node IP with hostNetwork. */
  ip?: string;
  createdAt: number; // ms since epoch
  /** The nsfs bind mount of the pod's network namespace (absent with hostNetwork). */
  netnsPath?: string;
  /** Files the runtime wrote for the pod, bind-mounted into every container. */
  hostsPath: string;
  resolvConfPath: string;
  hostnamePath: string;
}

// ----------------------------------------------------------------------------------------- containers

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
  /** "rprivate" unless the pod asks for propagation. */
  propagation?: 'private' | 'rslave' | 'rshared';
}

export interface ContainerResources {
  /** cgroup cpu.shares (from requests.cpu; 2 is the minimum, 1024 = one CPU). */
  cpuShares?: number;
  /** CFS quota and period in µs (from limits.cpu). */
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
  memoryLimitBytes?: number;
  pidsLimit?: number;
}

export interface ContainerSecurity {
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  /** Capability names without the CAP_ prefix, as in the Pod spec ("NET_ADMIN"). */
  capAdd?: string[];
  capDrop?: string[];
  allowPrivilegeEscalation?: boolean;
}

export interface ContainerConfig {
  /** The container's name in the pod. */
  name: string;
  /** Restart count of this container in the pod: 0 for the first instance. */
  attempt: number;
  image: ImageInfo;
  /** The process to run: the pod's command/args already resolved against the image's ENTRYPOINT/CMD. */
  argv: string[];
  /** The whole environment; nothing is inherited from the agent. */
  env: Array<{ name: string; value: string }>;
  workingDir: string;
  /** User from the image config ("1000", "1000:1000", "nobody"), used when security.runAsUser is unset. */
  imageUser?: string;
  mounts: Mount[];
  /** CRI-format log file (host path) that the runtime writes stdout and stderr to. */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  resources: ContainerResources;
  security: ContainerSecurity;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export type ContainerState = 'Created' | 'Running' | 'Exited' | 'Unknown';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  state: ContainerState;
  createdAt: number; // ms since epoch
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  /** "OOMKilled", "Error" or "Completed" once exited. */
  reason?: string;
  message?: string;
  /** The image as the pod named it, and its ID ("sha256:…"). */
  imageRef: string;
  imageId: string;
  logPath: string;
  pid?: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

/** A running exec or attach session, for the streaming server. */
export interface StreamSession {
  /** Present when stdin was asked for. end() it to send EOF. */
  stdin?: Writable;
  stdout: Readable;
  /** Absent with a tty (stderr is merged into stdout). */
  stderr?: Readable;
  resize(width: number, height: number): void;
  /** Resolves with the exit code when the process ends. */
  wait(): Promise<number>;
  /** Ends the session early (client went away). */
  close(): void;
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface ContainerStats {
  timestamp: number; // ms since epoch
  /** Cumulative CPU time in nanoseconds (as a decimal string: 64-bit). */
  cpuUsageNanos: string;
  /** Working set: usage minus inactive file pages. */
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  pids?: number;
}

export type RuntimeEvent = { type: 'ContainerExited' | 'ContainerStarted' | 'ContainerRemoved'; containerId: string; sandboxId: string };

export interface RuntimeService {
  version(): { runtimeName: string; runtimeVersion: string; runtimeApiVersion: string };

  runPodSandbox(config: PodSandboxConfig): Promise<PodSandboxStatus>;
  /** Stops every container of the sandbox (KILL) and tears down its network. Idempotent. */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes what is left (containers, netns, files). Idempotent. */
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined>;
  listPodSandboxes(): Promise<PodSandboxStatus[]>;

  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the container has exited. Idempotent. */
  stopContainer(id: string, gracePeriodSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): Promise<ContainerStatus | undefined>;
  listContainers(filter?: { sandboxId?: string }): Promise<ContainerStatus[]>;

  /** Runs a command in a running container (probes, hooks); kills it after the timeout. */
  execSync(id: string, argv: string[], timeoutMs: number): Promise<ExecResult>;
  exec(id: string, argv: string[], opts: StreamOptions): Promise<StreamSession>;
  attach(id: string, opts: StreamOptions): Promise<StreamSession>;
  /** A connection to a port on the pod's own localhost (network namespace). */
  portForward(sandboxId: string, port: number): Promise<Duplex>;

  containerStats(id: string): Promise<ContainerStats | undefined>;
  /** Container lifecycle notifications, so pod workers react to exits without polling fast. Returns an unsubscribe. */
  onEvent(listener: (e: RuntimeEvent) => void): () => void;
  /** Stops background work (exit watchers); containers keep running. */
  close(): Promise<void>;
}

import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig } from '../interface.js';
import type { ProcessUser } from './users.js';

// The OCI runtime spec (config.json) for one container, built from the CRI-shaped ContainerConfig. The defaults
// are the ones Docker and containerd apply, because images are written against them: 14 capabilities, masked
// /proc and /sys paths, a read-only sysfs and cgroup mount. No AppArmor (absent on the node), no seccomp profile.

/** Docker/containerd's default capability set. runc spec's 3 are too few (nginx and ping fail with them). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability the kernel knows (0..40), for privileged containers and capabilities.add: ["ALL"]. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Where the init (catatonit) is bind-mounted inside every container. */
export const INIT_PATH = '/.kite/init';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  mounts: OciMount[];
  linux: {
    cgroupsPath: string;
    namespaces: Array<{ type: string; path?: string }>;
    resources: {
      devices: Array<{ allow: boolean; access: string; type?: string; major?: number; minor?: number }>;
      memory?: { limit: number; swap: number };
      cpu?: { shares?: number; quota?: number; period?: number };
      pids?: { limit: number };
    };
    devices?: OciDevice[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    rootfsPropagation?: string;
  };
}

export interface SpecInput {
  config: ContainerConfig;
  user: ProcessUser;
  cgroupsPath: string;
  /** Namespaces to join by path. Absent network/uts = the host's (hostNetwork); absent pid = a new one. */
  namespaces: { network?: string; ipc: string; uts?: string; pid?: string };
  pod: { hostsPath: string; resolvConfPath: string; hostnamePath: string; shmPath: string };
  /** Host path of the init binary. */
  initBinary: string;
  /** Host devices, for privileged containers. */
  hostDevices?: OciDevice[];
  /** What "all capabilities" means on this node (see boundingCapabilities); defaults to every known one. */
  allCapabilities?: string[];
}

export function normalizeCapability(name: string): string {
  const up = name.trim().toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

/**
 * The effective capability set: privileged or the defaults, then ALL, then the pod's add and drop lists.
 * "All" means all that the runtime itself holds (`all`): runc cannot grant a capability outside its own
 * bounding set, and a sandboxed node may lack some.
 */
export function capabilities(privileged: boolean, add: string[] = [], drop: string[] = [], all: string[] = ALL_CAPABILITIES): string[] {
  const isAll = (c: string): boolean => c.trim().toUpperCase() === 'ALL';
  let caps = new Set(privileged ? all : DEFAULT_CAPABILITIES);
  if (add.some(isAll)) caps = new Set(all);
  if (drop.some(isAll)) caps = new Set();
  for (const c of add) if (!isAll(c)) caps.add(normalizeCapability(c));
  for (const c of drop) if (!isAll(c)) caps.delete(normalizeCapability(c));
  return [...caps];
}

export function buildSpec(input: SpecInput): OciSpec {
  const { config, user } = input;
  const sec = config.security;
  const privileged = sec.privileged === true;
  if (config.argv.length === 0) throw new Error(`container "${config.name}" has no command: set command/args in the pod or use an image with an ENTRYPOINT or CMD`);
  const caps = capabilities(privileged, sec.capAdd, sec.capDrop, input.allCapabilities);
  const env = config.env.map((e) => `${e.name}=${e.value}`);
  if (config.tty && !config.env.some((e) => e.name === 'TERM')) env.push('TERM=xterm');

  const ns: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  ns.push(input.namespaces.pid ? { type: 'pid', path: input.namespaces.pid } : { type: 'pid' });
  ns.push({ type: 'ipc', path: input.namespaces.ipc });
  if (input.namespaces.network) ns.push({ type: 'network', path: input.namespaces.network });
  if (input.namespaces.uts) ns.push({ type: 'uts', path: input.namespaces.uts });

  const userDests = new Set(config.mounts.map((m) => m.containerPath.replace(/\/+$/, '')));
  const podFile = (dest: string, source: string): OciMount[] =>
    userDests.has(dest) ? [] : [{ destination: dest, type: 'bind', source, options: ['rbind', 'rprivate', ...(sec.readOnlyRootFilesystem ? ['ro'] : [])] }];

  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'] },
    ...(userDests.has('/dev/shm') ? [] : [{ destination: '/dev/shm', type: 'bind', source: input.pod.shmPath, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'] }]),
    ...podFile('/etc/hosts', input.pod.hostsPath),
    ...podFile('/etc/resolv.conf', input.pod.resolvConfPath),
    ...podFile('/etc/hostname', input.pod.hostnamePath),
    { destination: INIT_PATH, type: 'bind', source: input.initBinary, options: ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev'] },
  ];
  let rootfsPropagation: string | undefined;
  for (const m of config.mounts) {
    const prop = m.propagation === 'rshared' ? 'rshared' : m.propagation === 'rslave' ? 'rslave' : 'rprivate';
    if (prop === 'rshared') rootfsPropagation = 'rshared';
    else if (prop === 'rslave' && rootfsPropagation !== 'rshared') rootfsPropagation = 'rslave';
    mounts.push({ destination: m.containerPath, type: 'bind', source: m.hostPath, options: ['rbind', prop, ...(m.readOnly ? ['ro'] : [])] });
  }

  const r = config.resources;
  const resources: OciSpec['linux']['resources'] = {
    devices: [{ allow: privileged, access: 'rwm' }],
  };
  if (r.memoryLimitBytes) resources.memory = { limit: r.memoryLimitBytes, swap: r.memoryLimitBytes };
  if (r.cpuShares || r.cpuQuotaUs || r.cpuPeriodUs) {
    resources.cpu = {};
    if (r.cpuShares) resources.cpu.shares = r.cpuShares;
    if (r.cpuQuotaUs) resources.cpu.quota = r.cpuQuotaUs;
    if (r.cpuPeriodUs) resources.cpu.period = r.cpuPeriodUs;
  }
  if (r.pidsLimit) resources.pids = { limit: r.pidsLimit };

  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: config.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      // catatonit as PID 1: forwards SIGTERM to the workload and reaps orphans (a bare PID 1 ignores TERM).
      args: [INIT_PATH, '--', ...config.argv],
      env,
      cwd: config.workingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      // Kubernetes semantics: no_new_privs only when allowPrivilegeEscalation is explicitly false.
      noNewPrivileges: !privileged && sec.allowPrivilegeEscalation === false,
    },
    root: { path: 'rootfs', readonly: sec.readOnlyRootFilesystem === true },
    mounts,
    linux: {
      cgroupsPath: input.cgroupsPath,
      namespaces: ns,
      resources,
      ...(privileged ? { devices: input.hostDevices ?? [] } : { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS }),
      ...(rootfsPropagation ? { rootfsPropagation } : {}),
    },
  };
  return spec;
}

/** The capabilities in a CapBnd mask from /proc/<pid>/status ("000001fffeffffff"). */
export function capabilitiesInMask(hexMask: string): string[] {
  const mask = BigInt(`0x${hexMask.trim() || '0'}`);
  return ALL_CAPABILITIES.filter((_c, bit) => (mask >> BigInt(bit)) & 1n);
}

/** The node's device nodes under /dev, for privileged containers (skipping the per-container pts/shm/mqueue). */
export async function hostDevices(root = '/dev'): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  const skip = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/console', '/dev/ptmx']);
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (skip.has(p) || e.isSymbolicLink()) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isCharacterDevice() || e.isBlockDevice()) {
        const st = await lstat(p).catch(() => undefined);
        if (!st) continue;
        const dev = st.rdev;
        const hi = Math.floor(dev / 2 ** 32);
        const lo = dev % 2 ** 32;
        out.push({
          path: p,
          type: e.isCharacterDevice() ? 'c' : 'b',
          major: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0),
          minor: (lo & 0xff) | ((lo >>> 12) & 0xfff00),
          fileMode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
        });
      }
    }
  };
  await walk(root);
  return out;
}

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, Pod, PodSecurityContext, SecurityContext } from 'kubernetes-types/core/v1.js';
import type { ContainerConfig, ContainerSecurity, ImageInfo, Mount } from '../runtime/interface.js';
import { expand } from './expansion.js';
import { ContainerConfigError } from './env.js';
import { containerResources } from './resources.js';
import { ANN_CONTAINER_TYPE, ANN_HASH, ANN_RESTART_COUNT, ANN_TERMINATION_FILE, ANN_TERMINATION_PATH, ANN_TERMINATION_POLICY, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from './meta.js';

// Translating one Pod container into the runtime's ContainerConfig: argv against the image's ENTRYPOINT/CMD,
// the whole environment, mounts (volumes, subPath, termination log), cgroup resources and security.

export interface VolumeMountInfo {
  hostPath: string;
  readOnly: boolean;
}

/** argv as Kubernetes composes it: command replaces ENTRYPOINT (and drops CMD), args replace CMD. */
export function containerArgv(c: Container, image: ImageInfo, lookup: (n: string) => string | undefined): string[] {
  const cmd = c.command?.length ? c.command.map((s) => expand(s, lookup)) : image.config.entrypoint;
  const args = c.args?.length ? c.args.map((s) => expand(s, lookup)) : c.command?.length ? [] : image.config.cmd;
  return [...cmd, ...args];
}

/** Identifies the parts of a container spec that need a new container when they change. */
export function containerHash(c: Container): string {
  const { name, image, command, args, workingDir, ports, env, envFrom, volumeMounts, securityContext, stdin, tty, lifecycle } = c;
  return createHash('sha256')
    .update(JSON.stringify({ name, image, command, args, workingDir, ports, env, envFrom, volumeMounts, securityContext, stdin, tty, lifecycle }))
    .digest('hex')
    .slice(0, 16);
}

function capNames(list: string[] | undefined): string[] | undefined {
  return list?.map((c) => c.replace(/^CAP_/, ''));
}

export function containerSecurity(pod: PodSecurityContext | undefined, c: SecurityContext | undefined): ContainerSecurity {
  const groups = [...(pod?.supplementalGroups ?? []), ...(pod?.fsGroup !== undefined ? [pod.fsGroup] : [])];
  const out: ContainerSecurity = {};
  const runAsUser = c?.runAsUser ?? pod?.runAsUser;
  const runAsGroup = c?.runAsGroup ?? pod?.runAsGroup;
  if (runAsUser !== undefined) out.runAsUser = runAsUser;
  if (runAsGroup !== undefined) out.runAsGroup = runAsGroup;
  if (groups.length) out.supplementalGroups = [...new Set(groups)];
  if (c?.readOnlyRootFilesystem !== undefined) out.readOnlyRootFilesystem = c.readOnlyRootFilesystem;
  if (c?.privileged !== undefined) out.privileged = c.privileged;
  const add = capNames(c?.capabilities?.add);
  const drop = capNames(c?.capabilities?.drop);
  if (add?.length) out.capAdd = add;
  if (drop?.length) out.capDrop = drop;
  if (c?.allowPrivilegeEscalation !== undefined) out.allowPrivilegeEscalation = c.allowPrivilegeEscalation;
  return out;
}

const PROPAGATION: Record<string, Mount['propagation']> = { None: 'private', HostToContainer: 'rslave', Bidirectional: 'rshared' };

export function containerMounts(c: Container, volumes: Map<string, VolumeMountInfo>, lookup: (n: string) => string | undefined): Mount[] {
  const out: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const vol = volumes.get(vm.name);
    if (!vol) throw new ContainerConfigError(`cannot find volume "${vm.name}" to mount into container "${c.name}"`);
    let hostPath = vol.hostPath;
    const sub = vm.subPathExpr ? expand(vm.subPathExpr, lookup) : vm.subPath;
    if (sub) {
      if (sub.startsWith('/') || sub.split('/').includes('..')) throw new ContainerConfigError(`subPath "${sub}" must be a relative path without ".."`);
      hostPath = join(vol.hostPath, sub);
      // The kubelet creates a missing subPath as a directory, so a fresh emptyDir can be split between containers.
      if (!existsSync(hostPath) && statSync(vol.hostPath, { throwIfNoEntry: false })?.isDirectory()) mkdirSync(hostPath, { recursive: true });
    }
    out.push({ hostPath, containerPath: vm.mountPath, readOnly: !!vm.readOnly || vol.readOnly, ...(vm.mountPropagation ? { propagation: PROPAGATION[vm.mountPropagation] } : {}) });
  }
  return out;
}

export interface ContainerPaths {
  /** <data-dir>/pods/<uid>/containers/<name>: termination-log files live here. */
  containerDir: string;
  logPath: string;
}

export interface BuildInput {
  pod: Pod;
  container: Container;
  init: boolean;
  attempt: number;
  image: ImageInfo;
  env: Array<{ name: string; value: string }>;
  volumes: Map<string, VolumeMountInfo>;
  paths: ContainerPaths;
}

export function buildContainerConfig(inp: BuildInput): ContainerConfig {
  const { pod, container: c, image } = inp;
  // The image's ENV lies underneath; the pod's variables win and $(VAR) sees only the pod's, as in the kubelet.
  const envMap = new Map<string, string>();
  for (const kv of image.config.env) {
    const i = kv.indexOf('=');
    if (i > 0) envMap.set(kv.slice(0, i), kv.slice(i + 1));
  }
  const podVars = new Map(inp.env.map((e) => [e.name, e.value]));
  for (const [k, v] of podVars) envMap.set(k, v);
  const lookup = (n: string) => podVars.get(n);
  const argv = containerArgv(c, image, lookup);
  if (argv.length === 0) throw new ContainerConfigError(`no command specified for container "${c.name}": the image has no ENTRYPOINT or CMD and the pod sets no command`);
  const mounts = containerMounts(c, inp.volumes, lookup);
  const annotations: Record<string, string> = {
    [ANN_RESTART_COUNT]: String(inp.attempt),
    [ANN_HASH]: containerHash(c),
    [ANN_CONTAINER_TYPE]: inp.init ? 'init' : 'regular',
    [ANN_TERMINATION_POLICY]: c.terminationMessagePolicy ?? 'File',
  };
  const tmPath = c.terminationMessagePath ?? '/dev/termination-log';
  if (tmPath) {
    mkdirSync(inp.paths.containerDir, { recursive: true });
    const file = join(inp.paths.containerDir, `termination-log-${inp.attempt}`);
    writeFileSync(file, '', { mode: 0o666 });
    mounts.push({ hostPath: file, containerPath: tmPath, readOnly: false });
    annotations[ANN_TERMINATION_PATH] = tmPath;
    annotations[ANN_TERMINATION_FILE] = file;
  }
  const m = pod.metadata ?? {};
  return {
    name: c.name,
    attempt: inp.attempt,
    image,
    argv,
    env: [...envMap].map(([name, value]) => ({ name, value })),
    workingDir: c.workingDir || image.config.workingDir || '/',
    ...(image.config.user ? { imageUser: image.config.user } : {}),
    mounts,
    logPath: inp.paths.logPath,
    stdin: !!c.stdin,
    stdinOnce: !!c.stdinOnce,
    tty: !!c.tty,
    resources: containerResources(c),
    security: containerSecurity(pod.spec?.securityContext, c.securityContext),
    labels: { [LABEL_POD_UID]: m.uid ?? '', [LABEL_POD_NAME]: m.name ?? '', [LABEL_POD_NAMESPACE]: m.namespace ?? 'default', [LABEL_CONTAINER_NAME]: c.name },
    annotations,
  };
}

import type { Container, ContainerState, ContainerStatus as K8sContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { normalizeImageRef, type ContainerStatus, type PodSandboxStatus } from '../runtime/interface.js';
import { podQOSClass } from '../api/defaults/pod.js';
import type { JsonObject } from '../api/object.js';
import { isSidecar, restartPolicy, shouldRestart, timestamp } from './meta.js';

// The pod status the kubelet reports, computed from what the runtime shows (every instance of every
// container), the worker's pending start errors and the probers' results. Level-based: the same inputs
// always give the same status, so a restarted agent reports exactly what its predecessor did.

export interface Waiting {
  reason: string;
  message?: string;
}

export interface StatusInput {
  pod: Pod;
  hostIP: string;
  /** The pod's ready sandbox, if any. */
  sandbox?: PodSandboxStatus;
  /** Runtime instances of each container by name, latest attempt first. */
  instances: Map<string, ContainerStatus[]>;
  /** Why a container is not running (start errors, back-off), by name. */
  waiting: Map<string, Waiting>;
  ready(id: string, c: Container): boolean;
  started(id: string, c: Container): boolean;
  /** "docker.io/library/busybox@sha256:…" for an image ID, when known. */
  imageRef(imageId: string): string;
  /** The termination message of an exited instance. */
  terminationMessage(cs: ContainerStatus): string | undefined;
  /** Set when the pod was rejected or ran past its deadline. */
  override?: { phase: 'Failed' | 'Succeeded'; reason?: string; message?: string };
  now?: number;
}

export const CONTAINER_ID_PREFIX = 'runc://';

function terminated(cs: ContainerStatus, message: string | undefined): ContainerState {
  const exitCode = cs.exitCode ?? 0;
  return {
    terminated: {
      exitCode,
      reason: cs.reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
      ...(message ? { message } : {}),
      startedAt: timestamp(cs.startedAt ?? cs.createdAt),
      finishedAt: timestamp(cs.finishedAt ?? cs.startedAt ?? cs.createdAt),
      containerID: CONTAINER_ID_PREFIX + cs.id,
    },
  };
}

function containerStatus(inp: StatusInput, c: Container, init: boolean, initPending: boolean): K8sContainerStatus {
  const inst = inp.instances.get(c.name) ?? [];
  const latest = inst[0];
  const prev = inst[1];
  const w = inp.waiting.get(c.name);
  const out: K8sContainerStatus = {
    name: c.name,
    image: normalizeImageRef(c.image ?? ''),
    imageID: '',
    ready: false,
    restartCount: latest?.attempt ?? 0,
    started: false,
    state: {},
    lastState: {},
  };
  const term = (cs: ContainerStatus) => terminated(cs, inp.terminationMessage(cs));
  if (!latest) {
    out.state = { waiting: { reason: w?.reason ?? (init || initPending ? 'PodInitializing' : 'ContainerCreating'), ...(w?.message ? { message: w.message } : {}) } };
    return out;
  }
  out.containerID = CONTAINER_ID_PREFIX + latest.id;
  out.imageID = inp.imageRef(latest.imageId);
  if (latest.state === 'Running') {
    out.state = { running: { startedAt: timestamp(latest.startedAt ?? latest.createdAt) } };
    out.started = inp.started(latest.id, c);
    out.ready = inp.ready(latest.id, c);
    if (prev) out.lastState = term(prev);
  } else if (latest.state === 'Exited') {
    if (w) {
      out.state = { waiting: { reason: w.reason, ...(w.message ? { message: w.message } : {}) } };
      out.lastState = term(latest);
    } else {
      out.state = term(latest);
      if (prev) out.lastState = term(prev);
      // A completed init container counts as ready, as the kubelet reports it.
      if (init && !isSidecar(c)) out.ready = (latest.exitCode ?? 0) === 0;
    }
  } else {
    out.state = { waiting: { reason: w?.reason ?? 'ContainerCreating', ...(w?.message ? { message: w.message } : {}) } };
    if (prev) out.lastState = term(prev);
  }
  return out;
}

function condition(pod: Pod, type: string, status: 'True' | 'False', now: string, reason?: string, message?: string): PodCondition {
  const old = pod.status?.conditions?.find((c) => c.type === type);
  const lastTransitionTime = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now;
  return { type, status, lastTransitionTime, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

/** The kubelet's phase rules over the containers' current and last states. */
export function podPhase(pod: Pod, inits: K8sContainerStatus[], statuses: K8sContainerStatus[]): PodStatus['phase'] {
  const policy = restartPolicy(pod);
  const initSpecs = pod.spec?.initContainers ?? [];
  for (const s of inits) {
    const spec = initSpecs.find((c) => c.name === s.name);
    if (!spec || isSidecar(spec)) continue;
    const t = s.state?.terminated;
    if (t && t.exitCode !== 0 && !shouldRestart(policy, t.exitCode)) return 'Failed';
  }
  let pending = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) stopped++;
    else pending++;
  }
  if (!initsDone(pod, inits)) return 'Pending';
  if (pending > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function initsDone(pod: Pod, inits: K8sContainerStatus[]): boolean {
  for (const spec of pod.spec?.initContainers ?? []) {
    const s = inits.find((x) => x.name === spec.name);
    if (isSidecar(spec)) {
      if (!s?.started) return false;
    } else if (s?.state?.terminated?.exitCode !== 0) return false;
  }
  return true;
}

export function computePodStatus(inp: StatusInput): PodStatus {
  const { pod } = inp;
  const now = timestamp(inp.now);
  const initSpecs = pod.spec?.initContainers ?? [];
  const inits = initSpecs.map((c) => containerStatus(inp, c, true, false));
  const initialized = initsDone(pod, inits);
  const statuses = (pod.spec?.containers ?? []).map((c) => containerStatus(inp, c, false, !initialized));
  let phase = podPhase(pod, inits, statuses);
  if (inp.override) phase = inp.override.phase;
  const completed = phase === 'Succeeded';
  const terminal = phase === 'Succeeded' || phase === 'Failed';

  const notInit = initSpecs.filter((c, i) => (isSidecar(c) ? !inits[i]!.started : inits[i]!.state?.terminated?.exitCode !== 0)).map((c) => c.name);
  const unready = [...initSpecs.filter((c, i) => isSidecar(c) && !inits[i]!.ready).map((c) => c.name), ...statuses.filter((s) => !s.ready).map((s) => s.name)];
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const missingGates = gates.filter((g) => pod.status?.conditions?.find((c) => c.type === g)?.status !== 'True');
  const containersReady = unready.length === 0 && !terminal;

  const conds: PodCondition[] = [
    condition(pod, 'PodReadyToStartContainers', inp.sandbox?.state === 'Ready' && !terminal ? 'True' : 'False', now),
    initialized || terminal ? condition(pod, 'Initialized', 'True', now, completed ? 'PodCompleted' : undefined) : condition(pod, 'Initialized', 'False', now, 'ContainersNotInitialized', `containers with incomplete status: [${notInit.join(' ')}]`),
  ];
  const crReason = completed ? 'PodCompleted' : 'ContainersNotReady';
  const crMessage = completed ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  if (containersReady && missingGates.length === 0) conds.push(condition(pod, 'Ready', 'True', now));
  else if (containersReady) conds.push(condition(pod, 'Ready', 'False', now, 'ReadinessGatesNotReady', `corresponding condition of pod readiness gate "${missingGates[0]}" does not exist.`));
  else conds.push(condition(pod, 'Ready', 'False', now, crReason, crMessage));
  conds.push(containersReady ? condition(pod, 'ContainersReady', 'True', now) : condition(pod, 'ContainersReady', 'False', now, crReason, crMessage));
  // The kubelet always reports PodScheduled, also for pods created with spec.nodeName set.
  if (!pod.status?.conditions?.some((c) => c.type === 'PodScheduled')) conds.push(condition(pod, 'PodScheduled', 'True', now));
  const owned = new Set(conds.map((c) => c.type));
  // Conditions other writers own (PodScheduled, DisruptionTarget, readiness gates) are kept as they are.
  for (const c of pod.status?.conditions ?? []) if (!owned.has(c.type)) conds.push(c);

  const podIP = inp.sandbox?.ip ?? pod.status?.podIP;
  const status: PodStatus = {
    phase,
    conditions: conds,
    hostIP: inp.hostIP,
    hostIPs: [{ ip: inp.hostIP }],
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime: pod.status?.startTime ?? now,
    qosClass: (pod.status?.qosClass as PodStatus['qosClass']) ?? podQOSClass(pod as unknown as JsonObject),
    ...(inits.length ? { initContainerStatuses: inits } : {}),
    containerStatuses: statuses,
  };
  if (inp.override?.reason) status.reason = inp.override.reason;
  if (inp.override?.message) status.message = inp.override.message;
  return status;
}

/** Keys of PodStatus this agent writes; a key it dropped is removed with null in the merge patch. */
const OWNED_KEYS = ['phase', 'conditions', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'qosClass', 'initContainerStatuses', 'containerStatuses', 'reason', 'message'] as const;

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : x));
}

/** The merge patch that turns `current` into `next`, or undefined when nothing we own differs. */
export function statusPatch(current: PodStatus | undefined, next: PodStatus): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  const cur = (current ?? {}) as Record<string, unknown>;
  const nxt = next as Record<string, unknown>;
  for (const k of OWNED_KEYS) {
    if (nxt[k] === undefined) {
      if (cur[k] !== undefined) patch[k] = null;
    } else if (canonical(nxt[k]) !== canonical(cur[k])) patch[k] = nxt[k];
  }
  if (Object.keys(patch).length === 0) return undefined;
  // Lists are replaced whole by a merge patch: send them complete.
  return patch;
}

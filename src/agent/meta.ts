import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/object.js';

// What the agent writes on runtime objects so that a restarted agent can tell whose sandbox or container
// each one is (the kubelet's io.kubernetes.* labels and annotations), plus small shared formatting helpers.

export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';

export const ANN_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const ANN_HASH = 'io.kubernetes.container.hash';
export const ANN_TERMINATION_PATH = 'io.kubernetes.container.terminationMessagePath';
export const ANN_TERMINATION_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
/** Host file bind-mounted at terminationMessagePath; read back when the container exits. */
export const ANN_TERMINATION_FILE = 'kite.io/termination-message-file';
/** "init" or "regular": init containers and app containers may share a name space in the runtime. */
export const ANN_CONTAINER_TYPE = 'kite.io/container-type';

/** metav1.Time: whole seconds, UTC. */
export function timestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime, as Lease.spec.renewTime carries it. */
export function microTimestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** A duration as Go's time.Duration prints it ("500ms", "10s", "1m20s", "5m0s", "1.2s"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

/** "name_namespace(uid)", the way the kubelet names a pod in messages. */
export function podDesc(pod: Pod): string {
  return `${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;
}

export function asKube(pod: Pod): KubeObject {
  return pod as unknown as KubeObject;
}

export function podUid(pod: Pod): string {
  return pod.metadata?.uid ?? '';
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export function restartPolicy(pod: Pod): RestartPolicy {
  return (pod.spec?.restartPolicy as RestartPolicy | undefined) ?? 'Always';
}

/** Whether a container that exited with `exitCode` is started again under the pod's restart policy. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** Init containers with restartPolicy Always are sidecars: they keep running beside the app containers. */
export function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

export function isTerminalPhase(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** The kubelet's message-ready form of an error. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

import type { Pod } from 'kubernetes-types/core/v1.js';

/**
 * The involvedObject.fieldPath the kubelet puts on a container's events (`spec.containers{app}`,
 * `spec.initContainers{setup}`), which `kubectl describe` and `kubectl get events -o wide` show as the
 * event's sub-object. Undefined when the pod has no container of that name.
 */
export function containerFieldPath(pod: Pod, name: string): string | undefined {
  const spec = pod.spec;
  if (spec?.containers?.some((c) => c.name === name)) return `spec.containers{${name}}`;
  if (spec?.initContainers?.some((c) => c.name === name)) return `spec.initContainers{${name}}`;
  if (spec?.ephemeralContainers?.some((c) => c.name === name)) return `spec.ephemeralContainers{${name}}`;
  return undefined;
}

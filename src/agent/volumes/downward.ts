import type { Pod, Container, DownwardAPIVolumeFile } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityMilliValue, quantityValue, type Quantity } from '../../api/quantity.js';

// What a downwardAPI file holds: the pod's own metadata, or one container's resources, formatted as the
// kubelet formats them (maps as sorted `key="value"` lines, resources as whole multiples of the divisor).

/** Go's %q for the strings labels and annotations hold. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m![k]!)}`)
    .join('\n');
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['(.+)'\]$/;

export function fieldValue(pod: Pod, fieldPath: string): string {
  const m = pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? '';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'metadata.labels':
      return formatMap(m.labels);
    case 'metadata.annotations':
      return formatMap(m.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    default: {
      const sub = SUBSCRIPT.exec(fieldPath);
      if (sub) return (sub[1] === 'labels' ? m.labels : m.annotations)?.[sub[2]!] ?? '';
      throw new Error(`unsupported fieldPath: ${fieldPath}`);
    }
  }
}

/** Node allocatable, used for limits a container does not set (as the kubelet does). */
export type Allocatable = Record<string, string>;

function ceilDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new Error('divisor must not be zero');
  return (a + b - 1n) / b;
}

export function resourceValue(pod: Pod, ref: { containerName?: string; resource: string; divisor?: string | number }, allocatable: Allocatable): string {
  const containers: Container[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const c = ref.containerName ? containers.find((x) => x.name === ref.containerName) : pod.spec?.containers?.[0];
  if (!c) throw new Error(`container ${ref.containerName ?? ''} not found in pod ${pod.metadata?.name ?? ''}`);
  const [kind, name] = ref.resource.split('.', 2) as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || !['cpu', 'memory', 'ephemeral-storage'].includes(name ?? ''))
    throw new Error(`unsupported container resource: ${ref.resource}`);
  const given = kind === 'limits' ? c.resources?.limits?.[name] : c.resources?.requests?.[name];
  const raw = given ?? (kind === 'limits' ? allocatable[name] : undefined) ?? '0';
  const value: Quantity = parseQuantity(raw);
  const divisor: Quantity = parseQuantity(ref.divisor === undefined || ref.divisor === '' || ref.divisor === 0 || ref.divisor === '0' ? '1' : ref.divisor);
  if (name === 'cpu') return ceilDiv(quantityMilliValue(value), quantityMilliValue(divisor)).toString();
  return ceilDiv(quantityValue(value), quantityValue(divisor)).toString();
}

/** One file's content for a downwardAPI item. */
export function downwardFile(pod: Pod, item: DownwardAPIVolumeFile, allocatable: Allocatable): string {
  if (item.fieldRef) return fieldValue(pod, item.fieldRef.fieldPath);
  if (item.resourceFieldRef) return resourceValue(pod, item.resourceFieldRef, allocatable);
  throw new Error(`downwardAPI item ${item.path} has neither fieldRef nor resourceFieldRef`);
}

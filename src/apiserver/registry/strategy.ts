import { isPlainObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';

// Kind facts the generic registry needs itself; everything else kind-specific (status reset, generation,
// carried-over allocations) is the admission chain's, through src/api/defaults.

/** The kind has a status subresource: the main endpoint ignores status changes and vice versa. */
export function hasStatusSubresource(info: ResourceInfo): boolean {
  return !!info.subresources?.some((s) => s.name === 'status');
}

/** JSON with sorted keys, to compare objects regardless of key order. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

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

/**
 * stableStringify(a) === stableStringify(b), without building the strings: the registry asks it on every
 * update to recognise a write that changes nothing.
 */
export function stableEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!stableEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    let n = 0;
    for (const k in a) {
      if (!Object.prototype.hasOwnProperty.call(a, k) || a[k] === undefined) continue;
      n++;
      if (!Object.prototype.hasOwnProperty.call(b, k) || !stableEqual(a[k], b[k])) return false;
    }
    for (const k in b) if (Object.prototype.hasOwnProperty.call(b, k) && b[k] !== undefined) n--;
    return n === 0;
  }
  if (Array.isArray(b) || isPlainObject(b)) return false;
  return stableStringify(a) === stableStringify(b);
}

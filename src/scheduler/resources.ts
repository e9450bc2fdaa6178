import type { Container, PodSpec } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityMilliValue, quantityValue } from '../api/quantity.js';

// Resource arithmetic in the units the scheduler compares: milli-CPU, bytes, and whole units for everything
// else. Quantities are parsed once per distinct spelling: the same few strings ("100m", "128Mi") recur in
// every pod of a workload.

export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources, hugepages and any other countable resource, by name; undefined when none. */
  scalar: Map<string, number> | undefined;
}

type ResourceList = Record<string, string | number | undefined> | undefined;

/** What a container that states no request counts as when spreading load (scoring only). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

const milliCache = new Map<string, number>();
const valueCache = new Map<string, number>();

function cached(cache: Map<string, number>, q: string | number, parse: (s: string | number) => number): number {
  const k = String(q);
  let v = cache.get(k);
  if (v === undefined) {
    try {
      v = parse(q);
    } catch {
      v = 0;
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(k, v);
  }
  return v;
}

export function milliValue(q: string | number): number {
  return cached(milliCache, q, (s) => Number(quantityMilliValue(parseQuantity(s))));
}

export function wholeValue(q: string | number): number {
  return cached(valueCache, q, (s) => Number(quantityValue(parseQuantity(s))));
}

// Every Resources has the same shape (scalar present, maybe undefined): the filters read them per node.
export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: undefined };
}

export function cloneResources(r: Resources): Resources {
  return { milliCPU: r.milliCPU, memory: r.memory, ephemeralStorage: r.ephemeralStorage, scalar: r.scalar ? new Map(r.scalar) : undefined };
}

/** Parse a ResourceList (requests, allocatable, overhead). `pods` is left out: it is not requestable. */
export function fromResourceList(list: ResourceList): Resources {
  const r = emptyResources();
  if (!list) return r;
  for (const [name, q] of Object.entries(list)) {
    if (q === undefined || q === null) continue;
    switch (name) {
      case 'cpu':
        r.milliCPU = milliValue(q);
        break;
      case 'memory':
        r.memory = wholeValue(q);
        break;
      case 'ephemeral-storage':
        r.ephemeralStorage = wholeValue(q);
        break;
      case 'pods':
        break;
      default:
        (r.scalar ??= new Map()).set(name, wholeValue(q));
    }
  }
  return r;
}

export function addTo(into: Resources, r: Resources, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  if (r.scalar) {
    const s = (into.scalar ??= new Map());
    for (const [k, v] of r.scalar) s.set(k, (s.get(k) ?? 0) + sign * v);
  }
}

function maxInto(into: Resources, r: Resources): void {
  if (r.milliCPU > into.milliCPU) into.milliCPU = r.milliCPU;
  if (r.memory > into.memory) into.memory = r.memory;
  if (r.ephemeralStorage > into.ephemeralStorage) into.ephemeralStorage = r.ephemeralStorage;
  if (r.scalar) {
    const s = (into.scalar ??= new Map());
    for (const [k, v] of r.scalar) if (v > (s.get(k) ?? 0)) s.set(k, v);
  }
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  const req = c.resources?.requests as ResourceList;
  const r = fromResourceList(req);
  if (nonZero) {
    // Only a missing request takes the default; an explicit 0 stays 0, as kube-scheduler counts it.
    if (!req || req.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (!req || req.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/**
 * The pod's effective requests: the sum over app containers and sidecars (restartable init containers),
 * or, when larger, what the biggest init container needs next to the sidecars started before it; plus
 * the pod overhead. `nonZero` substitutes defaults for missing cpu/memory requests (used for scoring).
 */
export function podRequests(spec: PodSpec | undefined, nonZero = false): Resources {
  const total = emptyResources();
  if (!spec) return total;
  for (const c of spec.containers ?? []) addTo(total, containerRequests(c, nonZero));
  const sidecars = emptyResources();
  const initMax = emptyResources();
  for (const c of spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addTo(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      const withSidecars = cloneResources(r);
      addTo(withSidecars, sidecars);
      maxInto(initMax, withSidecars);
    }
  }
  addTo(total, sidecars);
  maxInto(total, initMax);
  if (spec.overhead) addTo(total, fromResourceList(spec.overhead as ResourceList));
  return total;
}

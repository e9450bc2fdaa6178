import { setFlagsFromString } from 'node:v8';

// Under write load the API server allocates fast (request bodies, JSON, watch frames, storage rows), and V8
// then lets the old generation grow to up to four times what survived the last full collection before it
// collects again. Measured at 1,000 nodes / 6,000 pods, the live heap after a full GC was ~110 MB while the
// heap reached ~300 MB and the process 435–480 MB: headroom, not data, was most of the server's memory.
// Growing by 30% at a time keeps the resident size near the live heap at the price of more frequent (mostly
// concurrent) full collections. Go's default (GOGC=100, kube-apiserver's) lets the heap reach twice the live
// data; this is tighter because V8's young generation and the node binary add a fixed ~150 MB on top.
export const HEAP_GROWING_PERCENT = 30;

const GROWTH_FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/** The V8 flag the server sets, or null when node was started with its own choice (which then wins). */
export function heapGrowthFlag(execArgv: readonly string[]): string | null {
  return execArgv.some((a) => GROWTH_FLAG.test(a)) ? null : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Applies the server's heap growth limit; V8 reads it at every full GC, so setting it at start-up is enough. */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowthFlag(execArgv);
  if (flag) setFlagsFromString(flag);
}

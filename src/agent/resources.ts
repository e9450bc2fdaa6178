import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityMilliValue, quantityValue } from '../api/quantity.js';
import type { ContainerResources } from '../runtime/interface.js';

// Pod resources in the units cgroups and admission use: milli-CPU, CFS shares and quota, bytes.

const CFS_PERIOD_US = 100_000;
const MIN_SHARES = 2;
const MIN_QUOTA_US = 1000;

export function milliCpu(v: string | number | undefined): number | undefined {
  return v === undefined ? undefined : Number(quantityMilliValue(parseQuantity(v)));
}

export function bytes(v: string | number | undefined): number | undefined {
  return v === undefined ? undefined : Number(quantityValue(parseQuantity(v)));
}

/** cgroup settings of one container: shares from requests.cpu, quota from limits.cpu, memory from limits.memory. */
export function containerResources(c: Container): ContainerResources {
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  // The API server defaults requests to limits; a container with neither gets the minimum, as BestEffort does.
  const reqCpu = milliCpu(req.cpu ?? lim.cpu);
  const out: ContainerResources = { cpuShares: Math.max(MIN_SHARES, Math.floor(((reqCpu ?? 0) * 1024) / 1000)) };
  const limCpu = milliCpu(lim.cpu);
  if (limCpu) {
    out.cpuQuotaUs = Math.max(MIN_QUOTA_US, Math.floor((limCpu * CFS_PERIOD_US) / 1000));
    out.cpuPeriodUs = CFS_PERIOD_US;
  }
  const mem = bytes(lim.memory);
  if (mem) out.memoryLimitBytes = mem;
  return out;
}

/** Pod-level limits: the sum of the containers' limits, only when every container has them. */
export function podResources(pod: Pod): ContainerResources | undefined {
  const cs = pod.spec?.containers ?? [];
  if (cs.length === 0) return undefined;
  let cpu = 0;
  let mem = 0;
  let allCpu = true;
  let allMem = true;
  for (const c of cs) {
    const l = c.resources?.limits ?? {};
    if (l.cpu === undefined) allCpu = false;
    else cpu += milliCpu(l.cpu)!;
    if (l.memory === undefined) allMem = false;
    else mem += bytes(l.memory)!;
  }
  if (!allCpu && !allMem) return undefined;
  const out: ContainerResources = {};
  if (allCpu && cpu > 0) {
    out.cpuQuotaUs = Math.max(MIN_QUOTA_US, Math.floor((cpu * CFS_PERIOD_US) / 1000));
    out.cpuPeriodUs = CFS_PERIOD_US;
  }
  if (allMem && mem > 0) out.memoryLimitBytes = mem;
  return out;
}

/** What admission counts: max(largest init container, sum of app containers) per resource, plus overhead. */
export function podRequests(pod: Pod): { cpuMilli: number; memoryBytes: number } {
  let cpu = 0;
  let mem = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += milliCpu(c.resources?.requests?.cpu) ?? 0;
    mem += bytes(c.resources?.requests?.memory) ?? 0;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    cpu = Math.max(cpu, milliCpu(c.resources?.requests?.cpu) ?? 0);
    mem = Math.max(mem, bytes(c.resources?.requests?.memory) ?? 0);
  }
  const o = pod.spec?.overhead ?? {};
  return { cpuMilli: cpu + (milliCpu(o.cpu) ?? 0), memoryBytes: mem + (bytes(o.memory) ?? 0) };
}

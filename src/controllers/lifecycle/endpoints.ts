import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { resource } from '../../client/rest.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import type { ControllerContext } from '../runtime.js';
import { SyncedQueueController, errorMessage } from './base.js';
import {
  ANNOTATION_TRIGGER_TIME,
  LABEL_HEADLESS,
  ServiceMembership,
  TriggerTimeTracker,
  WriteTracker,
  asPod,
  asService,
  canonical,
  findPort,
  isIPv6,
  isPodReady,
  isServiceIPSet,
  managedSelector,
  podIPs,
  podTargetRef,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpointutil.js';

// The Endpoints controller: one core/v1 Endpoints per service with a selector, named after the service,
// listing the selected pods' addresses (ready ones in `addresses`, others in `notReadyAddresses`) under the
// ports each service port resolves to. Services without a selector (`default/kubernetes` among them) are left
// to whoever writes their Endpoints.

const SERVICES = resource('', 'v1', 'services');
const PODS = resource('', 'v1', 'pods');
const ENDPOINTS = resource('', 'v1', 'endpoints');
/** Endpoints keep at most this many addresses; the rest is truncated and the object annotated. */
export const MAX_ENDPOINTS_CAPACITY = 1000;
const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

/** The address a pod gives a service: the pod IP of the service's family, node and pod reference. */
function podAddress(svc: Service, pod: Pod): EndpointAddress | undefined {
  const family = svc.spec?.ipFamilies?.[0] ?? (svc.spec?.clusterIP && isIPv6(svc.spec.clusterIP) ? 'IPv6' : 'IPv4');
  const ip = podIPs(pod).find((a) => isIPv6(a) === (family === 'IPv6'));
  if (!ip) return undefined;
  const addr: EndpointAddress = { ip, targetRef: podTargetRef(pod) };
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec!.hostname;
  return addr;
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const au = a.targetRef?.uid ?? '';
  const bu = b.targetRef?.uid ?? '';
  return au < bu ? -1 : au > bu ? 1 : 0;
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return canonical(a) < canonical(b) ? -1 : canonical(a) > canonical(b) ? 1 : 0;
}

/**
 * The subsets of a service's Endpoints: every address under the set of ports it serves, grouped so that
 * addresses offering the same ports (with the same readiness) share a subset. Sorted, so that an unchanged
 * world gives an identical object.
 */
export function computeSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publishNotReady = !!svc.spec?.publishNotReadyAddresses;
  const ports = svc.spec?.ports ?? [];
  const headless = svc.spec?.clusterIP === 'None';
  // port (canonical; '' = no ports) → address key → ready
  const byPort = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, boolean> }>();
  const addresses = new Map<string, EndpointAddress>();
  const add = (port: EndpointPort | undefined, addr: EndpointAddress, ready: boolean) => {
    const pk = port ? canonical(port) : '';
    let entry = byPort.get(pk);
    if (!entry) byPort.set(pk, (entry = { port, addrs: new Map() }));
    const ak = `${addr.ip}|${addr.targetRef?.uid ?? ''}`;
    if (!addresses.has(ak)) addresses.set(ak, addr);
    entry.addrs.set(ak, (entry.addrs.get(ak) ?? false) || ready);
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr = podAddress(svc, pod);
    if (!addr) continue;
    const ready = publishNotReady || isPodReady(pod);
    if (ports.length === 0) {
      // A headless service may have no ports: its addresses are listed without any.
      if (headless) add(undefined, addr, ready);
      continue;
    }
    for (const sp of ports) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const ep: EndpointPort = { port: num, protocol: sp.protocol ?? 'TCP' };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      add(ep, addr, ready);
    }
  }
  // Ports offered by exactly the same addresses (and readiness) share a subset.
  const groups = new Map<string, { addrs: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const sig = [...addrs].map(([k, r]) => `${k}=${r}`).sort().join(',');
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { addrs, ports: [] }));
    if (port) g.ports.push(port);
  }
  const subsets: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [k, r] of g.addrs) (r ? ready : notReady).push(addresses.get(k)!);
    const ss: EndpointSubset = {};
    if (ready.length) ss.addresses = ready.sort(compareAddresses);
    if (notReady.length) ss.notReadyAddresses = notReady.sort(compareAddresses);
    if (g.ports.length) ss.ports = g.ports.sort(comparePorts);
    subsets.push(ss);
  }
  return subsets.sort((a, b) => (canonical(a) < canonical(b) ? -1 : canonical(a) > canonical(b) ? 1 : 0));
}

/** Keep at most MAX_ENDPOINTS_CAPACITY addresses, ready ones first, each subset keeping its share. */
export function truncateSubsets(subsets: EndpointSubset[]): { subsets: EndpointSubset[]; truncated: boolean } {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= MAX_ENDPOINTS_CAPACITY) return { subsets, truncated: false };
  const truncateReady = totalReady > MAX_ENDPOINTS_CAPACITY;
  const max = truncateReady ? MAX_ENDPOINTS_CAPACITY : MAX_ENDPOINTS_CAPACITY - totalReady;
  const total = truncateReady ? totalReady : totalNotReady;
  let room = max;
  const out = subsets.map((s) => {
    const n = (truncateReady ? s.addresses : s.notReadyAddresses)?.length ?? 0;
    const take = Math.min(Math.ceil((n / total) * max), room);
    const copy: EndpointSubset = { ...s };
    if (truncateReady) {
      copy.addresses = (s.addresses ?? []).slice(0, take);
      delete copy.notReadyAddresses;
      room -= copy.addresses.length;
    } else {
      copy.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, take);
      room -= copy.notReadyAddresses.length;
    }
    return copy;
  });
  return { subsets: out, truncated: true };
}

function withoutHeadless(labels: Record<string, string> | undefined): Record<string, string> {
  const copy = { ...(labels ?? {}) };
  delete copy[LABEL_HEADLESS];
  return copy;
}

export class EndpointsController extends SyncedQueueController {
  readonly name = 'endpoint';
  protected override workers = 4;
  private services!: Informer;
  private pods!: Informer;
  private endpoints!: Informer;
  private membership!: ServiceMembership;
  private recorder!: EventRecorder;
  private readonly triggers = new TriggerTimeTracker();
  private readonly writes = new WriteTracker();

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('endpoint-controller');
    this.services = ctx.informers.for(SERVICES);
    this.pods = ctx.informers.for(PODS);
    this.endpoints = ctx.informers.for(ENDPOINTS);
    this.waitFor.push(this.services, this.pods, this.endpoints);
    this.membership = new ServiceMembership(this.services);
    this.services.addHandlers({
      add: (o) => this.enqueue(o),
      update: (_, o) => this.enqueue(o),
      delete: (o) => {
        this.membership.forget(o);
        this.enqueue(o);
      },
    });
    const onPod = (old: KubeObject | undefined, now: KubeObject | undefined) => {
      for (const k of this.membership.affectedBy(old, now)) this.queue.add(k);
    };
    this.pods.addHandlers({ add: (o) => onPod(undefined, o), update: (old, o) => onPod(old, o), delete: (o) => onPod(o, undefined) });
    this.endpoints.addHandlers({ delete: (o) => this.enqueue(o) });
    // Endpoints whose service is gone (deleted while no controller ran) are looked at once at start.
    void this.endpoints.waitForSync().then(() => {
      for (const ep of this.endpoints.list()) if (!ep.metadata.annotations?.[LEADER_ANNOTATION]) this.enqueue(ep);
    });
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const svcObj = this.services.get(key);
    if (!svcObj) {
      try {
        await this.ctx.client.delete(ENDPOINTS, namespace, name);
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
      this.triggers.forget(key);
      this.writes.forget(key);
      return;
    }
    const svc = asService(svcObj);
    const selector = managedSelector(svc);
    if (!selector) return;
    const pods = this.podsFor(namespace, selector);
    const triggerTime = this.triggers.compute(key, svc, pods);
    const { subsets, truncated } = truncateSubsets(computeSubsets(svc, pods));

    const current = this.endpoints.get(key);
    if (this.writes.stale(key, new Map([[name, current?.metadata.resourceVersion]]))) {
      this.queue.addAfter(key, 100);
      return;
    }
    const labels = { ...(svcObj.metadata.labels ?? {}) };
    if (current) {
      const ep = current as unknown as Endpoints;
      const overCapacity = ep.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY] !== undefined;
      const headlessRight = (current.metadata.labels?.[LABEL_HEADLESS] !== undefined) === !isServiceIPSet(svc);
      if (canonical(withoutRefVersions(ep.subsets ?? [])) === canonical(subsets) && canonical(withoutHeadless(current.metadata.labels)) === canonical(labels) && overCapacity === truncated && headlessRight) return;
    }
    if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
    const annotations = { ...(current?.metadata.annotations ?? {}) };
    if (triggerTime) annotations[ANNOTATION_TRIGGER_TIME] = triggerTime;
    else delete annotations[ANNOTATION_TRIGGER_TIME];
    if (truncated) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
    else delete annotations[ANNOTATION_OVER_CAPACITY];
    const meta = { ...(current?.metadata ?? {}), name, namespace, labels, annotations };
    delete meta.managedFields;
    const desired: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: meta };
    if (subsets.length) desired.subsets = subsets;
    try {
      const written = current ? await this.ctx.client.update(ENDPOINTS, desired) : await this.ctx.client.create(ENDPOINTS, namespace, desired);
      this.writes.expect(key, name, written.metadata.resourceVersion ?? '0');
    } catch (e) {
      if (e instanceof StatusError) {
        // A terminating namespace refuses new content: nothing to do there any more.
        if (!current && e.code === 403 && e.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return;
        // Our cache is behind (someone created or changed it): look again shortly, no event.
        if (e.code === 409) {
          this.queue.addAfter(key, 100);
          return;
        }
      }
      const what = current ? ['FailedToUpdateEndpoint', 'Failed to update endpoint'] : ['FailedToCreateEndpoint', 'Failed to create endpoint for service'];
      this.recorder.event(desired, 'Warning', what[0]!, `${what[1]} ${namespace}/${name}: ${errorMessage(e)}`);
      throw e;
    }
  }

  private podsFor(namespace: string, selector: Record<string, string>): Pod[] {
    const wanted = Object.entries(selector);
    return this.pods
      .byIndex('namespace', namespace)
      .filter((p) => wanted.every(([k, v]) => p.metadata.labels?.[k] === v))
      .map(asPod);
  }
}

function withoutRefVersions(subsets: EndpointSubset[]): EndpointSubset[] {
  const strip = (a: EndpointAddress): EndpointAddress => (a.targetRef?.resourceVersion ? { ...a, targetRef: { ...a.targetRef, resourceVersion: undefined } } : a);
  return subsets.map((s) => ({ ...s, addresses: s.addresses?.map(strip), notReadyAddresses: s.notReadyAddresses?.map(strip) }));
}

import type { Pod } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { resource } from '../../client/rest.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import type { ControllerContext } from '../runtime.js';
import { SyncedQueueController, errorMessage } from './base.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, ServiceMembership, TriggerTimeTracker, WriteTracker, asPod, asService, managedSelector } from './endpointutil.js';
import { ENDPOINTSLICE_CONTROLLER, planSlices } from './sliceplan.js';

// The EndpointSlice controller: discovery.k8s.io/v1 EndpointSlices for every service with a selector, owned
// by the service, labelled kubernetes.io/service-name and managed-by endpointslice-controller.k8s.io. Unlike
// Endpoints they keep terminating pods, with ready/serving/terminating conditions.

const SERVICES = resource('', 'v1', 'services');
const PODS = resource('', 'v1', 'pods');
const NODES = resource('', 'v1', 'nodes');
const SLICES = resource('discovery.k8s.io', 'v1', 'endpointslices');
const BY_SERVICE = 'lifecycle/endpointslice-service';

function managedService(o: KubeObject): string | undefined {
  const l = o.metadata.labels;
  if (l?.[LABEL_MANAGED_BY] !== ENDPOINTSLICE_CONTROLLER || !l[LABEL_SERVICE_NAME]) return undefined;
  return `${o.metadata.namespace}/${l[LABEL_SERVICE_NAME]}`;
}

export class EndpointSliceController extends SyncedQueueController {
  readonly name = 'endpointslice';
  protected override workers = 4;
  private services!: Informer;
  private pods!: Informer;
  private nodes!: Informer;
  private slices!: Informer;
  private membership!: ServiceMembership;
  private recorder!: EventRecorder;
  private readonly triggers = new TriggerTimeTracker();
  private readonly writes = new WriteTracker();
  /** node name → services that left out pods on it because the node was unknown. */
  private readonly awaitingNode = new Map<string, Set<string>>();

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('endpoint-slice-controller');
    this.services = ctx.informers.for(SERVICES);
    this.pods = ctx.informers.for(PODS);
    this.nodes = ctx.informers.for(NODES);
    this.slices = ctx.informers.for(SLICES);
    this.waitFor.push(this.services, this.pods, this.nodes, this.slices);
    this.slices.addIndexer(BY_SERVICE, (o) => {
      const k = managedService(o);
      return k ? [k] : [];
    });
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
    const onSlice = (o: KubeObject) => {
      const k = managedService(o);
      if (k) this.queue.add(k);
    };
    this.slices.addHandlers({
      add: onSlice,
      update: (old, o) => {
        onSlice(o);
        // A slice taken away from us (managed-by changed) leaves its service short.
        if (managedService(old) !== managedService(o)) onSlice(old);
      },
      delete: onSlice,
    });
    this.nodes.addHandlers({
      add: (o) => {
        const waiting = this.awaitingNode.get(o.metadata.name ?? '');
        if (!waiting) return;
        this.awaitingNode.delete(o.metadata.name ?? '');
        for (const k of waiting) this.queue.add(k);
      },
    });
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const svcObj = this.services.get(key);
    // A deleted service's slices go with it through their ownerReferences (garbage collector).
    if (!svcObj) {
      this.triggers.forget(key);
      this.writes.forget(key);
      return;
    }
    const svc = asService(svcObj);
    const selector = managedSelector(svc);
    if (!selector || svcObj.metadata.deletionTimestamp) return;

    const existing = this.slices.byIndex(BY_SERVICE, key).filter((s) => !s.metadata.deletionTimestamp);
    if (this.writes.stale(key, new Map(existing.map((s) => [s.metadata.uid ?? '', s.metadata.resourceVersion])))) {
      this.queue.addAfter(key, 100);
      return;
    }
    const wanted = Object.entries(selector);
    const pods: Pod[] = this.pods
      .byIndex('namespace', namespace)
      .filter((p) => wanted.every(([k, v]) => p.metadata.labels?.[k] === v))
      .map(asPod);
    const plan = planSlices({
      service: svc,
      pods,
      existing: existing as unknown as EndpointSlice[],
      node: (n) => this.nodes.get(n),
      triggerTime: this.triggers.compute(key, svc, pods),
    });
    for (const n of plan.missingNodes) {
      let s = this.awaitingNode.get(n);
      if (!s) this.awaitingNode.set(n, (s = new Set()));
      s.add(key);
    }

    const client = this.ctx.client;
    try {
      // Creates and updates before deletes, so that no moment shows fewer endpoints than either state.
      for (const s of plan.create) {
        const written = await client.create(SLICES, namespace, s as unknown as KubeObject);
        this.writes.expect(key, written.metadata.uid ?? '', written.metadata.resourceVersion ?? '0');
      }
      for (const s of plan.update) {
        const written = await client.update(SLICES, s as unknown as KubeObject);
        this.writes.expect(key, written.metadata.uid ?? '', written.metadata.resourceVersion ?? '0');
      }
      for (const s of plan.delete) {
        try {
          await client.delete(SLICES, namespace, s.metadata!.name!, { preconditions: { uid: s.metadata!.uid } });
        } catch (e) {
          if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
        }
        this.writes.expect(key, s.metadata!.uid ?? '', -1);
      }
    } catch (e) {
      if (e instanceof StatusError) {
        if (e.code === 403 && e.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return;
        if (e.code === 409) {
          this.queue.addAfter(key, 100);
          return;
        }
      }
      this.recorder.event(svcObj, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${namespace}/${name}: ${errorMessage(e)}`);
      throw e;
    }
  }
}

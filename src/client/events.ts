import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { resource, type RestClient } from './rest.js';

// Records core/v1 Events for `kubectl describe`, as client-go's recorder: an identical event (same object,
// reason and message) within the series window bumps count and lastTimestamp instead of adding a row.

const EVENTS = resource('', 'v1', 'events');
const SERIES_WINDOW_MS = 10 * 60_000;

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; first: string; at: number }>();

  constructor(
    private readonly client: RestClient,
    private readonly component: string,
    private readonly host?: string,
  ) {}

  /** Fire and forget: an event that cannot be written must never fail the caller's reconcile.
   *  `fieldPath` names the part of the object the event is about (the kubelet's `spec.containers{app}`). */
  event(obj: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    void this.record(obj, type, reason, message, fieldPath).catch(() => undefined);
  }

  async record(obj: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): Promise<void> {
    const namespace = obj.metadata.namespace || 'default';
    const key = `${obj.kind}/${namespace}/${obj.metadata.name}/${obj.metadata.uid}/${fieldPath ?? ''}/${reason}/${message}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const prev = this.recent.get(key);
    if (prev && Date.now() - prev.at < SERIES_WINDOW_MS) {
      prev.count++;
      prev.at = Date.now();
      try {
        await this.client.patch(EVENTS, prev.namespace, prev.name, 'merge', { count: prev.count, lastTimestamp: now });
        return;
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
    const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    };
    await this.client.create(EVENTS, namespace, ev);
    this.recent.set(key, { name, namespace, count: 1, first: now, at: Date.now() });
    if (this.recent.size > 4096) this.recent.delete(this.recent.keys().next().value!);
  }
}

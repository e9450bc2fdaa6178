import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../src/api/object.js';
import type { RestClient } from '../../src/client/rest.js';
import { EventRecorder } from '../../src/client/events.js';
import { containerFieldPath } from '../../src/agent/containerref.js';

// Events about one part of an object (a pod's container) name it in involvedObject.fieldPath, which
// `kubectl describe` and `kubectl get events -o wide` show as the sub-object.

function recorderWithLog(): { recorder: EventRecorder; created: KubeObject[]; patched: unknown[] } {
  const created: KubeObject[] = [];
  const patched: unknown[] = [];
  const client = {
    create: async (_info: unknown, _ns: string, obj: KubeObject) => {
      created.push(obj);
      return obj;
    },
    patch: async (_info: unknown, _ns: string, _name: string, _type: string, p: unknown) => {
      patched.push(p);
      return {} as KubeObject;
    },
  } as unknown as RestClient;
  return { recorder: new EventRecorder(client, 'kubelet', 'node-1'), created, patched };
}

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', uid: 'pod-uid', resourceVersion: '7' } } as KubeObject;

test('an event with a fieldPath names the container; without one, the object alone', async () => {
  const { recorder, created } = recorderWithLog();
  await recorder.record(pod, 'Normal', 'Started', 'Started container app', 'spec.containers{app}');
  await recorder.record(pod, 'Normal', 'Scheduled', 'placed');
  assert.deepEqual(created[0]!.involvedObject, { apiVersion: 'v1', kind: 'Pod', name: 'web', namespace: 'shop', uid: 'pod-uid', resourceVersion: '7', fieldPath: 'spec.containers{app}' });
  assert.equal((created[1]!.involvedObject as { fieldPath?: string }).fieldPath, undefined);
  assert.deepEqual(created[0]!.source, { component: 'kubelet', host: 'node-1' });
});

test('the same event about two containers is two events; a repeat about one bumps its count', async () => {
  const { recorder, created, patched } = recorderWithLog();
  await recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', 'spec.containers{a}');
  await recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', 'spec.containers{b}');
  await recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', 'spec.containers{a}');
  assert.equal(created.length, 2);
  assert.equal(patched.length, 1);
  assert.equal((patched[0] as { count: number }).count, 2);
});

test('containerFieldPath: containers, init containers, ephemeral containers', () => {
  const p = {
    spec: { initContainers: [{ name: 'setup' }], containers: [{ name: 'app' }], ephemeralContainers: [{ name: 'debugger' }] },
  } as unknown as Pod;
  assert.equal(containerFieldPath(p, 'app'), 'spec.containers{app}');
  assert.equal(containerFieldPath(p, 'setup'), 'spec.initContainers{setup}');
  assert.equal(containerFieldPath(p, 'debugger'), 'spec.ephemeralContainers{debugger}');
  assert.equal(containerFieldPath(p, 'nope'), undefined);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject, KubeObject, ManagedFieldsEntry } from '../../src/api/object.js';
import { computeManagedFieldsForUpdate, FieldSet } from '../../src/api/patch/apply.js';
import { capUpdateManagers, decodeManagers, encodeManagers, managerKey, updateStoredManagers, type Manager, type Managers } from '../../src/api/patch/managed.js';
import { schemaForKind } from '../../src/api/schema/registry.js';

// The update fast path (updateStoredManagers, and computeManagedFieldsForUpdate on top of it) must give, to the
// byte, the managedFields the general path gives: decode every manager, move what the write changed to the
// writer, fold old managers, encode.

/** A small deterministic generator, so a failure names the case that broke. */
function random(seed: number): () => number {
  // Spread small seeds over the state: xorshift's first outputs from a small state are small too.
  let s = Math.imul(seed, 0x9e3779b1) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const PATHS: string[][] = [
  ['f:metadata', 'f:labels', 'f:app'],
  ['f:metadata', 'f:labels', 'f:tier'],
  ['f:metadata', 'f:labels'],
  ['f:metadata', 'f:annotations', 'f:a'],
  ['f:metadata', 'f:ownerReferences', 'k:{"uid":"u1"}'],
  ['f:metadata', 'f:ownerReferences', 'k:{"uid":"u1"}', 'f:name'],
  ['f:metadata', 'f:finalizers', 'v:"x"'],
  ['f:metadata', 'f:generation'],
  ['f:spec', 'f:replicas'],
  ['f:spec', 'f:renewTime'],
  ['f:spec', 'f:holderIdentity'],
  ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'],
  ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}'],
  ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:env', 'k:{"name":"A"}', 'f:value'],
  ['f:status', 'f:conditions', 'k:{"type":"Ready"}', 'f:status'],
  ['f:status', 'f:conditions', 'k:{"type":"Ready"}', 'f:lastTransitionTime'],
  ['f:status', 'f:phase'],
];

function randomSet(rnd: () => number, p: number, from: FieldSet | undefined = undefined): FieldSet {
  const set = new FieldSet();
  for (const path of PATHS) if (rnd() < p && (!from || from.has(path))) set.insert(path);
  return set;
}

const MANAGERS = ['kubectl', 'kite-sim', 'kube-controller-manager', 'before-first-apply'];
const VERSIONS = ['v1', 'apps/v1', 'coordination.k8s.io/v1'];
const SUBRESOURCES = [undefined, undefined, 'status', 'scale'];
const TIMES = ['2024-01-01T00:00:00Z', '2024-01-01T00:00:01Z', '2024-01-01T00:01:00Z', undefined];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomManagers(rnd: () => number): Managers {
  const managers: Managers = new Map();
  const n = Math.floor(rnd() * 5);
  for (let i = 0; i < n; i++) {
    const m: Manager = { manager: pick(rnd, MANAGERS), operation: rnd() < 0.25 ? 'Apply' : 'Update', apiVersion: pick(rnd, VERSIONS), subresource: pick(rnd, SUBRESOURCES), time: pick(rnd, TIMES), set: randomSet(rnd, 0.3) };
    managers.set(managerKey(m.manager, m.operation, m.apiVersion, m.subresource), m);
  }
  return managers;
}

/** The general path, as recordUpdate and computeManagedFieldsForUpdate run it. */
function generalPath(entries: ManagedFieldsEntry[] | undefined, changed: FieldSet, removed: FieldSet, own: FieldSet, writer: { manager: string; apiVersion: string; subresource?: string; time: string }) {
  const managed = decodeManagers(entries);
  for (const [k, m] of managed) {
    m.set = m.set.difference(changed).difference(removed);
    if (m.set.isEmpty()) managed.delete(k);
  }
  if (!own.isEmpty()) {
    const key = managerKey(writer.manager, 'Update', writer.apiVersion, writer.subresource);
    const prev = managed.get(key);
    managed.set(key, { manager: writer.manager, operation: 'Update', apiVersion: writer.apiVersion, subresource: writer.subresource, time: writer.time, set: prev ? own.union(prev.set) : own });
  }
  capUpdateManagers(managed);
  return encodeManagers(managed);
}

describe('updateStoredManagers', () => {
  it('gives what the general path gives, on generated writes', () => {
    let fast = 0;
    let ownerOfAll = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const rnd = random(seed);
      const entries = encodeManagers(randomManagers(rnd));
      const writerEntry = entries && rnd() < 0.7 ? pick(rnd, entries) : undefined;
      const writer =
        writerEntry?.operation === 'Update'
          ? { manager: writerEntry.manager!, apiVersion: writerEntry.apiVersion!, subresource: writerEntry.subresource, time: '2024-01-01T00:02:00Z' }
          : { manager: pick(rnd, MANAGERS), apiVersion: pick(rnd, VERSIONS), subresource: pick(rnd, SUBRESOURCES), time: '2024-01-01T00:02:00Z' };
      // Often a write of fields the writer already owns (a renewal), sometimes anything.
      const mine = writerEntry?.fieldsV1 && rnd() < 0.6 ? decodeManagers([writerEntry]).values().next().value!.set : undefined;
      const changed = randomSet(rnd, mine ? 0.7 : 0.15, mine);
      const removed = rnd() < 0.7 ? new FieldSet() : randomSet(rnd, 0.1);
      // System metadata is changed but never owned.
      const own = changed.difference(FieldSet.of(['f:metadata', 'f:generation']));
      if (mine && !own.isEmpty() && own.difference(mine).isEmpty()) ownerOfAll++;
      const got = updateStoredManagers(entries, changed, removed, own, writer);
      if (!entries) {
        // An existing object without managedFields keeps none: the caller's rule, told by the count.
        assert.deepEqual(got, { entries: undefined, count: 0 });
        continue;
      }
      const want = generalPath(entries, changed, removed, own, writer);
      if (got === null) continue;
      fast++;
      assert.equal(JSON.stringify(got.entries), JSON.stringify(want), `seed ${seed}`);
      assert.equal(got.count, entries.length, `seed ${seed}`);
    }
    assert.ok(fast > 2000 && ownerOfAll > 300, `covered ${fast} writes, ${ownerOfAll} by the owner of all they changed`);
  });

  it('moves only the time of a writer that already owns all it changed, keeping the stored field set', () => {
    const fieldsV1: JsonObject = { 'f:spec': { 'f:holderIdentity': {}, 'f:renewTime': {} } };
    const entries: ManagedFieldsEntry[] = [{ manager: 'kite-sim', operation: 'Update', apiVersion: 'coordination.k8s.io/v1', time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1 }];
    const changed = FieldSet.of(['f:spec', 'f:renewTime']);
    const got = updateStoredManagers(entries, changed, new FieldSet(), changed, { manager: 'kite-sim', apiVersion: 'coordination.k8s.io/v1', time: '2024-01-01T00:00:10Z' });
    assert.deepEqual(got?.entries, [{ ...entries[0], time: '2024-01-01T00:00:10Z' }]);
    assert.equal(got?.entries?.[0]?.fieldsV1, fieldsV1, 'the stored field set is reused, not re-encoded');
  });
});

describe('computeManagedFieldsForUpdate on the update fast path', () => {
  const T0 = '2024-01-01T00:00:00Z';
  const lease = (renewTime: string): KubeObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'n1', namespace: 'kube-node-lease', uid: 'uid-1', resourceVersion: '5', creationTimestamp: T0, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'node-uid' }] },
    spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime },
  });

  it('renews a Lease by moving its manager time only', () => {
    const sch = schemaForKind('coordination.k8s.io', 'v1', 'Lease');
    const live = lease('2024-01-01T00:00:00.000000Z');
    live.metadata.managedFields = computeManagedFieldsForUpdate(undefined, live, 'kite-sim', 'Update', 'coordination.k8s.io/v1', undefined, T0, sch);
    const renewed = structuredClone(live);
    (renewed.spec as JsonObject).renewTime = '2024-01-01T00:00:10.000000Z';
    const mf = computeManagedFieldsForUpdate(live, renewed, 'kite-sim', 'Update', 'coordination.k8s.io/v1', undefined, '2024-01-01T00:00:10Z', sch);
    assert.deepEqual(mf, [{ ...live.metadata.managedFields![0], time: '2024-01-01T00:00:10Z' }]);
    // Another manager renewing takes renewTime over.
    const other = structuredClone(renewed);
    other.metadata.managedFields = mf;
    (other.spec as JsonObject).renewTime = '2024-01-01T00:00:20.000000Z';
    const taken = computeManagedFieldsForUpdate({ ...renewed, metadata: { ...renewed.metadata, managedFields: mf } }, other, 'kubelet', 'Update', 'coordination.k8s.io/v1', undefined, '2024-01-01T00:00:20Z', sch);
    assert.deepEqual(taken?.map((e) => e.manager), ['kite-sim', 'kubelet']);
    const spec = (e: ManagedFieldsEntry | undefined) => (e?.fieldsV1 as Record<string, JsonObject>)['f:spec'];
    assert.deepEqual(spec(taken?.[0]), { 'f:holderIdentity': {}, 'f:leaseDurationSeconds': {} });
    assert.deepEqual(spec(taken?.[1]), { 'f:renewTime': {} });
  });

  it('gives what it gives when the request sends back other managedFields (the general path)', () => {
    const sch = schemaForKind('', 'v1', 'ConfigMap');
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = random(seed);
      let live: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', uid: 'u', resourceVersion: '1', creationTimestamp: T0, labels: { app: 'a' } }, data: { a: '1', b: '2' } };
      live.metadata.managedFields = computeManagedFieldsForUpdate(undefined, live, 'creator', 'Update', 'v1', undefined, T0, sch);
      for (let step = 0; step < 6; step++) {
        const next = structuredClone(live);
        const data = next.data as Record<string, string>;
        for (const k of ['a', 'b', 'c', 'd']) {
          const r = rnd();
          if (r < 0.3) data[k] = String(step);
          else if (r < 0.4) delete data[k];
        }
        if (rnd() < 0.3) next.metadata.labels = { ...next.metadata.labels, [`l${step % 3}`]: 'x' };
        const manager = pick(rnd, ['creator', 'kubectl', 'ctl']);
        const time = `2024-01-01T00:0${step}:00Z`;
        const fast = computeManagedFieldsForUpdate(live, next, manager, 'Update', 'v1', undefined, time, sch);
        // The same managers sent back in another order: not the stored list, so the general path decides.
        const reordered = structuredClone(next);
        reordered.metadata.managedFields = [...(live.metadata.managedFields ?? [])].reverse();
        if ((live.metadata.managedFields?.length ?? 0) > 1) {
          const general = computeManagedFieldsForUpdate(live, reordered, manager, 'Update', 'v1', undefined, time, sch);
          assert.equal(JSON.stringify(fast), JSON.stringify(general), `seed ${seed} step ${step}`);
        }
        next.metadata.managedFields = fast;
        if (!fast) delete next.metadata.managedFields;
        live = next;
      }
    }
  });
});

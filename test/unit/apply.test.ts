import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject, KubeObject, ManagedFieldsEntry } from '../../src/api/object.js';
import {
  ApplyConflictError,
  computeManagedFieldsForUpdate,
  decodeFieldsV1,
  encodeFieldsV1,
  fieldSetOf,
  FieldSet,
  LAST_APPLIED_ANNOTATION,
  pathString,
  serverSideApply,
} from '../../src/api/patch/apply.js';
import { PatchError } from '../../src/api/patch/errors.js';
import { applyJsonPatch } from '../../src/api/patch/jsonpatch.js';
import { definitionsWalker } from '../../src/api/patch/walker.js';
import { schemaForKind } from '../../src/api/schema/registry.js';
import type { Schema } from '../../src/api/schema/types.js';

// A hand-written slice of the apps/v1 Deployment schema with the list and map types server-side apply reads.
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const stringMap: Schema = { type: 'object', additionalProperties: str };
const listMap = (ref: string, keys: string[]): Schema => ({ type: 'array', items: { $ref: ref }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys });
const defs: Record<string, Schema> = {
  Deployment: { type: 'object', properties: { apiVersion: str, kind: str, metadata: { $ref: 'ObjectMeta' }, spec: { $ref: 'DeploymentSpec' }, status: { $ref: 'DeploymentStatus' } } },
  ObjectMeta: {
    type: 'object',
    properties: {
      name: str,
      namespace: str,
      uid: str,
      resourceVersion: str,
      creationTimestamp: str,
      generation: int,
      labels: stringMap,
      annotations: stringMap,
      finalizers: { type: 'array', items: str, 'x-kubernetes-list-type': 'set' },
      managedFields: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'atomic' },
    },
  },
  DeploymentSpec: {
    type: 'object',
    properties: {
      replicas: int,
      paused: { type: 'boolean' },
      selector: { $ref: 'LabelSelector' },
      strategy: { $ref: 'DeploymentStrategy' },
      template: { $ref: 'PodTemplateSpec' },
    },
  },
  DeploymentStatus: { type: 'object', properties: { replicas: int } },
  LabelSelector: { type: 'object', 'x-kubernetes-map-type': 'atomic', properties: { matchLabels: stringMap } },
  DeploymentStrategy: { type: 'object', properties: { type: str, rollingUpdate: { type: 'object', properties: { maxSurge: str, maxUnavailable: str } } } },
  PodTemplateSpec: { type: 'object', properties: { metadata: { $ref: 'ObjectMeta' }, spec: { $ref: 'PodSpec' } } },
  PodSpec: { type: 'object', properties: { containers: listMap('Container', ['name']), tolerations: { type: 'array', items: { type: 'object', properties: { key: str } } } } },
  Container: {
    type: 'object',
    properties: { name: str, image: str, args: { type: 'array', items: str }, env: listMap('EnvVar', ['name']), ports: listMap('ContainerPort', ['containerPort', 'protocol']) },
  },
  EnvVar: { type: 'object', properties: { name: str, value: str } },
  ContainerPort: { type: 'object', properties: { containerPort: int, protocol: { type: 'string', default: 'TCP' } } },
};
const walker = definitionsWalker(defs);
const schema: Schema = { $ref: 'Deployment' };
const opts = { walker };
const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-01-01T00:01:00Z';
const T2 = '2024-01-01T00:02:00Z';
const T3 = '2024-01-01T00:03:00Z';

function manifest(replicas = 2, env: JsonObject[] = [{ name: 'A', value: '1' }]): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1', env, ports: [{ containerPort: 80 }] }] } },
    },
  };
}

/** What storage adds to a created object. */
function stored(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  c.metadata.uid = 'uid-1';
  c.metadata.resourceVersion = '1';
  c.metadata.creationTimestamp = T0;
  return c;
}

function entry(o: KubeObject, manager: string, subresource?: string): ManagedFieldsEntry | undefined {
  return o.metadata.managedFields?.find((e) => e.manager === manager && e.subresource === subresource);
}

function owned(o: KubeObject, manager: string, ...path: string[]): boolean {
  const e = entry(o, manager);
  return !!e && decodeFieldsV1(e.fieldsV1).has(path);
}

const spec = (o: KubeObject) => o.spec as JsonObject & { replicas?: number; template: { spec: { containers: JsonObject[] } } };

/** The object as created through SSA by `manager`. */
function appliedCreate(manager = 'kubectl', m = manifest()): KubeObject {
  return stored(serverSideApply(undefined, m, manager, false, schema, 'apps/v1', T0, opts).object);
}

/** The object after an Update by `manager` (like a PATCH: same metadata, changed body). */
function update(live: KubeObject, change: (o: KubeObject) => void, manager: string, at: string, subresource?: string): KubeObject {
  const next = structuredClone(live);
  change(next);
  next.metadata.managedFields = computeManagedFieldsForUpdate(live, next, manager, 'Update', 'apps/v1', subresource, at, schema, opts);
  if (!next.metadata.managedFields) delete next.metadata.managedFields;
  return next;
}

function conflictOf(fn: () => unknown): ApplyConflictError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApplyConflictError) return e;
    throw e;
  }
  assert.fail('expected an apply conflict');
}

// ---- field sets -------------------------------------------------------------------------------------------------

describe('FieldsV1', () => {
  const json = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
    'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } },
  };

  it('round-trips, with "." for elements that are members and have children', () => {
    const set = decodeFieldsV1(json);
    assert.ok(set.has(['f:metadata', 'f:labels']));
    assert.ok(set.has(['f:metadata', 'f:labels', 'f:app']));
    assert.ok(!set.has(['f:metadata']));
    assert.ok(set.has(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image']));
    assert.deepEqual(encodeFieldsV1(set), json);
  });

  it('canonicalizes keys and orders fields, keys, values and indices', () => {
    const set = decodeFieldsV1({ 'v:"b"': {}, 'i:2': {}, 'k:{"protocol":"TCP","containerPort":80}': {}, 'f:z': {}, 'v:"a"': {}, 'f:a': {} });
    assert.deepEqual(Object.keys(encodeFieldsV1(set)), ['f:a', 'f:z', 'k:{"containerPort":80,"protocol":"TCP"}', 'v:"a"', 'v:"b"', 'i:2']);
  });

  it('rejects malformed sets', () => {
    assert.throws(() => decodeFieldsV1({ 'x:foo': {} }));
    assert.throws(() => decodeFieldsV1({ 'f:a': 1 }));
    assert.throws(() => decodeFieldsV1({ 'k:{oops': {} }));
    assert.throws(() => decodeFieldsV1([]));
  });

  it('prints paths the way conflicts name them', () => {
    assert.equal(pathString(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image']), '.spec.template.spec.containers[name="nginx"].image');
    assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"example.com/a"']), '.metadata.finalizers[="example.com/a"]');
    assert.equal(pathString(['f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']), '.ports[containerPort=80,protocol="TCP"]');
  });

  it('supports the set algebra apply needs', () => {
    const a = FieldSet.of(['f:spec', 'f:replicas'], ['f:spec', 'f:paused'], ['f:metadata', 'f:labels', 'f:x']);
    const b = FieldSet.of(['f:spec', 'f:replicas'], ['f:metadata']);
    assert.deepEqual(a.intersection(b).paths(), [['f:spec', 'f:replicas']]);
    assert.deepEqual(a.difference(b).paths(), [['f:metadata', 'f:labels', 'f:x'], ['f:spec', 'f:paused']]);
    assert.deepEqual(a.recursiveDifference(b).paths(), [['f:spec', 'f:paused']]);
    assert.ok(a.union(b).has(['f:metadata']));
  });
});

describe('fieldSetOf', () => {
  it('lists leaves, keyed and set elements, and atomic values', () => {
    const m = manifest();
    m.metadata.finalizers = ['example.com/a'];
    const set = fieldSetOf(m as unknown as JsonObject, schema, walker);
    const c = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}'];
    assert.ok(set.has(c), 'keyed element itself');
    assert.ok(set.has([...c, 'f:image']));
    assert.ok(set.has([...c, 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']), 'missing key field takes its default');
    assert.ok(set.has(['f:metadata', 'f:finalizers', 'v:"example.com/a"']));
    assert.ok(set.has(['f:spec', 'f:selector']), 'atomic struct is a leaf');
    assert.ok(!set.has(['f:spec', 'f:selector', 'f:matchLabels']));
    assert.ok(!set.has(['f:metadata', 'f:labels']), 'a non-empty struct field is not itself a member');
    const fields = encodeFieldsV1(set) as { 'f:metadata': JsonObject };
    assert.deepEqual(fields['f:metadata']['f:labels'], { 'f:app': {} });
  });

  it('treats values without a schema structurally: maps granular, lists atomic', () => {
    const set = fieldSetOf({ a: { b: 1 }, l: [1, 2], e: {} }, undefined);
    assert.deepEqual(encodeFieldsV1(set), { 'f:a': { '.': {}, 'f:b': {} }, 'f:e': {}, 'f:l': {} });
  });
});

// ---- Update operations ------------------------------------------------------------------------------------------

describe('computeManagedFieldsForUpdate', () => {
  it('gives a creator every field it set, except identity, system metadata and status', () => {
    const obj = stored(manifest());
    obj.status = { replicas: 0 };
    const mf = computeManagedFieldsForUpdate(undefined, obj, 'kubectl-create', 'Update', 'apps/v1', undefined, new Date(T0), schema, opts);
    assert.equal(mf?.length, 1);
    const e = mf![0];
    assert.deepEqual({ ...e, fieldsV1: undefined }, { manager: 'kubectl-create', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: undefined });
    const f = e.fieldsV1 as Record<string, JsonObject>;
    assert.deepEqual(f['f:metadata'], { 'f:labels': { '.': {}, 'f:app': {} } });
    assert.ok(!('f:status' in f));
    assert.ok(!('.' in f['f:spec']), 'spec exists in every Go object, so it was not added');
    const set = decodeFieldsV1(f);
    assert.ok(set.has(['f:spec', 'f:replicas']));
    assert.ok(set.has(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:env', 'k:{"name":"A"}', 'f:value']));
  });

  it('moves changed fields to the writer and drops managers left with nothing', () => {
    let obj = stored(manifest());
    obj.metadata.managedFields = computeManagedFieldsForUpdate(undefined, obj, 'creator', 'Update', 'apps/v1', undefined, T0, schema, opts);
    obj = update(obj, (o) => (spec(o).template.spec.containers[0].image = 'nginx:2'), 'kubectl-set', T1);
    assert.ok(owned(obj, 'kubectl-set', 'f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'));
    assert.ok(!owned(obj, 'creator', 'f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'));
    assert.equal(entry(obj, 'creator')?.time, T0);
    assert.equal(entry(obj, 'kubectl-set')?.time, T1);
    // A later write of the same manager adds to its set; the other manager's entry goes once it owns nothing.
    obj = update(obj, (o) => (spec(o).paused = true), 'kubectl-set', T2);
    assert.ok(owned(obj, 'kubectl-set', 'f:spec', 'f:paused'));
    assert.ok(owned(obj, 'kubectl-set', 'f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'));
    obj = update(obj, (o) => { o.metadata.labels = { app: 'web', x: 'y' }; }, 'solo', T3);
    const wiped = update(obj, (o) => { o.spec = {}; delete o.metadata.labels; }, 'wiper', T3);
    assert.equal(wiped.metadata.managedFields, undefined, 'removing every owned field leaves no manager');
  });

  it('records nothing for a write that changes nothing', () => {
    const obj = stored(manifest());
    obj.metadata.managedFields = computeManagedFieldsForUpdate(undefined, obj, 'creator', 'Update', 'apps/v1', undefined, T0, schema, opts);
    const same = update(obj, () => undefined, 'idle', T1);
    assert.deepEqual(same.metadata.managedFields, obj.metadata.managedFields);
  });

  it('keeps an existing object without managedFields without any', () => {
    const obj = stored(manifest());
    const next = structuredClone(obj);
    spec(next).replicas = 9;
    assert.equal(computeManagedFieldsForUpdate(obj, next, 'x', 'Update', 'apps/v1', undefined, T1, schema, opts), undefined);
  });

  it('takes managedFields from the request (migration) and clears them on []', () => {
    const obj = stored(manifest());
    obj.metadata.managedFields = computeManagedFieldsForUpdate(undefined, obj, 'creator', 'Update', 'apps/v1', undefined, T0, schema, opts);
    const sent: ManagedFieldsEntry[] = [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', time: T1, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }];
    const migrated = structuredClone(obj);
    migrated.metadata.managedFields = sent;
    assert.deepEqual(computeManagedFieldsForUpdate(obj, migrated, 'kubectl', 'Update', 'apps/v1', undefined, T2, schema, opts), sent);
    const reset = structuredClone(obj);
    reset.metadata.managedFields = [];
    assert.equal(computeManagedFieldsForUpdate(obj, reset, 'kubectl', 'Update', 'apps/v1', undefined, T2, schema, opts), undefined);
    const invalid = structuredClone(obj);
    invalid.metadata.managedFields = [{ manager: 'x', operation: 'Bogus' as 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: {} }];
    assert.deepEqual(computeManagedFieldsForUpdate(obj, invalid, 'kubectl', 'Update', 'apps/v1', undefined, T2, schema, opts), obj.metadata.managedFields);
  });

  it('limits subresource writers to their part of the object', () => {
    let obj = stored(manifest());
    obj.metadata.managedFields = computeManagedFieldsForUpdate(undefined, obj, 'creator', 'Update', 'apps/v1', undefined, T0, schema, opts);
    obj = update(obj, (o) => { spec(o).replicas = 5; o.status = { replicas: 5 }; }, 'kubectl', T1, 'scale');
    assert.deepEqual(entry(obj, 'kubectl', 'scale')?.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    assert.ok(!owned(obj, 'creator', 'f:spec', 'f:replicas'));
    obj = update(obj, (o) => { o.status = { replicas: 4 }; spec(o).paused = true; }, 'controller', T2, 'status');
    assert.deepEqual(entry(obj, 'controller', 'status')?.fieldsV1, { 'f:status': { 'f:replicas': {} } });
  });

  it('folds the oldest of more than ten Update managers into ancient-changes', () => {
    let obj = stored(manifest());
    obj.metadata.managedFields = computeManagedFieldsForUpdate(undefined, obj, 'creator', 'Update', 'apps/v1', undefined, T0, schema, opts);
    for (let i = 0; i < 11; i++) {
      const at = `2024-01-01T01:${String(i).padStart(2, '0')}:00Z`;
      obj = update(obj, (o) => { o.metadata.labels = { ...o.metadata.labels, [`l${i}`]: 'v' }; }, `m${i}`, at);
    }
    const managers = obj.metadata.managedFields!.map((e) => e.manager);
    assert.equal(managers.length, 10);
    assert.ok(managers.includes('ancient-changes'));
    assert.ok(!managers.includes('creator') && !managers.includes('m0'));
    const ancient = decodeFieldsV1(entry(obj, 'ancient-changes')!.fieldsV1);
    assert.ok(ancient.has(['f:spec', 'f:replicas']) && ancient.has(['f:metadata', 'f:labels', 'f:l0']));
  });
});

// ---- server-side apply ------------------------------------------------------------------------------------------

describe('serverSideApply', () => {
  it('creates an object owned by the applier, without status', () => {
    const m = manifest();
    m.status = { replicas: 7 };
    const { object, changed } = serverSideApply(undefined, m, 'kubectl', false, schema, 'apps/v1', new Date(T0), opts);
    assert.equal(changed, true);
    assert.equal(object.status, undefined);
    assert.equal(spec(object).replicas, 2);
    const e = object.metadata.managedFields!;
    assert.equal(e.length, 1);
    assert.deepEqual({ ...e[0], fieldsV1: undefined }, { manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: undefined });
    const f = e[0].fieldsV1 as Record<string, Record<string, JsonObject>>;
    assert.deepEqual(f['f:metadata'], { 'f:labels': { 'f:app': {} } });
    assert.deepEqual(f['f:spec']['f:template']['f:spec'], {
      'f:containers': {
        'k:{"name":"web"}': {
          '.': {},
          'f:env': { 'k:{"name":"A"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
          'f:image': {},
          'f:name': {},
          'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
        },
      },
    });
  });

  it('keeps status and system metadata out of an apply', () => {
    const live = appliedCreate('manager-a', manifest());
    live.status = { replicas: 2 };
    const m = manifest(4);
    m.status = { replicas: 9 };
    (m.metadata as JsonObject).creationTimestamp = null;
    m.metadata.uid = 'other';
    const { object } = serverSideApply(live, m, 'manager-a', false, schema, 'apps/v1', T1, opts);
    assert.deepEqual(object.status, { replicas: 2 });
    assert.equal(object.metadata.creationTimestamp, T0);
    assert.equal(object.metadata.uid, 'uid-1');
    assert.equal(spec(object).replicas, 4);
    assert.ok(!owned(object, 'manager-a', 'f:status', 'f:replicas'));
  });

  it('conflicts when kubectl scale took replicas, and takes them back with force', () => {
    let live = appliedCreate('manager-a', manifest(2));
    live = update(live, (o) => (spec(o).replicas = 5), 'kubectl', T1, 'scale');
    assert.ok(!owned(live, 'manager-a', 'f:spec', 'f:replicas'));

    const err = conflictOf(() => serverSideApply(live, manifest(3), 'manager-a', false, schema, 'apps/v1', T2, opts));
    assert.equal(err.code, 409);
    assert.equal(err.reason, 'Conflict');
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
    assert.deepEqual(err.toStatus().details, { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl" with subresource "scale" using apps/v1', field: '.spec.replicas' }] });

    const { object } = serverSideApply(live, manifest(3), 'manager-a', true, schema, 'apps/v1', T2, opts);
    assert.equal(spec(object).replicas, 3);
    assert.ok(owned(object, 'manager-a', 'f:spec', 'f:replicas'));
    assert.equal(entry(object, 'kubectl', 'scale'), undefined);
    assert.equal(entry(object, 'manager-a')?.time, T2);
  });

  it('shares ownership when the configuration agrees with the other owner', () => {
    let live = appliedCreate('manager-a', manifest(2));
    live = update(live, (o) => (spec(o).replicas = 5), 'scaler', T1);
    const { object } = serverSideApply(live, manifest(5), 'manager-a', false, schema, 'apps/v1', T2, opts);
    assert.ok(owned(object, 'manager-a', 'f:spec', 'f:replicas'));
    assert.ok(owned(object, 'scaler', 'f:spec', 'f:replicas'));
  });

  it('names client-side apply and several conflicting managers like kube-apiserver', () => {
    const created = stored(manifest(1));
    created.metadata.managedFields = computeManagedFieldsForUpdate(undefined, created, 'kubectl-client-side-apply', 'Update', 'apps/v1', undefined, T0, schema, opts);
    const one = conflictOf(() => serverSideApply(created, manifest(3), 'ci', false, schema, 'apps/v1', T1, opts));
    assert.equal(one.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');

    const live = update(created, (o) => (spec(o).template.spec.containers[0].image = 'nginx:2'), 'kubectl-set', T1);
    const m = manifest(3);
    (m.spec as { template: { spec: { containers: JsonObject[] } } }).template.spec.containers[0].image = 'nginx:3';
    const two = conflictOf(() => serverSideApply(live, m, 'ci', false, schema, 'apps/v1', T2, opts));
    assert.equal(
      two.message,
      'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .spec.replicas\nconflicts with "kubectl-set" using apps/v1:\n- .spec.template.spec.containers[name="web"].image',
    );
    assert.deepEqual(two.toStatus().details?.causes?.map((c) => c.field), ['.spec.replicas', '.spec.template.spec.containers[name="web"].image']);
  });

  it('removes what the applier stopped applying, unless someone else owns it', () => {
    const m1 = manifest(2, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    m1.metadata.labels = { app: 'web', tier: 'fe' };
    let live = appliedCreate('manager-a', m1);
    live = update(live, (o) => (spec(o).paused = true), 'kubectl-rollout', T1);
    // Another applier agrees on B, so B survives manager-a dropping it; tier has no other owner.
    const other: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'B', value: '2' }] }] } } } };
    const withB = serverSideApply(live, other, 'manager-b', false, schema, 'apps/v1', T1, opts).object;

    const m2 = manifest(2, [{ name: 'A', value: '1' }]);
    const dropped = serverSideApply(live, structuredClone(m2), 'manager-a', false, schema, 'apps/v1', T2, opts).object;
    assert.deepEqual(spec(dropped).template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
    assert.deepEqual(dropped.metadata.labels, { app: 'web' });
    assert.equal(spec(dropped).paused, true, 'fields written by updates stay');

    const kept = serverSideApply(withB, structuredClone(m2), 'manager-a', false, schema, 'apps/v1', T2, opts).object;
    assert.deepEqual(spec(kept).template.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
  });

  it('merges keyed lists and sets, keeping live elements in place', () => {
    const live = appliedCreate('manager-a', manifest());
    spec(live).template.spec.containers.push({ name: 'b', image: 'busybox' });
    live.metadata.finalizers = ['example.com/y'];
    const m: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', finalizers: ['example.com/x'] },
      spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox:2' }, { name: 'c', image: 'alpine' }] } } },
    };
    const { object } = serverSideApply(live, m, 'manager-b', false, schema, 'apps/v1', T1, opts);
    assert.deepEqual(spec(object).template.spec.containers.map((c) => [c.name, c.image]), [['web', 'nginx:1'], ['b', 'busybox:2'], ['c', 'alpine']]);
    assert.deepEqual(object.metadata.finalizers, ['example.com/y', 'example.com/x']);
  });

  it('reports an unchanged object and keeps the applier\'s time when nothing changes', () => {
    const live = appliedCreate('manager-a', manifest());
    const again = serverSideApply(live, manifest(), 'manager-a', false, schema, 'apps/v1', T3, opts);
    assert.equal(again.changed, false);
    assert.deepEqual(again.object, live);
  });

  it('gives fields set before any apply to before-first-apply', () => {
    const live = stored(manifest(1));
    const err = conflictOf(() => serverSideApply(live, manifest(2), 'ci', false, schema, 'apps/v1', T1, opts));
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
    const { object } = serverSideApply(live, manifest(1), 'ci', false, schema, 'apps/v1', T1, opts);
    assert.deepEqual(object.metadata.managedFields?.map((e) => [e.manager, e.operation]), [['ci', 'Apply'], ['before-first-apply', 'Update']]);
  });

  it('refuses unusable configurations', () => {
    const withMf = manifest();
    withMf.metadata.managedFields = [];
    assert.throws(() => serverSideApply(undefined, withMf, 'x', false, schema, 'apps/v1', T0, opts), (e: unknown) => e instanceof PatchError && e.code === 400 && e.message === 'metadata.managedFields must be nil');
    const wrongVersion = manifest();
    wrongVersion.apiVersion = 'apps/v1beta1';
    assert.throws(
      () => serverSideApply(undefined, wrongVersion, 'x', false, schema, 'apps/v1', T0, opts),
      (e: unknown) => e instanceof PatchError && e.code === 400 && e.message === 'Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1',
    );
    const dup = manifest();
    spec(dup).template.spec.containers.push({ name: 'web', image: 'x' });
    assert.throws(() => serverSideApply(undefined, dup, 'x', false, schema, 'apps/v1', T0, opts), (e: unknown) => e instanceof PatchError && /duplicate entries for key \[name="web"\]/.test(e.message));
  });
});

// ---- kubectl's client-side → server-side apply flow (shared/kubectl-compat.md A12) ------------------------------

describe('kubectl apply flows', () => {
  /** What `kubectl apply -f` (client-side) creates: the manifest plus its last-applied annotation. */
  function csaCreated(m: KubeObject): KubeObject {
    const o = stored(m);
    o.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: JSON.stringify(m) + '\n' };
    o.metadata.managedFields = computeManagedFieldsForUpdate(undefined, o, 'kubectl-client-side-apply', 'Update', 'apps/v1', undefined, T0, schema, opts);
    return o;
  }

  it('lets kubectl take over fields still at their last-applied value, and refreshes the annotation', () => {
    const live = csaCreated(manifest(1));
    const { object } = serverSideApply(live, manifest(3), 'kubectl', false, schema, 'apps/v1', T1, opts);
    assert.equal(spec(object).replicas, 3);
    assert.ok(owned(object, 'kubectl', 'f:spec', 'f:replicas'));
    assert.ok(!owned(object, 'kubectl-client-side-apply', 'f:spec', 'f:replicas'));
    assert.equal(
      object.metadata.annotations?.[LAST_APPLIED_ANNOTATION],
      '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web","namespace":"default"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"env":[{"name":"A","value":"1"}],"image":"nginx:1","name":"web","ports":[{"containerPort":80}]}]}}}}\n',
    );
    // Another manager gets no such allowance.
    assert.throws(() => serverSideApply(live, manifest(3), 'ci', false, schema, 'apps/v1', T1, opts), ApplyConflictError);
  });

  it('still conflicts on fields changed since the last client-side apply', () => {
    const live = update(csaCreated(manifest(1)), (o) => (spec(o).template.spec.containers[0].image = 'nginx:9'), 'kubectl-client-side-apply', T1);
    const m = manifest(3);
    (m.spec as { template: { spec: { containers: JsonObject[] } } }).template.spec.containers[0].image = 'nginx:2';
    const err = conflictOf(() => serverSideApply(live, m, 'kubectl', false, schema, 'apps/v1', T2, opts));
    assert.deepEqual(err.conflicts.map((c) => pathString(c.path)), ['.spec.template.spec.containers[name="web"].image']);
  });

  it('runs the whole migration: apply, save the annotation, rewrite managedFields, apply again', () => {
    const m = manifest(1);
    let live = csaCreated(m);
    // 1. kubectl apply --server-side
    live = serverSideApply(live, structuredClone(m), 'kubectl', false, schema, 'apps/v1', T1, opts).object;
    // 2. No Apply manager owns the annotation: kubectl applies it alone as kubectl-last-applied.
    const annotation = live.metadata.annotations![LAST_APPLIED_ANNOTATION];
    const justAnnotation: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', annotations: { [LAST_APPLIED_ANNOTATION]: annotation } } };
    const saved = serverSideApply(live, justAnnotation, 'kubectl-last-applied', false, schema, 'apps/v1', T2, opts).object;
    const lastApplied = entry(saved, 'kubectl-last-applied')!;
    assert.equal(lastApplied.operation, 'Apply');
    assert.equal(lastApplied.time, undefined, 'an apply that changes nothing sets no time');
    assert.deepEqual(lastApplied.fieldsV1, { 'f:metadata': { 'f:annotations': { [`f:${LAST_APPLIED_ANNOTATION}`]: {} } } });
    // 3. The client-side manager's fields move into kubectl's Apply entry through a JSON patch on managedFields.
    const csa = entry(saved, 'kubectl-client-side-apply')!;
    const kubectlEntry = entry(saved, 'kubectl')!;
    const mergedSet = decodeFieldsV1(kubectlEntry.fieldsV1).union(decodeFieldsV1(csa.fieldsV1));
    const rewritten = saved.metadata.managedFields!.filter((e) => e !== csa).map((e) => (e === kubectlEntry ? { ...e, fieldsV1: encodeFieldsV1(mergedSet) } : e));
    const patched = applyJsonPatch(saved as unknown as JsonObject, [
      { op: 'test', path: '/metadata/resourceVersion', value: '1' },
      { op: 'replace', path: '/metadata/managedFields', value: rewritten as unknown as JsonObject[] },
    ]) as unknown as KubeObject;
    patched.metadata.managedFields = computeManagedFieldsForUpdate(saved, patched, 'kubectl', 'Update', 'apps/v1', undefined, T3, schema, opts);
    assert.deepEqual(patched.metadata.managedFields?.map((e) => e.manager), ['kubectl', 'kubectl-last-applied']);
    // 4. The re-sent apply now owns everything and removes what the manifest no longer has.
    const m2 = manifest(1);
    delete spec(m2).template.spec.containers[0].env;
    const final = serverSideApply(patched, m2, 'kubectl', false, schema, 'apps/v1', T3, opts).object;
    assert.equal(spec(final).template.spec.containers[0].env, undefined);
    const refreshed = final.metadata.annotations?.[LAST_APPLIED_ANNOTATION] ?? '';
    assert.ok(refreshed.endsWith('\n') && !refreshed.includes('"env"'), refreshed);
    assert.ok(owned(final, 'kubectl-last-applied', 'f:metadata', 'f:annotations', `f:${LAST_APPLIED_ANNOTATION}`));
  });
});

// ---- with the generated registry --------------------------------------------------------------------------------

const registryReady = (() => {
  try {
    return schemaForKind('apps', 'v1', 'Deployment') !== undefined;
  } catch {
    return false;
  }
})();

describe('server-side apply with the registry schema', { skip: !registryReady && 'gen/schema.json not built' }, () => {
  it('owns a Deployment the way kube-apiserver does', () => {
    const sch = schemaForKind('apps', 'v1', 'Deployment');
    const m = manifest();
    const created = serverSideApply(undefined, m, 'kubectl', false, sch, 'apps/v1', T0).object;
    const f = created.metadata.managedFields![0].fieldsV1 as Record<string, Record<string, JsonObject>>;
    assert.deepEqual(f['f:spec']['f:selector'], {});
    assert.ok('k:{"containerPort":80,"protocol":"TCP"}' in ((f['f:spec']['f:template'] as Record<string, Record<string, Record<string, Record<string, JsonObject>>>>)['f:spec']['f:containers']['k:{"name":"web"}']['f:ports']));
    const live = stored(created);
    const scaled = structuredClone(live);
    spec(scaled).replicas = 5;
    scaled.metadata.managedFields = computeManagedFieldsForUpdate(live, scaled, 'kubectl', 'Update', 'apps/v1', 'scale', T1, sch);
    const err = conflictOf(() => serverSideApply(scaled, manifest(3), 'kubectl', false, sch, 'apps/v1', T2));
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject, JsonValue } from '../../src/api/object.js';
import { PatchError } from '../../src/api/patch/errors.js';
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from '../../src/api/patch/jsonpatch.js';
import { applyMergePatch } from '../../src/api/patch/mergepatch.js';
import { strategicMergePatch } from '../../src/api/patch/strategic.js';
import { definitionsWalker } from '../../src/api/patch/walker.js';
import { schemaForKind } from '../../src/api/schema/registry.js';
import type { Schema } from '../../src/api/schema/types.js';

function patchError(fn: () => unknown, code: number, detail?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PatchError, `expected PatchError, got ${String(e)}`);
    assert.equal(e.code, code, e.detail);
    if (detail) assert.match(e.detail, detail);
    return true;
  });
}

// ---- RFC 6902 ---------------------------------------------------------------------------------------------------

describe('JSON patch', () => {
  const doc = (): JsonObject => ({ metadata: { name: 'x', annotations: { 'a/b': '1', 'c~d': '2' } }, spec: { list: [1, 2, 3] } });

  it('adds, replaces and removes object members', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'add', path: '/spec/paused', value: true },
      { op: 'replace', path: '/metadata/name', value: 'y' },
      { op: 'remove', path: '/spec/list' },
    ]);
    assert.deepEqual(out, { metadata: { name: 'y', annotations: { 'a/b': '1', 'c~d': '2' } }, spec: { paused: true } });
  });

  it('inserts, appends with "-", replaces and removes array elements', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'add', path: '/spec/list/0', value: 0 },
      { op: 'add', path: '/spec/list/-', value: 4 },
      { op: 'replace', path: '/spec/list/2', value: 20 },
      { op: 'remove', path: '/spec/list/1' },
    ]) as JsonObject;
    assert.deepEqual((out.spec as JsonObject).list, [0, 20, 3, 4]);
  });

  it('unescapes ~1 and ~0 in pointers', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'remove', path: '/metadata/annotations/a~1b' },
      { op: 'replace', path: '/metadata/annotations/c~0d', value: '3' },
    ]) as JsonObject;
    assert.deepEqual((out.metadata as JsonObject).annotations, { 'c~d': '3' });
  });

  it('moves and copies values', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'copy', from: '/spec/list', path: '/spec/copy' },
      { op: 'move', from: '/metadata/name', path: '/spec/name' },
      { op: 'add', path: '/spec/copy/-', value: 9 },
    ]) as JsonObject;
    assert.deepEqual(out.spec, { list: [1, 2, 3], copy: [1, 2, 3, 9], name: 'x' });
    assert.equal((out.metadata as JsonObject).name, undefined);
  });

  it('passes a matching test and fails a different one with 422', () => {
    const ok = applyJsonPatch(doc(), [{ op: 'test', path: '/spec/list', value: [1, 2, 3] }]);
    assert.deepEqual(ok, doc());
    assert.throws(
      () => applyJsonPatch(doc(), [{ op: 'test', path: '/metadata/name', value: 'other' }]),
      (e: unknown) => e instanceof PatchError && e.code === 422 && e.reason === 'Invalid' &&
        e.message === 'the server rejected our request due to an error in our request' && /testing value \/metadata\/name failed/.test(e.detail),
    );
  });

  it('rejects operations that do not fit the document with 422', () => {
    patchError(() => applyJsonPatch(doc(), [{ op: 'remove', path: '/spec/missing' }]), 422, /nonexistent key/);
    patchError(() => applyJsonPatch(doc(), [{ op: 'replace', path: '/spec/missing', value: 1 }]), 422, /missing key/);
    patchError(() => applyJsonPatch(doc(), [{ op: 'add', path: '/nope/deeper', value: 1 }]), 422, /missing path/);
    patchError(() => applyJsonPatch(doc(), [{ op: 'add', path: '/spec/list/7', value: 1 }]), 422, /invalid index/);
    patchError(() => applyJsonPatch(doc(), [{ op: 'frobnicate', path: '/spec' }]), 422, /Unexpected kind: frobnicate/);
  });

  it('rejects malformed bodies with 400 and oversized ones with 413', () => {
    patchError(() => applyJsonPatch(doc(), { op: 'add' }), 400, /cannot unmarshal object/);
    const many = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/spec', value: null }));
    patchError(() => applyJsonPatch(doc(), many), 413);
  });

  it('applies kubectl rollout undo and the managedFields migration patch without touching the input', () => {
    const live: JsonObject = {
      metadata: { name: 'web', resourceVersion: '42', annotations: { 'deployment.kubernetes.io/revision': '2' }, managedFields: [{ manager: 'kubectl-client-side-apply' }] },
      spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } },
    };
    const before = structuredClone(live);
    const undone = applyJsonPatch(live, [
      { op: 'replace', path: '/spec/template', value: { spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '3' } },
    ]) as JsonObject;
    assert.equal(((undone.spec as JsonObject).template as JsonObject as { spec: { containers: { image: string }[] } }).spec.containers[0].image, 'nginx:1');
    const migrated = applyJsonPatch(live, [
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'replace', path: '/metadata/managedFields', value: [{ manager: 'kubectl', operation: 'Apply' }] },
    ]) as JsonObject;
    assert.deepEqual((migrated.metadata as JsonObject).managedFields, [{ manager: 'kubectl', operation: 'Apply' }]);
    patchError(() => applyJsonPatch(live, [{ op: 'test', path: '/metadata/resourceVersion', value: '41' }]), 422);
    assert.deepEqual(live, before);
  });
});

// ---- RFC 7386 ---------------------------------------------------------------------------------------------------

describe('JSON merge patch', () => {
  const pod = (): JsonObject => ({ metadata: { name: 'p', labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'a' }, { name: 'b' }] } });

  it('adds and removes labels the way kubectl label does', () => {
    const out = applyMergePatch(pod(), { metadata: { labels: { env: 'prod', tier: null } } });
    assert.deepEqual((out.metadata as JsonObject).labels, { app: 'web', env: 'prod' });
  });

  it('sets replicas like kubectl scale and replaces arrays wholesale', () => {
    const out = applyMergePatch({ spec: { replicas: 1, x: [1, 2] } }, { spec: { replicas: 7, x: [3] } });
    assert.deepEqual(out, { spec: { replicas: 7, x: [3] } });
  });

  it('drops nulls inside new objects and keeps the input intact', () => {
    const input = pod();
    const out = applyMergePatch(input, { status: { phase: 'Running', reason: null } });
    assert.deepEqual(out.status, { phase: 'Running' });
    assert.deepEqual(input, pod());
  });

  it('rejects a patch that is not an object', () => {
    patchError(() => applyMergePatch(pod(), [1]), 400, /Invalid JSON Patch/);
  });
});

// ---- strategic merge patch --------------------------------------------------------------------------------------

const str: Schema = { type: 'string' };
const keyed = (ref: string, key: string, strategy = 'merge'): Schema => ({
  type: 'array',
  items: { $ref: ref },
  'x-kubernetes-patch-merge-key': key,
  'x-kubernetes-patch-strategy': strategy,
});
const defs: Record<string, Schema> = {
  Deployment: { type: 'object', properties: { apiVersion: str, kind: str, metadata: { $ref: 'ObjectMeta' }, spec: { $ref: 'DeploymentSpec' } } },
  ObjectMeta: {
    type: 'object',
    properties: {
      name: str,
      labels: { type: 'object', additionalProperties: str },
      annotations: { type: 'object', additionalProperties: str },
      finalizers: { type: 'array', items: str, 'x-kubernetes-patch-strategy': 'merge' },
    },
  },
  DeploymentSpec: {
    type: 'object',
    properties: {
      replicas: { type: 'integer' },
      paused: { type: 'boolean' },
      selector: { $ref: 'LabelSelector', 'x-kubernetes-patch-strategy': 'replace' },
      strategy: { $ref: 'DeploymentStrategy', 'x-kubernetes-patch-strategy': 'retainKeys' },
      template: { $ref: 'PodTemplateSpec' },
    },
  },
  LabelSelector: { type: 'object', properties: { matchLabels: { type: 'object', additionalProperties: str } } },
  DeploymentStrategy: { type: 'object', properties: { type: str, rollingUpdate: { type: 'object', properties: { maxSurge: str, maxUnavailable: str } } } },
  PodTemplateSpec: { type: 'object', properties: { metadata: { $ref: 'ObjectMeta' }, spec: { $ref: 'PodSpec' } } },
  PodSpec: {
    type: 'object',
    properties: {
      containers: keyed('Container', 'name'),
      volumes: keyed('Volume', 'name', 'merge,retainKeys'),
      tolerations: { type: 'array', items: { type: 'object', properties: { key: str } } },
      grid: { type: 'array', items: { type: 'array', items: str }, 'x-kubernetes-patch-strategy': 'merge' },
    },
  },
  Container: {
    type: 'object',
    properties: { name: str, image: str, args: { type: 'array', items: str }, env: keyed('EnvVar', 'name'), ports: keyed('ContainerPort', 'containerPort') },
  },
  EnvVar: { type: 'object', properties: { name: str, value: str } },
  ContainerPort: { type: 'object', properties: { containerPort: { type: 'integer' }, protocol: str } },
  Volume: { type: 'object', properties: { name: str, secret: { type: 'object', properties: { secretName: str } }, emptyDir: { type: 'object', properties: { medium: str } } } },
};
const walker = definitionsWalker(defs);
const deploymentSchema: Schema = { $ref: 'Deployment' };
const smp = (original: JsonObject, patch: JsonValue) => strategicMergePatch(original, patch, deploymentSchema, walker);

function deployment(): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'monolith', labels: { app: 'monolith' }, finalizers: ['example.com/a', 'example.com/b'] },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'monolith' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'monolith' } },
        spec: {
          containers: [
            {
              name: 'monolith',
              image: 'kelseyhightower/monolith:1.0.0',
              args: ['-http=0.0.0.0:80'],
              env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
              ports: [{ containerPort: 80, protocol: 'TCP' }],
            },
          ],
          volumes: [{ name: 'tls-certs', secret: { secretName: 'tls-certs' } }],
        },
      },
    },
  };
}

const containersOf = (o: JsonObject) => ((o.spec as JsonObject).template as JsonObject as { spec: { containers: JsonObject[] } }).spec.containers;
const names = (list: JsonValue) => (list as JsonObject[]).map((x) => x.name);

describe('strategic merge patch', () => {
  it('merges maps recursively and deletes keys set to null', () => {
    const out = smp(deployment(), { metadata: { labels: { tier: 'web', app: null } }, spec: { paused: true } });
    assert.deepEqual((out.metadata as JsonObject).labels, { tier: 'web' });
    assert.equal((out.spec as JsonObject).paused, true);
    assert.equal((out.spec as JsonObject).replicas, 1);
  });

  it('merges keyed lists by merge key and replaces lists without a strategy', () => {
    const out = smp(deployment(), {
      spec: { template: { spec: { containers: [{ name: 'monolith', args: ['-v'], env: [{ name: 'B', value: '3' }] }], tolerations: [{ key: 'k' }] } } },
    });
    const c = containersOf(out)[0];
    assert.deepEqual(c.args, ['-v']);
    assert.deepEqual(c.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }]);
    assert.equal(c.image, 'kelseyhightower/monolith:1.0.0');
  });

  it('takes a union for primitive lists with the merge strategy', () => {
    const out = smp(deployment(), { metadata: { finalizers: ['example.com/b', 'example.com/c'] } });
    assert.deepEqual((out.metadata as JsonObject).finalizers, ['example.com/a', 'example.com/b', 'example.com/c']);
  });

  it('applies kubectl apply\'s body removing env B and renaming A to C', () => {
    const out = smp(deployment(), {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}\n' } },
      spec: {
        replicas: 3,
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'monolith' }],
            containers: [
              {
                name: 'monolith',
                image: 'kelseyhightower/monolith:2.0.0',
                '$setElementOrder/env': [{ name: 'C' }],
                env: [{ name: 'C', value: '1' }, { $patch: 'delete', name: 'A' }, { $patch: 'delete', name: 'B' }],
              },
            ],
          },
        },
      },
    });
    const c = containersOf(out)[0];
    assert.equal((out.spec as JsonObject).replicas, 3);
    assert.equal(c.image, 'kelseyhightower/monolith:2.0.0');
    assert.deepEqual(c.env, [{ name: 'C', value: '1' }]);
    assert.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP' }]);
    assert.equal((out.metadata as JsonObject as { annotations: Record<string, string> }).annotations['kubectl.kubernetes.io/last-applied-configuration'], '{"new":true}\n');
    assert.ok(!JSON.stringify(out).includes('$'), 'no directive survives');
  });

  it('switches the strategy to Recreate, a secret volume to emptyDir and drops a finalizer', () => {
    const out = smp(deployment(), {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/b'], '$setElementOrder/finalizers': ['example.com/a'] },
      spec: {
        strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' },
        template: {
          spec: {
            '$setElementOrder/volumes': [{ name: 'tls-certs' }],
            volumes: [{ $retainKeys: ['emptyDir', 'name'], emptyDir: {}, name: 'tls-certs', secret: null }],
          },
        },
      },
    });
    assert.deepEqual((out.spec as JsonObject).strategy, { type: 'Recreate' });
    assert.deepEqual((out.metadata as JsonObject).finalizers, ['example.com/a']);
    assert.deepEqual(((out.spec as JsonObject).template as JsonObject as { spec: { volumes: JsonValue } }).spec.volumes, [{ name: 'tls-certs', emptyDir: {} }]);
  });

  it('clears keys $retainKeys does not list, and refuses patch keys it does not list', () => {
    const out = smp(deployment(), { spec: { strategy: { $retainKeys: ['type', 'rollingUpdate'], rollingUpdate: { maxSurge: '1' } } } });
    assert.deepEqual((out.spec as JsonObject).strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '1', maxUnavailable: '25%' } });
    patchError(() => smp(deployment(), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }), 400, /invalid patch format of retainKeys/);
    patchError(() => smp(deployment(), { spec: { strategy: { $retainKeys: 'type' } } }), 400);
  });

  it('honours $patch: replace and delete on maps and lists', () => {
    const replacedMap = smp(deployment(), { spec: { strategy: { $patch: 'replace', type: 'Recreate' } } });
    assert.deepEqual((replacedMap.spec as JsonObject).strategy, { type: 'Recreate' });
    const deletedMap = smp(deployment(), { spec: { strategy: { $patch: 'delete' } } });
    assert.deepEqual((deletedMap.spec as JsonObject).strategy, {});
    const replacedList = smp(deployment(), { spec: { template: { spec: { containers: [{ name: 'other', image: 'x' }, { $patch: 'replace' }] } } } });
    assert.deepEqual(containersOf(replacedList), [{ name: 'other', image: 'x' }]);
    const deletedItem = smp(deployment(), { spec: { template: { spec: { containers: [{ $patch: 'delete', name: 'monolith' }] } } } });
    assert.deepEqual(containersOf(deletedItem), []);
  });

  it('replaces a map whose field has the replace strategy', () => {
    const out = smp(deployment(), { spec: { selector: { matchLabels: { run: 'x' } } } });
    assert.deepEqual((out.spec as JsonObject).selector, { matchLabels: { run: 'x' } });
  });

  it('orders elements by $setElementOrder, keeping server-only elements in place', () => {
    const base = deployment();
    const spec = ((base.spec as JsonObject).template as JsonObject).spec as JsonObject;
    spec.containers = [{ name: '1' }, { name: '2', value: 'a' }, { name: '9' }, { name: '3' }, { name: '4' }];
    const out = smp(base, { spec: { template: { spec: { '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }] } } } });
    assert.deepEqual(names(containersOf(out)), ['2', '1', '9', '4', '3']);
    const prim = smp(deployment(), { metadata: { '$setElementOrder/finalizers': ['example.com/c', 'example.com/a', 'example.com/b'], finalizers: ['example.com/c'] } });
    assert.deepEqual((prim.metadata as JsonObject).finalizers, ['example.com/c', 'example.com/a', 'example.com/b']);
  });

  it('places new elements the way kube-apiserver does', () => {
    const base = deployment();
    const spec = ((base.spec as JsonObject).template as JsonObject).spec as JsonObject;
    spec.containers = [{ name: '1' }, { name: '2' }, { name: '4' }];
    // Without an order list the patch's elements go first; with one, after the surviving server-only elements.
    const plain = smp(structuredClone(base), { spec: { template: { spec: { containers: [{ name: '3' }] } } } });
    assert.deepEqual(names(containersOf(plain)), ['3', '1', '2', '4']);
    const ordered = smp(base, {
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: '2' }, { name: '3' }], containers: [{ name: '3' }, { $patch: 'delete', name: '1' }] } } },
    });
    assert.deepEqual(names(containersOf(ordered)), ['2', '4', '3']);
  });

  it('reports malformed patches with kube-apiserver\'s codes', () => {
    patchError(() => smp(deployment(), [1]), 400, /cannot unmarshal array/);
    patchError(() => smp(deployment(), { spec: { strategy: { $patch: 'bogus' } } }), 500, /unknown patch type: bogus/);
    patchError(() => smp(deployment(), { spec: { template: { spec: { containers: [{ $patch: 'merge', name: 'x' }] } } } }), 500, /cannot yet be specified/);
    patchError(() => smp(deployment(), { spec: { template: { spec: { containers: [{ image: 'no-name' }] } } } }), 500, /does not contain declared merge key: name/);
    patchError(() => smp(deployment(), { metadata: { $deleteFromPrimitiveList: ['x'] } }), 400, /primitive list/);
    patchError(
      () => smp(deployment(), { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'monolith' }], containers: [{ name: 'other' }] } } } }),
      500,
      /doesn't match/,
    );
    const withGrid = deployment();
    (((withGrid.spec as JsonObject).template as JsonObject).spec as JsonObject).grid = [['a']];
    patchError(() => smp(withGrid, { spec: { template: { spec: { grid: [['b']] } } } }), 422, /lists of lists/);
  });

  it('leaves its inputs untouched', () => {
    const original = deployment();
    const patch = { spec: { template: { spec: { containers: [{ $patch: 'delete', name: 'monolith' }] } } } };
    const p2 = structuredClone(patch);
    smp(original, patch);
    assert.deepEqual(original, deployment());
    assert.deepEqual(patch, p2);
  });
});

// ---- strategic merge patch against the generated registry -------------------------------------------------------

const registryReady = (() => {
  try {
    return schemaForKind('apps', 'v1', 'Deployment') !== undefined;
  } catch {
    return false;
  }
})();

describe('strategic merge patch with the registry schema (kubectl bodies)', { skip: !registryReady && 'gen/schema.json not built' }, () => {
  const deploymentSchema = () => schemaForKind('apps', 'v1', 'Deployment');

  function live(): JsonObject {
    const d = deployment();
    const spec = ((d.spec as JsonObject).template as JsonObject).spec as JsonObject;
    spec.containers = [
      { name: 'nginx', image: 'nginx:1.9.1', ports: [{ containerPort: 80, protocol: 'TCP' }] },
      { name: 'sidecar', image: 'busybox', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
    ];
    return d;
  }

  it('pauses and resumes a rollout', () => {
    const paused = strategicMergePatch(live(), { spec: { paused: true } }, deploymentSchema());
    assert.equal((paused.spec as JsonObject).paused, true);
    const resumed = strategicMergePatch(paused, { spec: { paused: null } }, deploymentSchema());
    assert.equal('paused' in (resumed.spec as JsonObject), false);
  });

  it('sets an image with $setElementOrder/containers, keeping the other container', () => {
    const out = strategicMergePatch(
      live(),
      { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ image: 'nginx:1.10', name: 'nginx' }] } } } },
      deploymentSchema(),
    );
    const cs = containersOf(out);
    assert.deepEqual(names(cs), ['nginx', 'sidecar']);
    assert.equal(cs[0].image, 'nginx:1.10');
    assert.deepEqual(cs[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
    assert.equal(cs[1].image, 'busybox');
  });

  it('adds the restartedAt annotation for rollout restart', () => {
    const at = '2024-05-01T10:00:00Z';
    const out = strategicMergePatch(live(), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } }, deploymentSchema());
    const meta = ((out.spec as JsonObject).template as JsonObject).metadata as JsonObject;
    assert.deepEqual(meta.annotations, { 'kubectl.kubernetes.io/restartedAt': at });
    assert.deepEqual(meta.labels, { app: 'monolith' });
  });

  it('merges env by name and volumes with $retainKeys', () => {
    const out = strategicMergePatch(
      live(),
      {
        spec: {
          strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' },
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }],
              containers: [{ name: 'sidecar', '$setElementOrder/env': [{ name: 'C' }], env: [{ name: 'C', value: '1' }, { $patch: 'delete', name: 'A' }, { $patch: 'delete', name: 'B' }] }],
              '$setElementOrder/volumes': [{ name: 'tls-certs' }],
              volumes: [{ $retainKeys: ['emptyDir', 'name'], emptyDir: {}, name: 'tls-certs', secret: null }],
            },
          },
        },
      },
      deploymentSchema(),
    );
    assert.deepEqual((out.spec as JsonObject).strategy, { type: 'Recreate' });
    assert.deepEqual(containersOf(out)[1].env, [{ name: 'C', value: '1' }]);
    assert.deepEqual(((out.spec as JsonObject).template as JsonObject as { spec: { volumes: JsonValue } }).spec.volumes, [{ name: 'tls-certs', emptyDir: {} }]);
  });

  it('cordons and uncordons a node, and drops a finalizer', () => {
    const nodeSchema = schemaForKind('', 'v1', 'Node');
    const node: JsonObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', finalizers: ['a', 'b'] }, spec: { podCIDR: '10.0.0.0/24' } };
    const cordoned = strategicMergePatch(node, { spec: { unschedulable: true } }, nodeSchema);
    assert.deepEqual(cordoned.spec, { podCIDR: '10.0.0.0/24', unschedulable: true });
    const uncordoned = strategicMergePatch(cordoned, { spec: { unschedulable: null } }, nodeSchema);
    assert.deepEqual(uncordoned.spec, { podCIDR: '10.0.0.0/24' });
    const trimmed = strategicMergePatch(node, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], '$setElementOrder/finalizers': ['a'] } }, nodeSchema);
    assert.deepEqual((trimmed.metadata as JsonObject).finalizers, ['a']);
  });
});

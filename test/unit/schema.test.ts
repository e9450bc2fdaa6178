import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESOURCES } from '../../src/api/resources.js';
import { checkFields, duplicateFields, prune } from '../../src/api/schema/fieldcheck.js';
import { definition, definitionNameForKind, propertySchema, resolve, schemaDocument, schemaForKind } from '../../src/api/schema/registry.js';
import type { Schema } from '../../src/api/schema/types.js';

const prop = (def: string, ...path: string[]): Schema | undefined => {
  let s: Schema | undefined = definition(def);
  for (const p of path) s = p === '[]' ? resolve(s)?.items : p === '{}' ? resolve(s)?.additionalProperties : propertySchema(s, p);
  return s;
};

describe('schema registry (gen/schema.json)', () => {
  it('names definitions and kinds like upstream OpenAPI', () => {
    assert.equal(definitionNameForKind('apps', 'v1', 'Deployment'), 'io.k8s.api.apps.v1.Deployment');
    assert.equal(definitionNameForKind('', 'v1', 'Pod'), 'io.k8s.api.core.v1.Pod');
    assert.equal(definitionNameForKind('networking.k8s.io', 'v1', 'Ingress'), 'io.k8s.api.networking.v1.Ingress');
    assert.equal(definitionNameForKind('rbac.authorization.k8s.io', 'v1', 'ClusterRole'), 'io.k8s.api.rbac.v1.ClusterRole');
    assert.equal(definitionNameForKind('apps', 'v1', 'DeploymentList'), 'io.k8s.api.apps.v1.DeploymentList');
    assert.equal(definitionNameForKind('', 'v1', 'Status'), 'io.k8s.apimachinery.pkg.apis.meta.v1.Status');
    assert.equal(definitionNameForKind('apps', 'v1', 'DeleteOptions'), 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions');
    for (const n of [
      'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      'io.k8s.apimachinery.pkg.api.resource.Quantity',
      'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
      'io.k8s.apimachinery.pkg.runtime.RawExtension',
      'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
      'io.k8s.api.core.v1.PodSpec',
    ])
      assert.ok(definition(n), n);
  });

  it('describes every kind and subresource kind kite serves', () => {
    for (const r of RESOURCES) {
      assert.ok(schemaForKind(r.group, r.version, r.kind), `${r.group}/${r.version}/${r.kind}`);
      if (!r.virtual) assert.ok(schemaForKind(r.group, r.version, r.kind + 'List'), `${r.kind}List`);
    }
    assert.ok(schemaForKind('autoscaling', 'v1', 'Scale'));
    assert.ok(schemaForKind('policy', 'v1', 'Eviction'));
  });

  it('carries the GVK on top-level kinds and lists', () => {
    assert.deepEqual(definition('io.k8s.api.apps.v1.Deployment')?.['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    assert.deepEqual(definition('io.k8s.api.core.v1.PodList')?.['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'PodList' }]);
    assert.equal(definition('io.k8s.api.apps.v1.DeploymentSpec')?.['x-kubernetes-group-version-kind'], undefined);
  });

  it('keeps descriptions, required lists and refs', () => {
    const spec = definition('io.k8s.api.apps.v1.DeploymentSpec');
    assert.ok(spec?.description?.startsWith('DeploymentSpec'));
    assert.deepEqual(spec?.required, ['selector', 'template']);
    assert.equal(spec?.properties?.template.$ref, 'io.k8s.api.core.v1.PodTemplateSpec');
    assert.ok(spec?.properties?.strategy.description);
    // Paragraph breaks survive the comment stripping.
    assert.match(definition('io.k8s.apimachinery.pkg.api.resource.Quantity')?.description ?? '', /\n\nThe serialization format is:\n\n/);
  });

  it('maps scalars to upstream types and formats', () => {
    assert.deepEqual(prop('io.k8s.apimachinery.pkg.api.resource.Quantity'), { ...definition('io.k8s.apimachinery.pkg.api.resource.Quantity'), type: 'string', format: 'quantity' });
    const ios = definition('io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    assert.equal(ios?.format, 'int-or-string');
    assert.equal(ios?.['x-kubernetes-int-or-string'], true);
    assert.equal(definition('io.k8s.apimachinery.pkg.apis.meta.v1.Time')?.format, 'date-time');
    assert.equal(prop('io.k8s.api.apps.v1.DeploymentSpec', 'replicas')?.format, 'int32');
    assert.equal(prop('io.k8s.api.core.v1.PodSpec', 'terminationGracePeriodSeconds')?.format, 'int64');
    assert.equal(prop('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'generation')?.format, 'int64');
    assert.equal(prop('io.k8s.api.apps.v1.DeploymentStatus', 'observedGeneration')?.format, 'int64');
    assert.equal(prop('io.k8s.api.core.v1.PodSecurityContext', 'supplementalGroups', '[]')?.format, 'int64');
    assert.equal(prop('io.k8s.api.core.v1.Secret', 'data', '{}')?.format, 'byte');
    assert.equal(prop('io.k8s.api.core.v1.ConfigMap', 'binaryData', '{}')?.format, 'byte');
    assert.equal(prop('io.k8s.api.core.v1.ConfigMap', 'data', '{}')?.format, undefined);
    assert.equal(definition('io.k8s.api.apps.v1.RollingUpdateDeployment')?.properties?.maxSurge.$ref, 'io.k8s.apimachinery.pkg.util.intstr.IntOrString');
  });

  it('merges patch and apply metadata from the overlay', () => {
    const containers = definition('io.k8s.api.core.v1.PodSpec')?.properties?.containers;
    assert.equal(containers?.['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(containers?.['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(containers?.['x-kubernetes-list-type'], 'map');
    assert.deepEqual(containers?.['x-kubernetes-list-map-keys'], ['name']);
    const ports = definition('io.k8s.api.core.v1.Container')?.properties?.ports;
    assert.deepEqual(ports?.['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
    assert.equal(definition('io.k8s.api.core.v1.ContainerPort')?.properties?.protocol.default, 'TCP');
    assert.equal(definition('io.k8s.api.core.v1.PodSpec')?.properties?.volumes['x-kubernetes-patch-strategy'], 'merge,retainKeys');
    assert.equal(definition('io.k8s.api.apps.v1.DeploymentSpec')?.properties?.strategy['x-kubernetes-patch-strategy'], 'retainKeys');
    assert.equal(definition('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')?.properties?.finalizers['x-kubernetes-list-type'], 'set');
    assert.equal(definition('io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector')?.['x-kubernetes-map-type'], 'atomic');
    assert.equal(definition('io.k8s.api.policy.v1.PodDisruptionBudgetSpec')?.properties?.selector['x-kubernetes-patch-strategy'], 'replace');
    // A 1.31+ field kubectl 1.32 may send.
    assert.ok(definition('io.k8s.api.core.v1.Volume')?.properties?.image);
  });

  it('agrees with the protobuf field table where both describe a message', () => {
    let numbered = 0;
    for (const [n, d] of Object.entries(schemaDocument().definitions)) {
      const proto = d['x-kite-proto'];
      if (!proto || !d.properties) continue;
      numbered++;
      for (const f of Object.values(proto)) if (!f.inline) assert.ok(d.properties[f.name], `${n}.${f.name} is in the protobuf table but not the schema`);
    }
    // proto.json is optional at build time; when present it numbers the kinds kite serves.
    if (numbered) assert.ok(definition('io.k8s.api.apps.v1.Deployment')?.['x-kite-proto']);
  });

  it('has no dangling references', () => {
    const doc = schemaDocument();
    const check = (s: Schema | undefined, where: string): void => {
      if (!s) return;
      if (s.$ref) assert.ok(doc.definitions[s.$ref], `${where} → ${s.$ref}`);
      check(s.items, where + '[]');
      check(s.additionalProperties, where + '{}');
      for (const [p, ps] of Object.entries(s.properties ?? {})) check(ps, `${where}.${p}`);
    };
    for (const [n, d] of Object.entries(doc.definitions)) check(d, n);
    for (const [k, n] of Object.entries(doc.kinds)) assert.ok(doc.definitions[n], k);
  });
});

const deployment = (): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, annotations: { a: 'b' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx',
            ports: [{ containerPort: 80 }],
            resources: { limits: { cpu: 0.5, memory: '128Mi' } },
            env: [{ name: 'A', value: '1' }],
          },
        ],
        terminationGracePeriodSeconds: 30,
      },
    },
  },
  status: { replicas: 2, conditions: [{ type: 'Available', status: 'True', lastTransitionTime: '2024-01-02T03:04:05Z' }] },
});

describe('field checking', () => {
  it('accepts a valid object, with quantities given as numbers', () => {
    const r = checkFields(deployment(), 'apps', 'v1', 'Deployment');
    assert.deepEqual(r, { unknown: [], typeErrors: [] });
  });

  it('reports unknown fields with kube-apiserver paths', () => {
    const d = deployment() as { spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } } };
    d.spec.bogusField = 1;
    d.spec.template.spec.containers[0].foo = 'x';
    (d as Record<string, unknown>).extra = true;
    const r = checkFields(d, 'apps', 'v1', 'Deployment');
    assert.deepEqual(r.unknown.sort(), ['extra', 'spec.bogusField', 'spec.template.spec.containers[0].foo']);
    assert.deepEqual(r.typeErrors, []);
  });

  it('reports type errors in Go decoder wording', () => {
    const d = deployment() as { spec: Record<string, unknown> };
    d.spec.replicas = 'abc';
    const r = checkFields(d, 'apps', 'v1', 'Deployment');
    assert.deepEqual(r.typeErrors, [
      { field: 'spec.replicas', message: 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32' },
    ]);

    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { n: 1 } }, spec: { containers: [{ name: 'c', image: {} }], hostNetwork: 'yes' } };
    const pr = checkFields(pod, '', 'v1', 'Pod');
    assert.deepEqual(
      pr.typeErrors.map((e) => e.message).sort(),
      [
        'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string',
        'json: cannot unmarshal object into Go struct field Container.spec.containers.image of type string',
        'json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool',
      ],
    );
    assert.deepEqual(pr.typeErrors.map((e) => e.field).sort(), ['metadata.labels.n', 'spec.containers[0].image', 'spec.hostNetwork']);

    const bad = checkFields({ spec: { template: 'x', replicas: 1.5 } }, 'apps', 'v1', 'Deployment');
    assert.deepEqual(bad.typeErrors.map((e) => e.message).sort(), [
      'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32',
      'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.template of type v1.PodTemplateSpec',
    ]);
    const list = checkFields({ spec: { containers: {} } }, '', 'v1', 'Pod');
    assert.equal(list.typeErrors[0].message, 'json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container');
  });

  it('checks int-or-string, quantities, times and base64', () => {
    const r = checkFields(
      {
        metadata: { creationTimestamp: 'yesterday' },
        spec: { strategy: { rollingUpdate: { maxSurge: true } }, template: { spec: { containers: [{ name: 'c', resources: { limits: { cpu: [] } } }] } } },
      },
      'apps',
      'v1',
      'Deployment',
    );
    assert.deepEqual(r.typeErrors.map((e) => e.field).sort(), ['metadata.creationTimestamp', 'spec.strategy.rollingUpdate.maxSurge', 'spec.template.spec.containers[0].resources.limits.cpu']);
    const q = checkFields({ spec: { containers: [{ name: 'c', resources: { limits: { cpu: '500m', memory: '1.5Gi', x: '1e3', y: 2 }, requests: { cpu: 'abc', memory: '10 Mi' } } }] } }, '', 'v1', 'Pod');
    assert.deepEqual(q.typeErrors.map((e) => e.field).sort(), ['spec.containers[0].resources.requests.cpu', 'spec.containers[0].resources.requests.memory']);
    assert.match(q.typeErrors[0].message, /^quantities must match the regular expression/);
    const s = checkFields({ data: { ok: 'aGVsbG8=', bad: 'not base64!' } }, '', 'v1', 'Secret');
    assert.deepEqual(s.typeErrors, [{ field: 'data.bad', message: 'illegal base64 data at input byte 3' }]);
    assert.deepEqual(checkFields({ metadata: { creationTimestamp: null }, spec: null }, 'apps', 'v1', 'Deployment').typeErrors, []);
  });

  it('does not look inside opaque payloads', () => {
    const cr = { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'r' }, revision: 1, data: { anything: { at: ['all'] } } };
    assert.deepEqual(checkFields(cr, 'apps', 'v1', 'ControllerRevision'), { unknown: [], typeErrors: [] });
    const mf = { metadata: { managedFields: [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] } };
    assert.deepEqual(checkFields(mf, 'apps', 'v1', 'Deployment').unknown, []);
  });

  it('returns nothing for kinds without a schema', () => {
    assert.deepEqual(checkFields({ a: 1 }, 'example.com', 'v1', 'Widget'), { unknown: [], typeErrors: [] });
  });

  it('prunes unknown fields in place', () => {
    const d = deployment() as { spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } } };
    d.spec.bogus = 1;
    d.spec.template.spec.containers[0].foo = 'x';
    const removed = prune(d, { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.deepEqual(removed.sort(), ['spec.bogus', 'spec.template.spec.containers[0].foo']);
    assert.deepEqual(d, deployment());
  });

  it('finds duplicate keys in raw JSON', () => {
    const raw = '{"metadata":{"name":"a","name":"b"},"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"x","image":"i","image":"j"}]}},"replicas":2}}';
    assert.deepEqual(duplicateFields(raw), ['metadata.name', 'spec.template.spec.containers[0].image', 'spec.replicas']);
    const r = checkFields(JSON.parse(raw), 'apps', 'v1', 'Deployment', raw);
    assert.deepEqual(r.duplicates, ['metadata.name', 'spec.template.spec.containers[0].image', 'spec.replicas']);
    assert.deepEqual(duplicateFields('{"a":"x\\"y","b":[1,2,{"c":true}],"d":null}'), []);
    assert.equal(checkFields({}, 'apps', 'v1', 'Deployment', '{}').duplicates, undefined);
  });

  it('finds duplicate keys written with escapes, in large objects, under lists, and nothing in broken JSON', () => {
    assert.deepEqual(duplicateFields('{"a\\u0062":1, "ab" : 2}'), ['ab']);
    const many = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',');
    assert.deepEqual(duplicateFields(`{"m":{${many},"k3":0,"k39":[]}}`), ['m.k3', 'm.k39']);
    assert.deepEqual(duplicateFields('[{"a":[[{"b":1,"b":2}]]}]'), ['[0].a[0][0].b']);
    assert.deepEqual(duplicateFields('{"s":"}\\\\","s":"\\"{"}'), ['s']);
    assert.deepEqual(duplicateFields('{"a":[1,'), []);
    assert.deepEqual(duplicateFields('{"a":"x'), []);
  });
});

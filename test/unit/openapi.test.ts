import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { missingKindSchemas, openapiV2, openapiV3Document, openapiV3Index } from '../../src/api/openapi.js';
import { RESOURCES } from '../../src/api/resources.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object');
  return v as Obj;
};

function v3(path: string): Obj {
  const d = openapiV3Document(path);
  assert.ok(d, path);
  return obj(JSON.parse(d.body));
}

/** Every `$ref` anywhere in `doc` must name an entry of `defs`. */
function assertRefsResolve(node: unknown, prefix: string, defs: Obj, where = '#'): void {
  if (Array.isArray(node)) return node.forEach((n, i) => assertRefsResolve(n, prefix, defs, `${where}/${i}`));
  if (typeof node !== 'object' || node === null) return;
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref') {
      assert.equal(typeof v, 'string');
      assert.ok((v as string).startsWith(prefix), `${where}: ${String(v)}`);
      assert.ok(defs[(v as string).slice(prefix.length)], `${where}: dangling ${String(v)}`);
    } else assertRefsResolve(v, prefix, defs, `${where}/${k}`);
  }
}

describe('OpenAPI v3', () => {
  it('indexes every served group-version with a content hash', () => {
    const idx = obj(openapiV3Index());
    const paths = obj(idx.paths);
    for (const r of RESOURCES) {
      const key = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
      const entry = obj(paths[key]);
      const d = openapiV3Document(key);
      assert.ok(d);
      assert.equal(d.hash, createHash('sha512').update(d.body).digest('hex').toUpperCase());
      assert.equal(entry.serverRelativeURL, `/openapi/v3/${key}?hash=${d.hash}`);
    }
    assert.equal(openapiV3Document('apis/nope/v1'), undefined);
    // Cached: the same strings come back.
    assert.equal(openapiV3Document('apis/apps/v1'), openapiV3Document('/apis/apps/v1'));
  });

  it('publishes the fieldValidation gate on the PATCH of every kind', () => {
    for (const r of RESOURCES.filter((x) => !x.virtual)) {
      const key = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
      const doc = v3(key);
      const paths = obj(doc.paths);
      const base = `/${key}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}/{name}`;
      const patch = obj(obj(paths[base]).patch);
      assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: r.group, kind: r.kind, version: r.version });
      assert.equal(patch['x-kubernetes-action'], 'patch');
      const params = patch.parameters as Obj[];
      assert.ok(params.some((p) => p.name === 'fieldValidation' && p.in === 'query'), `${base} fieldValidation`);
      const content = obj(obj(patch.requestBody).content);
      for (const t of ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json']) assert.ok(content[t], t);
    }
  });

  it('has collection, item, watch and subresource paths with actions', () => {
    const paths = obj(v3('apis/apps/v1').paths);
    const coll = obj(paths['/apis/apps/v1/namespaces/{namespace}/deployments']);
    assert.equal(obj(coll.get)['x-kubernetes-action'], 'list');
    assert.equal(obj(coll.post)['x-kubernetes-action'], 'post');
    assert.equal(obj(coll.delete)['x-kubernetes-action'], 'deletecollection');
    const item = obj(paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']);
    assert.deepEqual(Object.keys(item).sort(), ['delete', 'get', 'parameters', 'patch', 'put']);
    assert.equal(obj(obj(paths['/apis/apps/v1/deployments']).get)['x-kubernetes-action'], 'list');
    assert.equal(obj(obj(paths['/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}']).get)['x-kubernetes-action'], 'watch');
    const scale = obj(paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale']);
    assert.deepEqual(obj(scale.patch)['x-kubernetes-group-version-kind'], { group: 'autoscaling', kind: 'Scale', version: 'v1' });
    assert.ok(paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status']);

    const core = obj(v3('api/v1').paths);
    assert.equal(obj(obj(core['/api/v1/namespaces/{namespace}/pods/{name}/exec']).post)['x-kubernetes-action'], 'connect');
    assert.ok(obj(core['/api/v1/namespaces/{namespace}/pods/{name}/log']).get);
    assert.ok(obj(core['/api/v1/nodes/{name}']).patch);
    assert.ok(obj(core['/api/v1/namespaces/{name}']).get);
  });

  it('carries complete, resolvable schemas with patch metadata', () => {
    const doc = v3('apis/apps/v1');
    const schemas = obj(obj(doc.components).schemas);
    assertRefsResolve(doc, '#/components/schemas/', schemas);
    const dep = obj(schemas['io.k8s.api.apps.v1.Deployment']);
    assert.deepEqual(dep['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    // A described reference is wrapped in allOf.
    const spec = obj(obj(dep.properties).spec);
    assert.deepEqual(spec.allOf, [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec' }]);
    assert.equal(typeof spec.description, 'string');
    const containers = obj(obj(obj(schemas['io.k8s.api.core.v1.PodSpec']).properties).containers);
    assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(containers['x-kubernetes-list-type'], 'map');
    const strategy = obj(obj(obj(schemas['io.k8s.api.apps.v1.DeploymentSpec']).properties).strategy);
    assert.equal(strategy['x-kubernetes-patch-strategy'], 'retainKeys');
    assert.deepEqual(obj(schemas['io.k8s.apimachinery.pkg.api.resource.Quantity']).oneOf, [{ type: 'string' }, { type: 'number' }]);
    // kite-private keys stay private.
    assert.ok(!JSON.stringify(doc).includes('x-kite-'));
    for (const n of ['io.k8s.apimachinery.pkg.apis.meta.v1.Patch', 'io.k8s.apimachinery.pkg.apis.meta.v1.Status', 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions', 'io.k8s.api.autoscaling.v1.Scale'])
      assert.ok(schemas[n], n);
    // Every group-version document resolves.
    for (const key of Object.keys(obj(openapiV3Index().paths))) {
      const d = v3(key);
      assertRefsResolve(d, '#/components/schemas/', obj(obj(d.components).schemas));
    }
  });

  it('leaves no served kind without a schema', () => {
    assert.deepEqual(missingKindSchemas(), []);
  });
});

describe('OpenAPI v2', () => {
  it('is a swagger 2.0 document whose refs resolve', () => {
    const v2 = openapiV2();
    assert.equal(v2, openapiV2());
    assert.match(v2.etag, /^"[0-9A-F]{128}"$/);
    const doc = obj(JSON.parse(v2.body));
    assert.equal(doc.swagger, '2.0');
    const defs = obj(doc.definitions);
    assertRefsResolve(doc, '#/definitions/', defs);
    const patch = obj(obj(obj(doc.paths)['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']).patch);
    assert.ok((patch.parameters as Obj[]).some((p) => p.name === 'fieldValidation'));
    assert.ok((patch.consumes as string[]).includes('application/strategic-merge-patch+json'));
    assert.ok(obj(obj(doc.paths)['/api/v1/namespaces/{namespace}/pods/{name}']).patch);
    const containers = obj(obj(obj(defs['io.k8s.api.core.v1.PodSpec']).properties).containers);
    assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { findResource } from '../../src/api/resources.js';
import { AdmissionChain, defaultIngressClassName } from '../../src/apiserver/admission/chain.js';
import { ServiceAllocator, parseCidr } from '../../src/apiserver/admission/serviceips.js';

// The DefaultIngressClass admission plugin: what `kubectl get ingress` shows in CLASS after a create that
// named no class.

const DEFAULT = { 'ingressclass.kubernetes.io/is-default-class': 'true' };
const INGRESSES = findResource('networking.k8s.io', 'v1', 'ingresses')!;

function ingressClass(name: string, created: string, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name, creationTimestamp: created, annotations }, spec: { controller: 'x' } } as KubeObject;
}

function ingress(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  const rules = [{ host: 'a.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }];
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default', ...(annotations ? { annotations } : {}) }, spec: { rules, ...spec } } as KubeObject;
}

function chain(classes: KubeObject[]): AdmissionChain {
  const c = new AdmissionChain(new ServiceAllocator(parseCidr('10.43.0.0/16'), { min: 30000, max: 32767 }), { defaultTolerationSeconds: 300 });
  c.setIngressClassSource(async () => classes);
  return c;
}

const classOf = (o: KubeObject) => (o.spec as { ingressClassName?: string }).ingressClassName;

test('the default IngressClass: annotated true, newest wins, ties by name', () => {
  assert.equal(defaultIngressClassName([ingressClass('a', '2026-01-01T00:00:00Z')]), undefined);
  assert.equal(defaultIngressClassName([ingressClass('old', '2026-01-01T00:00:00Z', DEFAULT), ingressClass('new', '2026-02-01T00:00:00Z', DEFAULT)]), 'new');
  assert.equal(defaultIngressClassName([ingressClass('z', '2026-01-01T00:00:00Z', DEFAULT), ingressClass('m', '2026-01-01T00:00:00Z', DEFAULT)]), 'm');
});

test('an Ingress created without a class gets the default one', async () => {
  const ing = ingress();
  await chain([ingressClass('kite', '2026-01-01T00:00:00Z', DEFAULT), ingressClass('other', '2026-01-02T00:00:00Z')]).mutate('create', INGRESSES, ing, undefined, false);
  assert.equal(classOf(ing), 'kite');
});

test('an Ingress that chose a class, by field or legacy annotation, keeps its choice', async () => {
  const c = chain([ingressClass('kite', '2026-01-01T00:00:00Z', DEFAULT)]);
  const named = ingress({ ingressClassName: 'other' });
  await c.mutate('create', INGRESSES, named, undefined, false);
  assert.equal(classOf(named), 'other');
  const legacy = ingress({}, { 'kubernetes.io/ingress.class': 'nginx' });
  await c.mutate('create', INGRESSES, legacy, undefined, false);
  assert.equal(classOf(legacy), undefined);
});

test('only creates are defaulted, and nothing without a default class', async () => {
  const c = chain([ingressClass('kite', '2026-01-01T00:00:00Z', DEFAULT)]);
  const updated = ingress();
  await c.mutate('update', INGRESSES, updated, ingress(), false);
  assert.equal(classOf(updated), undefined);
  const none = ingress();
  await chain([ingressClass('plain', '2026-01-01T00:00:00Z')]).mutate('create', INGRESSES, none, undefined, false);
  assert.equal(classOf(none), undefined);
});

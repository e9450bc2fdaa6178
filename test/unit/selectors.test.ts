import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from '../../src/api/errors.js';
import {
  fieldSelectorFor,
  fieldSelectorString,
  fieldsOf,
  matchesFields,
  parseFieldSelector,
  requiredFieldValue,
  selectableFields,
  validateFieldSelector,
} from '../../src/api/fields.js';
import type { KubeObject } from '../../src/api/object.js';
import { findResource, type ResourceInfo } from '../../src/api/resources.js';
import {
  formatLabelSelector,
  formatLabels,
  isEverything,
  labelSelectorString,
  matchesLabels,
  parseLabelSelector,
  requiredLabelValue,
  selectorFromLabelSelector,
  selectorFromSet,
  sameLabels,
} from '../../src/api/selectors.js';

function res(group: string, version: string, resource: string): ResourceInfo {
  const r = findResource(group, version, resource);
  assert.ok(r, `${group}/${version}/${resource}`);
  return r;
}

const m = (s: string, labels: Record<string, string>) => matchesLabels(parseLabelSelector(s), labels);

describe('label selector parsing and matching', () => {
  it('equality operators', () => {
    assert.equal(m('app=web', { app: 'web' }), true);
    assert.equal(m('app==web', { app: 'web' }), true);
    assert.equal(m('app=web', { app: 'db' }), false);
    assert.equal(m('app=web', {}), false);
    assert.equal(m('app!=web', { app: 'db' }), true);
    assert.equal(m('app!=web', {}), true, '!= matches objects without the key');
    assert.equal(m('app!=web', { app: 'web' }), false);
    assert.equal(m('kubernetes.io/service-name=nginx', { 'kubernetes.io/service-name': 'nginx' }), true);
  });

  it('set operators', () => {
    assert.equal(m('env in (prod, staging)', { env: 'staging' }), true);
    assert.equal(m('env in (prod,staging)', { env: 'dev' }), false);
    assert.equal(m('env in (prod)', {}), false);
    assert.equal(m('env notin (dev)', { env: 'prod' }), true);
    assert.equal(m('env notin (dev)', {}), true);
    assert.equal(m('env notin (dev)', { env: 'dev' }), false);
  });

  it('existence, conjunction and whitespace', () => {
    assert.equal(m('tier', { tier: '' }), true);
    assert.equal(m('tier', {}), false);
    assert.equal(m('!tier', {}), true);
    assert.equal(m('!tier', { tier: 'x' }), false);
    assert.equal(m('  app = web ,  !canary , env in ( a , b ) ', { app: 'web', env: 'b' }), true);
    assert.equal(m('app=web,!canary', { app: 'web', canary: 'true' }), false);
    assert.equal(m('', { anything: 'x' }), true);
    assert.ok(isEverything(parseLabelSelector('')));
  });

  it('empty values and keywords as values', () => {
    assert.equal(m('x=', { x: '' }), true);
    assert.equal(m('x=,y', { x: '', y: 'a' }), true);
    assert.deepEqual(parseLabelSelector('x in (foo,,baz)').requirements[0].values, ['', 'baz', 'foo']);
    assert.deepEqual(parseLabelSelector('x in ()').requirements[0].values, ['']);
    assert.deepEqual(parseLabelSelector('x in (,a)').requirements[0].values, ['', 'a']);
    assert.equal(m('in in (in, notin)', { in: 'notin' }), true);
  });

  it('numeric comparisons', () => {
    assert.equal(m('gen>3', { gen: '10' }), true);
    assert.equal(m('gen>3', { gen: '3' }), false);
    assert.equal(m('gen<3', { gen: '2' }), true);
    assert.equal(m('gen<3', { gen: 'two' }), false);
    assert.equal(m('gen<3', {}), false);
  });

  it('sorts requirements and prints canonically', () => {
    const sel = parseLabelSelector('z=1,a in (c,b),!m,k');
    assert.deepEqual(sel.requirements.map((r) => r.key), ['a', 'k', 'm', 'z']);
    assert.equal(labelSelectorString(sel), 'a in (b,c),k,!m,z=1');
    assert.equal(requiredLabelValue(parseLabelSelector('run=nginx'), 'run'), 'nginx');
    assert.equal(requiredLabelValue(parseLabelSelector('run!=nginx'), 'run'), undefined);
  });

  const errors: Array<[string, string]> = [
    ['a b', "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'"],
    ['component not in (kube-apiserver)', "unable to parse requirement: found 'not', expected: '=', '!=', '==', 'in', notin'"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b c)', "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ['a=b,', "found '', expected: identifier after ','"],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['a=(', "unable to parse requirement: found '(', expected: identifier"],
  ];
  for (const [input, message] of errors) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseLabelSelector(input), { message });
    });
  }

  it('validates keys and values with kube-apiserver messages', () => {
    assert.throws(() => parseLabelSelector('-a=b'), {
      message:
        'unable to parse requirement: <nil>: Invalid value: "-a": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyName\',  or \'my.name\',  or \'123-abc\', regex used for validation is \'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\')',
    });
    assert.throws(() => parseLabelSelector('a=-b'), /^Error: unable to parse requirement: values\[0\]\[a\]: Invalid value: "-b": a valid label must be an empty string/);
    assert.throws(() => parseLabelSelector(`a=${'x'.repeat(64)}`), /must be no more than 63 characters/);
    assert.throws(() => parseLabelSelector('Example.com/a=b'), /prefix part a lowercase RFC 1123 subdomain/);
    assert.doesNotThrow(() => parseLabelSelector('example.com/a=b'));
  });
});

describe('metav1.LabelSelector', () => {
  it('matchLabels and matchExpressions', () => {
    const sel = selectorFromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'tier', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
      ],
    });
    assert.equal(matchesLabels(sel, { app: 'web', env: 'prod', tier: 'fe' }), true);
    assert.equal(matchesLabels(sel, { app: 'web', env: 'prod', tier: 'fe', zone: 'a' }), false);
    assert.equal(matchesLabels(sel, { app: 'web', env: 'prod' }), false);
    assert.equal(matchesLabels(sel, { app: 'web', env: 'prod', tier: 'fe', canary: '1' }), false);
  });

  it('nil matches nothing, empty matches everything', () => {
    assert.equal(matchesLabels(selectorFromLabelSelector(undefined), { a: 'b' }), false);
    assert.equal(matchesLabels(selectorFromLabelSelector(null), {}), false);
    assert.equal(matchesLabels(selectorFromLabelSelector({}), { a: 'b' }), true);
    assert.equal(matchesLabels(selectorFromLabelSelector({ matchLabels: {} }), {}), true);
  });

  it('rejects bad operators and values', () => {
    assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }), {
      message: '"Equals" is not a valid label selector operator',
    });
    assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), /values set can't be empty/);
    assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), /values set must be empty/);
    assert.throws(() => selectorFromLabelSelector({ matchLabels: { 'a b': 'c' } }), /Invalid value: "a b"/);
  });

  it('formats like Scale.status.selector', () => {
    assert.equal(
      formatLabelSelector({
        matchLabels: { b: '2', a: '1' },
        matchExpressions: [
          { key: 'd', operator: 'DoesNotExist' },
          { key: 'c', operator: 'In', values: ['y', 'x'] },
          { key: 'e', operator: 'NotIn', values: ['z'] },
        ],
      }),
      'a=1,b=2,c in (x,y),!d,e notin (z)',
    );
    assert.equal(formatLabelSelector({ matchLabels: { app: 'nginx' } }), 'app=nginx');
    assert.equal(formatLabelSelector({}), '');
    assert.equal(formatLabelSelector(undefined), '');
  });

  it('label sets', () => {
    assert.equal(formatLabels({ run: 'nginx', app: 'x' }), 'app=x,run=nginx');
    assert.equal(formatLabels(undefined), '');
    assert.equal(matchesLabels(selectorFromSet({ app: 'x' }), { app: 'x', b: 'c' }), true);
    assert.equal(matchesLabels(selectorFromSet({}), { app: 'x' }), true);
  });
});

describe('field selectors', () => {
  const pods = res('', 'v1', 'pods');
  const events = res('', 'v1', 'events');
  const nodes = res('', 'v1', 'nodes');

  const pod = (phase: string, nodeName?: string): KubeObject => ({
    metadata: { name: 'p', namespace: 'default' },
    spec: { nodeName, restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default', hostNetwork: true },
    status: { phase, podIPs: [{ ip: '10.0.0.5' }], podIP: '10.0.0.5' },
  });

  it('parses terms, empty values and escapes', () => {
    assert.deepEqual(parseFieldSelector('status.phase!=Succeeded,metadata.name=foo').requirements, [
      { field: 'metadata.name', operator: '=', value: 'foo' },
      { field: 'status.phase', operator: '!=', value: 'Succeeded' },
    ]);
    assert.deepEqual(parseFieldSelector('involvedObject.namespace=').requirements, [{ field: 'involvedObject.namespace', operator: '=', value: '' }]);
    assert.deepEqual(parseFieldSelector('a==b').requirements, [{ field: 'a', operator: '==', value: 'b' }]);
    assert.deepEqual(parseFieldSelector('a=b\\,c\\=d\\\\').requirements, [{ field: 'a', operator: '=', value: 'b,c=d\\' }]);
    assert.deepEqual(parseFieldSelector('').requirements, []);
    assert.deepEqual(parseFieldSelector('a=b,').requirements, [{ field: 'a', operator: '=', value: 'b' }]);
    assert.equal(fieldSelectorString(parseFieldSelector('a=b\\,c')), 'a=b\\,c');
  });

  it('rejects malformed selectors with 400s', () => {
    assert.throws(() => parseFieldSelector('abc'), (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === "invalid selector: 'abc'; can't understand 'abc'");
    assert.throws(() => parseFieldSelector('a=b=c'), { message: 'invalid field selector: unescaped character in value: 61' });
    assert.throws(() => parseFieldSelector('a=b\\x'), { message: 'invalid field selector: invalid escape sequence: \\x' });
    assert.throws(() => parseFieldSelector('a=b\\'), { message: 'invalid field selector: invalid escape sequence: \\' });
  });

  it('pod fields', () => {
    const f = fieldsOf(pods, pod('Running', 'node1'));
    assert.equal(f['metadata.name'], 'p');
    assert.equal(f['metadata.namespace'], 'default');
    assert.equal(f['spec.nodeName'], 'node1');
    assert.equal(f['spec.hostNetwork'], 'true');
    assert.equal(f['status.podIP'], '10.0.0.5');
    assert.equal(f['spec.restartPolicy'], 'Always');
    const drain = fieldSelectorFor(pods, 'spec.nodeName=node1,status.phase!=Succeeded,status.phase!=Failed');
    assert.equal(matchesFields(drain, fieldsOf(pods, pod('Running', 'node1'))), true);
    assert.equal(matchesFields(drain, fieldsOf(pods, pod('Succeeded', 'node1'))), false);
    assert.equal(matchesFields(drain, fieldsOf(pods, pod('Running', 'node2'))), false);
    assert.equal(matchesFields(fieldSelectorFor(pods, 'spec.nodeName='), fieldsOf(pods, pod('Pending'))), true);
    assert.equal(matchesFields(fieldSelectorFor(pods, 'spec.host=node1'), fieldsOf(pods, pod('Running', 'node1'))), true);
    assert.equal(requiredFieldValue(fieldSelectorFor(pods, 'metadata.name=web'), 'metadata.name'), 'web');
  });

  it('event fields', () => {
    const ev: KubeObject = {
      metadata: { name: 'e1', namespace: 'default' },
      involvedObject: { kind: 'Node', name: 'node1', uid: 'node1' },
      reason: 'NodeReady',
      source: { component: 'kubelet', host: 'node1' },
      type: 'Normal',
    };
    const sel = fieldSelectorFor(events, 'involvedObject.kind=Node,involvedObject.name=node1,involvedObject.namespace=,involvedObject.uid=node1');
    assert.equal(matchesFields(sel, fieldsOf(events, ev)), true);
    assert.equal(fieldsOf(events, ev).source, 'kubelet');
    assert.equal(matchesFields(fieldSelectorFor(events, 'type=Warning'), fieldsOf(events, ev)), false);
    const v1 = res('events.k8s.io', 'v1', 'events');
    const newEv: KubeObject = { metadata: { name: 'e2', namespace: 'ns' }, regarding: { kind: 'Pod', name: 'web' }, reportingController: 'kubelet', type: 'Normal' };
    assert.equal(matchesFields(fieldSelectorFor(v1, 'regarding.name=web,reportingController=kubelet,source=kubelet'), fieldsOf(v1, newEv)), true);
  });

  it('rejects unsupported fields', () => {
    const notSupported = (r: ResourceInfo, s: string, field: string) =>
      assert.throws(() => validateFieldSelector(r, parseFieldSelector(s)), (e: unknown) => e instanceof StatusError && e.code === 400 && e.reason === 'BadRequest' && e.message === `field label not supported: ${field}`);
    notSupported(pods, 'spec.containers=x', 'spec.containers');
    notSupported(nodes, 'metadata.namespace=', 'metadata.namespace');
    notSupported(res('apps', 'v1', 'deployments'), 'status.replicas=1', 'status.replicas');
    assert.doesNotThrow(() => fieldSelectorFor(nodes, 'spec.unschedulable=true,metadata.name=n'));
    assert.doesNotThrow(() => fieldSelectorFor(res('', 'v1', 'secrets'), 'type=Opaque'));
    assert.doesNotThrow(() => fieldSelectorFor(res('apps', 'v1', 'replicasets'), 'status.replicas=0'));
    assert.doesNotThrow(() => fieldSelectorFor(res('batch', 'v1', 'jobs'), 'status.successful=1'));
    assert.ok(selectableFields(pods).includes('status.nominatedNodeName'));
  });

  it('cluster-scoped objects have no metadata.namespace field', () => {
    const sc = res('storage.k8s.io', 'v1', 'storageclasses');
    const f = fieldsOf(sc, { metadata: { name: 'standard' } });
    assert.equal('metadata.namespace' in f, false);
    assert.equal(matchesFields(fieldSelectorFor(sc, 'metadata.namespace='), f), true);
    assert.equal(matchesFields(fieldSelectorFor(nodes, 'spec.unschedulable=false'), fieldsOf(nodes, { metadata: { name: 'n' }, spec: {} })), true);
  });
});

it('sameLabels: equal sets, absent as empty, and any differing key or value', () => {
  assert.ok(sameLabels({ app: 'web', tier: 'fe' }, { tier: 'fe', app: 'web' }));
  assert.ok(sameLabels(undefined, {}));
  assert.ok(sameLabels(null, undefined));
  assert.ok(!sameLabels({ app: 'web' }, { app: 'api' }));
  assert.ok(!sameLabels({ app: 'web' }, { app: 'web', tier: 'fe' }));
  assert.ok(!sameLabels({ app: 'web' }, undefined));
});

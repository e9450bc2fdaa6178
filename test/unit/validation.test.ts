import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { invalid, type StatusCause } from '../../src/api/errors.js';
import { applyDefaults, prepareForCreate } from '../../src/api/defaults/index.js';
import { cronScheduleError, nextActivation, parseCronSchedule, validateCreate, validateUpdate } from '../../src/api/validation/index.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const GROUPS: Record<string, [string, string]> = {
  Deployment: ['apps', 'v1'],
  ReplicaSet: ['apps', 'v1'],
  StatefulSet: ['apps', 'v1'],
  DaemonSet: ['apps', 'v1'],
  Job: ['batch', 'v1'],
  CronJob: ['batch', 'v1'],
  HorizontalPodAutoscaler: ['autoscaling', 'v2'],
  Ingress: ['networking.k8s.io', 'v1'],
  NetworkPolicy: ['networking.k8s.io', 'v1'],
  PodDisruptionBudget: ['policy', 'v1'],
  Role: ['rbac.authorization.k8s.io', 'v1'],
  RoleBinding: ['rbac.authorization.k8s.io', 'v1'],
  PriorityClass: ['scheduling.k8s.io', 'v1'],
  StorageClass: ['storage.k8s.io', 'v1'],
  Lease: ['coordination.k8s.io', 'v1'],
  EndpointSlice: ['discovery.k8s.io', 'v1'],
};

function gv(kind: string): [string, string] {
  return GROUPS[kind] ?? ['', 'v1'];
}

/** Defaults, prepares and validates a create the way the API server does; returns the 422 message or "". */
function createMessage(kind: string, o: J): string {
  const [group, version] = gv(kind);
  applyDefaults(group, version, kind, o as KubeObject);
  prepareForCreate(group, version, kind, o as KubeObject);
  const causes = validateCreate(group, version, kind, o);
  return causes.length ? invalid(kind, group, o.metadata?.name ?? '', causes).message : '';
}

function updateCauses(kind: string, n: J, o: J): StatusCause[] {
  const [group, version] = gv(kind);
  applyDefaults(group, version, kind, n as KubeObject);
  applyDefaults(group, version, kind, o as KubeObject);
  return validateUpdate(group, version, kind, n, o);
}

const ns = (name: string, extra: J = {}) => ({ name, namespace: 'default', ...extra });
const tmpl = (labels: J = { app: 'web' }) => ({ metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } });
const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('valid objects pass', () => {
  const valid: [string, J][] = [
    ['Pod', { metadata: ns('p'), spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] } }],
    ['Deployment', { metadata: ns('web'), spec: { selector: { matchLabels: { app: 'web' } }, strategy: {}, template: tmpl() } }],
    ['StatefulSet', { metadata: ns('db'), spec: { serviceName: 'db', selector: { matchLabels: { app: 'web' } }, template: tmpl() } }],
    ['DaemonSet', { metadata: ns('agent'), spec: { selector: { matchLabels: { app: 'web' } }, template: tmpl() } }],
    ['Job', { metadata: ns('pi', { uid: 'uid-1' }), spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } } } }],
    ['CronJob', { metadata: ns('tick'), spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'x' }] } } } } } }],
    ['Service', { metadata: ns('web'), spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }],
    ['Service', { metadata: ns('headless'), spec: { clusterIP: 'None', selector: { app: 'web' } } }],
    ['Secret', { metadata: ns('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==', 'tls.key': 'Yg==' } }],
    ['ConfigMap', { metadata: ns('cfg'), data: { 'app.properties': 'x=1' } }],
    ['Namespace', { metadata: { name: 'team-a' } }],
    ['HorizontalPodAutoscaler', { metadata: ns('h'), spec: { maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } }],
    ['Ingress', { metadata: ns('i'), spec: { rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } }],
    ['RoleBinding', { metadata: ns('rb'), roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }] }],
    ['PodDisruptionBudget', { metadata: ns('pdb'), spec: { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } } }],
    ['EndpointSlice', { metadata: ns('es'), addressType: 'IPv4', endpoints: [{ addresses: ['10.1.2.3'] }], ports: [{ port: 80 }] }],
    ['PersistentVolumeClaim', { metadata: ns('data'), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    ['StorageClass', { metadata: { name: 'local' }, provisioner: 'rancher.io/local-path' }],
    ['Lease', { metadata: ns('l'), spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } }],
  ];
  for (const [kind, o] of valid)
    it(`${kind} ${o.metadata.name}`, () => {
      assert.equal(createMessage(kind, o), '');
    });
});

describe('create messages match kube-apiserver', () => {
  const cases: [string, string, J, string][] = [
    ['bad name', 'Pod', { metadata: ns('Bad_Name'), spec: { containers: [{ name: 'c', image: 'x' }] } }, `Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${SUBDOMAIN}`],
    ['no containers', 'Pod', { metadata: ns('p'), spec: {} }, 'Pod "p" is invalid: spec.containers: Required value'],
    [
      'duplicate container and missing image',
      'Pod',
      { metadata: ns('p'), spec: { containers: [{ name: 'a', image: 'x' }, { name: 'a' }] } },
      'Pod "p" is invalid: [spec.containers[1].image: Required value, spec.containers[1].name: Duplicate value: "a"]',
    ],
    [
      'port range',
      'Pod',
      { metadata: ns('p'), spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 70000 }] }] } },
      'Pod "p" is invalid: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ],
    [
      'requests above limits',
      'Pod',
      { metadata: ns('p'), spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '1' }, requests: { cpu: '2' } } }] } },
      'Pod "p" is invalid: spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    ],
    [
      'restart policy enum',
      'Pod',
      { metadata: ns('p'), spec: { restartPolicy: 'Sometimes', containers: [{ name: 'c', image: 'x' }] } },
      'Pod "p" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ],
    [
      'deployment without selector',
      'Deployment',
      { metadata: ns('web'), spec: { template: tmpl() } },
      'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`]',
    ],
    [
      'template image required',
      'Deployment',
      { metadata: ns('web'), spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } } } },
      'Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value',
    ],
    [
      'maxSurge and maxUnavailable both 0',
      'Deployment',
      { metadata: ns('web'), spec: { selector: { matchLabels: { app: 'web' } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } }, template: tmpl() } },
      'Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
    ],
    [
      'rollingUpdate with Recreate',
      'Deployment',
      { metadata: ns('web'), spec: { selector: { matchLabels: { app: 'web' } }, strategy: { type: 'Recreate', rollingUpdate: {} }, template: tmpl() } },
      "Deployment.apps \"web\" is invalid: spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ],
    [
      'negative replicas',
      'ReplicaSet',
      { metadata: ns('rs'), spec: { replicas: -1, selector: { matchLabels: { app: 'web' } }, template: tmpl() } },
      'ReplicaSet.apps "rs" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    ],
    [
      'service type enum and port names',
      'Service',
      { metadata: ns('s'), spec: { type: 'Foo', ports: [{ port: 80 }, { port: 81 }] } },
      'Service "s" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value, spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]',
    ],
    ['service ports required', 'Service', { metadata: ns('s'), spec: { selector: { app: 'x' } } }, 'Service "s" is invalid: spec.ports: Required value'],
    [
      'secret key and tls keys',
      'Secret',
      { metadata: ns('s'), type: 'kubernetes.io/tls', data: { 'bad key': 'YQ==' } },
      `Secret "s" is invalid: [data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+'), data[tls.crt]: Required value, data[tls.key]: Required value]`,
    ],
    [
      'label syntax',
      'ConfigMap',
      { metadata: ns('c', { labels: { 'a/b/c': 'x' } }) },
      "ConfigMap \"c\" is invalid: metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ],
    [
      'label value too long',
      'ConfigMap',
      { metadata: ns('c', { labels: { k: 'v'.repeat(64) } }) },
      `ConfigMap "c" is invalid: metadata.labels: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`,
    ],
    [
      'annotations too large',
      'ConfigMap',
      { metadata: ns('c', { annotations: { big: 'x'.repeat(262144) } }) },
      'ConfigMap "c" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes',
    ],
    ['namespace with dots', 'Namespace', { metadata: { name: 'a.b' } }, 'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots'],
    ['namespace on cluster kind', 'Namespace', { metadata: { name: 'a', namespace: 'default' } }, 'Namespace "a" is invalid: metadata.namespace: Forbidden: not allowed on this type'],
    [
      'cron schedule',
      'CronJob',
      { metadata: ns('c'), spec: { schedule: 'every minute', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } } } },
      'CronJob.batch "c" is invalid: spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]',
    ],
    [
      'job restartPolicy',
      'Job',
      { metadata: ns('j', { uid: 'u' }), spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } } },
      'Job.batch "j" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
    ],
    [
      'hpa min above max',
      'HorizontalPodAutoscaler',
      { metadata: ns('h'), spec: { minReplicas: 5, maxReplicas: 2, scaleTargetRef: { kind: 'Deployment', name: 'd' } } },
      'HorizontalPodAutoscaler.autoscaling "h" is invalid: spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`',
    ],
    [
      'ingress path and pathType',
      'Ingress',
      { metadata: ns('i'), spec: { rules: [{ http: { paths: [{ path: 'foo', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }, { path: '/x', backend: { service: { name: 's' } } }] } }] } },
      'Ingress.networking.k8s.io "i" is invalid: [spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path, spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified]',
    ],
    [
      'event namespace mismatch',
      'Event',
      { metadata: ns('e'), involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' } },
      'Event "e" is invalid: involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    ],
    [
      'rbac name',
      'Role',
      { metadata: ns('a/b'), rules: [] },
      "Role.rbac.authorization.k8s.io \"a/b\" is invalid: metadata.name: Invalid value: \"a/b\": may not contain '/'",
    ],
  ];
  for (const [name, kind, o, want] of cases)
    it(name, () => {
      assert.equal(createMessage(kind, o), want);
    });

  it('causes carry reason, field and body', () => {
    const o: J = { metadata: ns('p'), spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 0 }] }] } };
    applyDefaults('', 'v1', 'Pod', o as KubeObject);
    assert.deepEqual(validateCreate('', 'v1', 'Pod', o), [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].ports[0].containerPort' }]);
  });
});

describe('update rules', () => {
  const meta = (name: string) => ({ name, namespace: 'default', resourceVersion: '7', uid: 'u' });

  it('deployment selector is immutable', () => {
    const old: J = { metadata: meta('web'), spec: { selector: { matchLabels: { app: 'web' } }, template: tmpl() } };
    const next: J = structuredClone(old);
    next.spec.selector.matchLabels.app = 'api';
    next.spec.template.metadata.labels.app = 'api';
    assert.deepEqual(updateCauses('Deployment', next, old), [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"api"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
        field: 'spec.selector',
      },
    ]);
  });

  it('pod spec allows image changes and forbids the rest', () => {
    const old: J = { metadata: meta('p'), spec: { containers: [{ name: 'c', image: 'x:1' }] } };
    const image: J = structuredClone(old);
    image.spec.containers[0].image = 'x:2';
    assert.deepEqual(updateCauses('Pod', image, old), []);
    const node: J = structuredClone(old);
    node.spec.nodeName = 'n1';
    const causes = updateCauses('Pod', node, old);
    assert.equal(causes.length, 1);
    assert.equal(causes[0]!.field, 'spec');
    assert.match(causes[0]!.message!, /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);
    const more: J = structuredClone(old);
    more.spec.containers.push({ name: 'd', image: 'y' });
    assert.deepEqual(updateCauses('Pod', more, old), [{ reason: 'FieldValueForbidden', message: 'Forbidden: pod updates may not add or remove containers', field: 'spec.containers' }]);
  });

  it('service clusterIP may not change once set', () => {
    const old: J = { metadata: meta('s'), spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ port: 80 }] } };
    const next: J = structuredClone(old);
    next.spec.clusterIP = '10.96.0.2';
    next.spec.clusterIPs = ['10.96.0.2'];
    assert.deepEqual(updateCauses('Service', next, old), [{ reason: 'FieldValueInvalid', message: 'Invalid value: []string{"10.96.0.2"}: may not change once set', field: 'spec.clusterIPs[0]' }]);
  });

  it('immutable secrets and configmaps', () => {
    const old: J = { metadata: meta('s'), immutable: true, data: { a: 'YQ==' } };
    const next: J = structuredClone(old);
    next.data.a = 'Yg==';
    assert.deepEqual(updateCauses('Secret', next, old), [{ reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set', field: 'data' }]);
    const cmOld: J = { metadata: meta('c'), immutable: true, data: { a: '1' } };
    const cmNext: J = structuredClone(cmOld);
    delete cmNext.immutable;
    assert.equal(updateCauses('ConfigMap', cmNext, cmOld)[0]!.field, 'immutable');
  });

  it('names, resourceVersion and job selectors are immutable', () => {
    assert.deepEqual(updateCauses('Namespace', { metadata: { name: 'b', resourceVersion: '1' } }, { metadata: { name: 'a', resourceVersion: '1' } }), [
      { reason: 'FieldValueInvalid', message: 'Invalid value: "b": field is immutable', field: 'metadata.name' },
    ]);
    const missingRV = updateCauses('ConfigMap', { metadata: { name: 'c', namespace: 'default' } }, { metadata: meta('c') });
    assert.deepEqual(missingRV[0], { reason: 'FieldValueInvalid', message: 'Invalid value: "": must be specified for an update', field: 'metadata.resourceVersion' });
    const job: J = { metadata: meta('pi'), spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } } } };
    applyDefaults('batch', 'v1', 'Job', job as KubeObject);
    prepareForCreate('batch', 'v1', 'Job', job as KubeObject);
    const changed: J = structuredClone(job);
    changed.spec.completions = 2;
    assert.deepEqual(updateCauses('Job', changed, job), [{ reason: 'FieldValueInvalid', message: 'Invalid value: 2: field is immutable', field: 'spec.completions' }]);
  });

  it('statefulset spec is mostly immutable', () => {
    const old: J = { metadata: meta('db'), spec: { serviceName: 'db', selector: { matchLabels: { app: 'web' } }, template: tmpl() } };
    const scaled: J = structuredClone(old);
    scaled.spec.replicas = 3;
    assert.deepEqual(updateCauses('StatefulSet', scaled, old), []);
    const renamed: J = structuredClone(old);
    renamed.spec.serviceName = 'other';
    assert.match(updateCauses('StatefulSet', renamed, old)[0]!.message!, /^Forbidden: updates to statefulset spec for fields other than 'replicas'/);
  });
});

describe('cron', () => {
  const errors: [string, string | undefined][] = [
    ['*/15 0-6 * jan-mar mon,fri', undefined],
    ['@hourly', undefined],
    ['@every 1h30m', undefined],
    ['', 'empty spec string'],
    ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
    ['60 * * * *', 'end of range (60) above maximum (59): 60'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['@fortnightly', 'unrecognized descriptor: @fortnightly'],
  ];
  for (const [spec, want] of errors)
    it(`schedule ${JSON.stringify(spec)}`, () => {
      assert.equal(cronScheduleError(spec), want);
    });

  it('computes the next activation', () => {
    const s = parseCronSchedule('30 2 * * *');
    assert.equal(nextActivation(s, new Date('2024-05-01T03:00:00Z'))?.toISOString(), '2024-05-02T02:30:00.000Z');
    const every = parseCronSchedule('*/10 * * * *');
    assert.equal(nextActivation(every, new Date('2024-05-01T03:00:00Z'))?.toISOString(), '2024-05-01T03:10:00.000Z');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { StatusError } from '../../src/api/errors.js';
import {
  applyDefaults,
  defaultPullPolicy,
  findInvalidQuantity,
  podQOSClass,
  prepareForCreate,
  prepareForUpdate,
  setJobSelector,
} from '../../src/api/defaults/index.js';
import { canonicalizeQuantity, compareQuantities, parseQuantity, quantityMilliValue, QUANTITY_FORMAT_MESSAGE } from '../../src/api/quantity.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function obj(o: J): KubeObject {
  return o as KubeObject;
}

function defaulted(group: string, version: string, kind: string, o: J): J {
  applyDefaults(group, version, kind, obj(o));
  return o;
}

const container = (image: string, extra: J = {}) => ({ name: 'c', image, ...extra });

describe('quantity', () => {
  const canonical: [string | number, string][] = [
    ['0.2', '200m'],
    [0.2, '200m'],
    ['1000m', '1'],
    ['1500', '1500'],
    ['2000', '2k'],
    [1000, '1k'],
    ['1.5Gi', '1536Mi'],
    ['1024Mi', '1Gi'],
    ['100Mi', '100Mi'],
    ['0.5Gi', '512Mi'],
    ['1.5', '1500m'],
    ['0.1n', '1n'],
    ['1e3', '1e3'],
    ['1000k', '1M'],
    ['-1', '-1'],
    ['0', '0'],
    ['.5', '500m'],
  ];
  for (const [input, want] of canonical)
    it(`canonicalizes ${JSON.stringify(input)} to ${want}`, () => {
      assert.equal(canonicalizeQuantity(input), want);
    });

  it('rejects malformed quantities with the apiserver messages', () => {
    assert.throws(() => parseQuantity('abc'), { message: QUANTITY_FORMAT_MESSAGE });
    assert.throws(() => parseQuantity('1kk'), { message: "unable to parse quantity's suffix" });
  });

  it('compares and scales exactly', () => {
    assert.equal(compareQuantities(parseQuantity('1Gi'), parseQuantity('1024Mi')), 0);
    assert.equal(compareQuantities(parseQuantity('500m'), parseQuantity('1')), -1);
    assert.equal(quantityMilliValue(parseQuantity('0.25')), 250n);
    assert.equal(quantityMilliValue(parseQuantity('1u')), 1n);
  });
});

describe('pod defaults', () => {
  const pullPolicies: [string, string][] = [
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['registry.local:5000/team/app', 'Always'],
    ['registry.local:5000/team/app:v2', 'IfNotPresent'],
    ['nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'IfNotPresent'],
    ['Nginx', 'IfNotPresent'],
  ];
  for (const [image, want] of pullPolicies)
    it(`imagePullPolicy for ${image} is ${want}`, () => {
      assert.equal(defaultPullPolicy(image), want);
      const pod = defaulted('', 'v1', 'Pod', { metadata: { name: 'p' }, spec: { containers: [container(image)] } });
      assert.equal(pod.spec.containers[0].imagePullPolicy, want);
    });

  it('fills the pod spec, container, probe, port, env and volume defaults', () => {
    const pod = defaulted('', 'v1', 'Pod', {
      metadata: { name: 'p' },
      spec: {
        restartPolicy: '',
        containers: [
          container('busybox:1.36', {
            ports: [{ containerPort: 80 }],
            livenessProbe: { httpGet: { port: 80 } },
            env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
            resources: { limits: { cpu: 0.5, memory: '1Gi' } },
          }),
        ],
        volumes: [{ name: 'a' }, { name: 'b', secret: { secretName: 's' } }, { name: 'c', configMap: { name: 'cm' } }, { name: 'd', hostPath: { path: '/x' } }],
      },
    });
    const s = pod.spec;
    assert.equal(s.restartPolicy, 'Always');
    assert.equal(s.dnsPolicy, 'ClusterFirst');
    assert.equal(s.schedulerName, 'default-scheduler');
    assert.equal(s.terminationGracePeriodSeconds, 30);
    assert.deepEqual(s.securityContext, {});
    assert.equal(s.enableServiceLinks, true);
    const c = s.containers[0];
    assert.equal(c.terminationMessagePath, '/dev/termination-log');
    assert.equal(c.terminationMessagePolicy, 'File');
    assert.equal(c.ports[0].protocol, 'TCP');
    assert.deepEqual(c.livenessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    assert.equal(c.env[0].valueFrom.fieldRef.apiVersion, 'v1');
    assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } });
    assert.deepEqual(s.volumes[0].emptyDir, {});
    assert.equal(s.volumes[1].secret.defaultMode, 420);
    assert.equal(s.volumes[2].configMap.defaultMode, 420);
    assert.equal(s.volumes[3].hostPath.type, '');
  });

  it('mirrors serviceAccountName into the deprecated serviceAccount field', () => {
    const pod = defaulted('', 'v1', 'Pod', { metadata: { name: 'p' }, spec: { serviceAccountName: 'robot', containers: [container('x:1')] } });
    assert.equal(pod.spec.serviceAccount, 'robot');
  });

  it('admission on create: default service account, not-ready/unreachable tolerations, priority 0, Pending status with QoS', () => {
    const pod: J = { metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { containers: [container('x:1')] } };
    applyDefaults('', 'v1', 'Pod', obj(pod));
    prepareForCreate('', 'v1', 'Pod', obj(pod));
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.equal(pod.spec.serviceAccount, 'default');
    assert.deepEqual(pod.spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    assert.equal(pod.spec.priority, 0);
    assert.equal(pod.spec.preemptionPolicy, 'PreemptLowerPriority');
    assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('keeps a user toleration that already covers the taints', () => {
    const pod: J = { metadata: { name: 'p' }, spec: { containers: [container('x:1')], tolerations: [{ operator: 'Exists' }] } };
    prepareForCreate('', 'v1', 'Pod', obj(pod));
    assert.deepEqual(pod.spec.tolerations, [{ operator: 'Exists' }]);
  });

  it('rejects a pod that sets its own priority', () => {
    const pod: J = { metadata: { name: 'p' }, spec: { priority: 5, containers: [container('x:1')] } };
    assert.throws(() => prepareForCreate('', 'v1', 'Pod', obj(pod)), (e: unknown) => e instanceof StatusError && e.code === 403);
  });

  it('mounts the service account token volume when asked to', () => {
    const pod: J = { metadata: { name: 'p' }, spec: { containers: [container('x:1')] } };
    prepareForCreate('', 'v1', 'Pod', obj(pod), { mountServiceAccountToken: true, randomSuffix: () => 'abcde' });
    assert.equal(pod.spec.volumes[0].name, 'kube-api-access-abcde');
    assert.equal(pod.spec.volumes[0].projected.defaultMode, 420);
    assert.deepEqual(pod.spec.containers[0].volumeMounts, [{ name: 'kube-api-access-abcde', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
  });

  const qos: [string, J[], string][] = [
    ['no resources', [{}], 'BestEffort'],
    ['requests only', [{ requests: { cpu: '100m' } }], 'Burstable'],
    ['equal cpu+memory', [{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }], 'Guaranteed'],
    ['limits only cpu', [{ limits: { cpu: '1' } }], 'Burstable'],
    ['unequal', [{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } }], 'Burstable'],
  ];
  for (const [name, res, want] of qos)
    it(`QoS ${name} → ${want}`, () => {
      const pod: J = { spec: { containers: res.map((r) => ({ name: 'c', image: 'x', resources: r })) } };
      applyDefaults('', 'v1', 'Pod', obj({ metadata: {}, ...pod }));
      assert.equal(podQOSClass(pod), want);
    });
});

describe('workload defaults', () => {
  const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [container('nginx:1.27')] } };

  for (const strategy of [undefined, {}, { type: '' }])
    it(`deployment strategy ${JSON.stringify(strategy)} becomes RollingUpdate 25%/25%`, () => {
      const d = defaulted('apps', 'v1', 'Deployment', { metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'x' } }, strategy, template: structuredClone(template) } });
      assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
      assert.equal(d.spec.replicas, 1);
      assert.equal(d.spec.revisionHistoryLimit, 10);
      assert.equal(d.spec.progressDeadlineSeconds, 600);
      assert.equal(d.spec.template.spec.restartPolicy, 'Always');
      assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
      assert.equal(d.spec.template.metadata.creationTimestamp, null);
      assert.equal(d.spec.template.spec.enableServiceLinks, undefined);
    });

  it('leaves a Recreate strategy alone and keeps explicit replicas: 0', () => {
    const d = defaulted('apps', 'v1', 'Deployment', { metadata: { name: 'd' }, spec: { replicas: 0, strategy: { type: 'Recreate' }, template: structuredClone(template) } });
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
    assert.equal(d.spec.replicas, 0);
  });

  it('statefulset, daemonset and replicaset defaults', () => {
    const sts = defaulted('apps', 'v1', 'StatefulSet', {
      metadata: { name: 's' },
      spec: { template: structuredClone(template), volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] },
    });
    assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
    assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
    assert.equal(sts.spec.replicas, 1);
    assert.equal(sts.spec.revisionHistoryLimit, 10);
    assert.equal(sts.spec.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
    assert.deepEqual(sts.spec.volumeClaimTemplates[0].status, { phase: 'Pending' });
    const ds = defaulted('apps', 'v1', 'DaemonSet', { metadata: { name: 'd' }, spec: { template: structuredClone(template) } });
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(ds.spec.revisionHistoryLimit, 10);
    const rs = defaulted('apps', 'v1', 'ReplicaSet', { metadata: { name: 'r' }, spec: { template: structuredClone(template) } });
    assert.equal(rs.spec.replicas, 1);
  });

  it('job defaults and the generated selector', () => {
    const job = defaulted('batch', 'v1', 'Job', { metadata: { name: 'pi', uid: 'u-1' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [container('perl')] } } } });
    assert.equal(job.spec.completions, 1);
    assert.equal(job.spec.parallelism, 1);
    assert.equal(job.spec.backoffLimit, 6);
    assert.equal(job.spec.completionMode, 'NonIndexed');
    assert.equal(job.spec.suspend, false);
    assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
    setJobSelector(obj(job));
    assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
    assert.deepEqual(job.spec.template.metadata.labels, {
      'job-name': 'pi',
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': 'u-1',
      'batch.kubernetes.io/controller-uid': 'u-1',
    });
    assert.equal(job.metadata.labels['job-name'], 'pi');
  });

  it('parallel job keeps completions unset', () => {
    const job = defaulted('batch', 'v1', 'Job', { metadata: { name: 'j' }, spec: { parallelism: 3, template: { spec: { containers: [container('x:1')] } } } });
    assert.equal(job.spec.completions, undefined);
    assert.equal(job.spec.parallelism, 3);
  });

  it('cronjob defaults', () => {
    const cj = defaulted('batch', 'v1', 'CronJob', { metadata: { name: 'c' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers: [container('x:1')] } } } } } });
    assert.equal(cj.spec.concurrencyPolicy, 'Allow');
    assert.equal(cj.spec.suspend, false);
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
    assert.equal(cj.spec.failedJobsHistoryLimit, 1);
    assert.equal(cj.spec.jobTemplate.spec.template.spec.restartPolicy, 'Always');
    assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined);
  });

  it('prepareForCreate resets status and sets generation 1', () => {
    const d: J = { metadata: { name: 'd' }, spec: { template: structuredClone(template) }, status: { replicas: 9 } };
    applyDefaults('apps', 'v1', 'Deployment', obj(d));
    prepareForCreate('apps', 'v1', 'Deployment', obj(d));
    assert.deepEqual(d.status, {});
    assert.equal(d.metadata.generation, 1);
  });

  it('prepareForUpdate keeps status and bumps generation only when the spec changes', () => {
    const old: J = { metadata: { name: 'd', generation: 3 }, spec: { replicas: 1, template: structuredClone(template) }, status: { replicas: 1 } };
    applyDefaults('apps', 'v1', 'Deployment', obj(old));
    const same: J = structuredClone(old);
    same.status = { replicas: 42 };
    prepareForUpdate('apps', 'v1', 'Deployment', obj(same), obj(old));
    assert.equal(same.metadata.generation, 3);
    assert.deepEqual(same.status, { replicas: 1 });
    const scaled: J = structuredClone(old);
    scaled.spec.replicas = 5;
    prepareForUpdate('apps', 'v1', 'Deployment', obj(scaled), obj(old));
    assert.equal(scaled.metadata.generation, 4);
  });
});

describe('cluster object defaults', () => {
  it('service defaults', () => {
    const svc = defaulted('', 'v1', 'Service', { metadata: { name: 's' }, spec: { ports: [{ port: 80 }, { port: 443, targetPort: 'https' }] } });
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.equal(svc.spec.sessionAffinity, 'None');
    assert.equal(svc.spec.internalTrafficPolicy, 'Cluster');
    assert.equal(svc.spec.externalTrafficPolicy, undefined);
    assert.deepEqual(svc.spec.ports[0], { port: 80, protocol: 'TCP', targetPort: 80 });
    assert.equal(svc.spec.ports[1].targetPort, 'https');
    const np = defaulted('', 'v1', 'Service', { metadata: { name: 's' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(np.spec.allocateLoadBalancerNodePorts, true);
  });

  it('service create sets single-stack IPv4 fields and update keeps allocations', () => {
    const svc: J = { metadata: { name: 's' }, spec: { clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] } };
    applyDefaults('', 'v1', 'Service', obj(svc));
    prepareForCreate('', 'v1', 'Service', obj(svc));
    assert.deepEqual(svc.spec.clusterIPs, ['10.96.0.10']);
    assert.equal(svc.spec.ipFamilyPolicy, 'SingleStack');
    assert.deepEqual(svc.spec.ipFamilies, ['IPv4']);
    assert.deepEqual(svc.status, { loadBalancer: {} });
    const replacement: J = { metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ name: 'http', port: 80 }] } };
    applyDefaults('', 'v1', 'Service', obj(replacement));
    prepareForUpdate('', 'v1', 'Service', obj(replacement), obj(svc));
    assert.equal(replacement.spec.clusterIP, '10.96.0.10');
    assert.deepEqual(replacement.spec.clusterIPs, ['10.96.0.10']);
    assert.equal(replacement.spec.ports[0].nodePort, 30080);
  });

  it('namespace, secret, pv, pvc, storage class, priority class, rbac, network policy, hpa', () => {
    const ns: J = { metadata: { name: 'team' } };
    applyDefaults('', 'v1', 'Namespace', obj(ns));
    prepareForCreate('', 'v1', 'Namespace', obj(ns));
    assert.equal(ns.metadata.labels['kubernetes.io/metadata.name'], 'team');
    assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
    assert.deepEqual(ns.status, { phase: 'Active' });
    assert.equal(defaulted('', 'v1', 'Secret', { metadata: { name: 's' } }).type, 'Opaque');
    const pv = defaulted('', 'v1', 'PersistentVolume', { metadata: { name: 'pv' }, spec: { capacity: { storage: '1Gi' }, hostPath: { path: '/d' } } });
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
    assert.equal(pv.spec.volumeMode, 'Filesystem');
    assert.equal(pv.status.phase, 'Pending');
    const pvc = defaulted('', 'v1', 'PersistentVolumeClaim', { metadata: { name: 'c' }, spec: {} });
    assert.equal(pvc.spec.volumeMode, 'Filesystem');
    assert.equal(pvc.status.phase, 'Pending');
    const sc = defaulted('storage.k8s.io', 'v1', 'StorageClass', { metadata: { name: 'sc' }, provisioner: 'x.io/p' });
    assert.equal(sc.reclaimPolicy, 'Delete');
    assert.equal(sc.volumeBindingMode, 'Immediate');
    assert.equal(defaulted('scheduling.k8s.io', 'v1', 'PriorityClass', { metadata: { name: 'p' }, value: 5 }).preemptionPolicy, 'PreemptLowerPriority');
    const rb = defaulted('rbac.authorization.k8s.io', 'v1', 'RoleBinding', {
      metadata: { name: 'b' },
      roleRef: { kind: 'Role', name: 'r' },
      subjects: [{ kind: 'User', name: 'u' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'n' }],
    });
    assert.equal(rb.roleRef.apiGroup, 'rbac.authorization.k8s.io');
    assert.equal(rb.subjects[0].apiGroup, 'rbac.authorization.k8s.io');
    assert.equal(rb.subjects[1].apiGroup, '');
    const np = defaulted('networking.k8s.io', 'v1', 'NetworkPolicy', { metadata: { name: 'n' }, spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } });
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
    assert.equal(np.spec.egress[0].ports[0].protocol, 'TCP');
    const hpa = defaulted('autoscaling', 'v2', 'HorizontalPodAutoscaler', { metadata: { name: 'h' }, spec: { maxReplicas: 3, behavior: {} } });
    assert.equal(hpa.spec.minReplicas, 1);
    assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 80);
    assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
    assert.equal(hpa.spec.behavior.scaleUp.policies.length, 2);
  });

  it('rounds resource lists up to milli-units and reports undecodable quantities', () => {
    const pod = defaulted('', 'v1', 'Pod', { metadata: { name: 'p' }, spec: { containers: [container('x:1', { resources: { requests: { cpu: '1500u', memory: 1000 } } })] } });
    assert.deepEqual(pod.spec.containers[0].resources.requests, { cpu: '2m', memory: '1k' });
    const bad = { metadata: { name: 'd' }, spec: { template: { spec: { containers: [container('x:1', { resources: { limits: { cpu: 'lots' } } })] } } } };
    assert.deepEqual(findInvalidQuantity('apps', 'Deployment', bad), { path: 'spec.template.spec.containers[0].resources.limits[cpu]', value: 'lots', message: QUANTITY_FORMAT_MESSAGE });
  });
});

// Pod bodies as kubectl sends them, and a pod as an API server stores it (for the raw storage baselines).

/** What `kubectl run NAME --image=nginx` POSTs (shared/kubectl-compat.md). */
export function kubectlRunPod(name: string): string {
  return JSON.stringify({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, creationTimestamp: null, labels: { run: name } },
    spec: { containers: [{ name, image: 'nginx', resources: {} }], restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' },
    status: {},
  });
}

/** The same pod after defaulting and managedFields, about the size kite stores (~1.5 KB). */
export function storedPod(name: string): string {
  const fieldsV1 = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:run': {} } },
    'f:spec': {
      'f:containers': { [`k:{"name":"${name}"}`]: { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:resources': {}, 'f:terminationMessagePath': {}, 'f:terminationMessagePolicy': {} } },
      'f:dnsPolicy': {},
      'f:enableServiceLinks': {},
      'f:restartPolicy': {},
      'f:schedulerName': {},
      'f:securityContext': {},
      'f:terminationGracePeriodSeconds': {},
    },
  };
  return JSON.stringify({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace: 'default',
      uid: '2337745d-8706-4ea5-8eed-963229ce8cf5',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { run: name },
      managedFields: [{ manager: 'kubectl-run', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1 }],
    },
    spec: {
      containers: [{ name, image: 'nginx', resources: {}, imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      serviceAccountName: 'default',
      serviceAccount: 'default',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  });
}

/** The body of a PUT that changes one label of a pod the server returned. */
export function relabelled(podJson: string, value: string): string {
  const pod = JSON.parse(podJson) as { metadata: { labels?: Record<string, string> } };
  pod.metadata.labels = { ...pod.metadata.labels, bench: value };
  return JSON.stringify(pod);
}

/** A pending pod for the scheduler benchmarks: small requests, so NodeResourcesFit and the scores have work. */
export function pendingPod(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'sched-bench' } },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
  });
}

/** A Deployment of `replicas` pods running `image`. */
export function deployment(name: string, replicas: number, image: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  });
}

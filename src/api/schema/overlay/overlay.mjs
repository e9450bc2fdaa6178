// kite's own facts about the Kubernetes types that the kubernetes-types declarations cannot carry: integer
// widths, byte strings, patch merge keys and strategies, server-side-apply list and map types, declared
// defaults, and the handful of fields added after the 1.30 declarations kite builds from. scripts/gen-schema.mjs
// merges this onto the generated definitions. Plain data in an ES module (not JSON) so the reasons can be
// written next to the facts, and so the generator can read it before tsc runs.

const core = 'io.k8s.api.core.v1.';
const apps = 'io.k8s.api.apps.v1.';
const batch = 'io.k8s.api.batch.v1.';
const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

/** Keyed list for strategic merge patch and server-side apply alike. */
const keyed = (mergeKey, mapKeys = [mergeKey], strategy = 'merge') => ({
  'x-kubernetes-patch-merge-key': mergeKey,
  'x-kubernetes-patch-strategy': strategy,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': mapKeys,
});
/** Conditions keyed by type: the same convention on almost every status. */
const conditions = { conditions: keyed('type') };
const atomic = { 'x-kubernetes-list-type': 'atomic' };
const int64 = { format: 'int64' };
const double = { type: 'number', format: 'double' };
const bytes = { format: 'byte' };

/**
 * Per-definition property overrides. The key is a property name, optionally suffixed with `[]` (its items) or
 * `{}` (its map values); the value is merged into that schema.
 */
export const fields = {
  // Go int64 fields. Everything else the declarations call `number` is an int32.
  [meta + 'ObjectMeta']: {
    generation: int64,
    deletionGracePeriodSeconds: int64,
    finalizers: { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
    ownerReferences: keyed('uid'),
    managedFields: atomic,
  },
  [meta + 'ListMeta']: { remainingItemCount: int64 },
  [meta + 'DeleteOptions']: { gracePeriodSeconds: int64, dryRun: atomic },
  [meta + 'LabelSelector']: { matchExpressions: atomic },
  [meta + 'LabelSelectorRequirement']: { values: atomic },

  [core + 'PodSpec']: {
    terminationGracePeriodSeconds: int64,
    activeDeadlineSeconds: int64,
    containers: keyed('name'),
    initContainers: keyed('name'),
    ephemeralContainers: keyed('name'),
    volumes: keyed('name', ['name'], 'merge,retainKeys'),
    imagePullSecrets: keyed('name'),
    hostAliases: keyed('ip'),
    topologySpreadConstraints: keyed('topologyKey', ['topologyKey', 'whenUnsatisfiable']),
    resourceClaims: keyed('name', ['name'], 'merge,retainKeys'),
    schedulingGates: keyed('name'),
    tolerations: atomic,
    readinessGates: atomic,
  },
  [core + 'PodSecurityContext']: { runAsUser: int64, runAsGroup: int64, fsGroup: int64, 'supplementalGroups[]': int64, supplementalGroups: atomic, sysctls: atomic },
  [core + 'SecurityContext']: { runAsUser: int64, runAsGroup: int64 },
  [core + 'Probe']: { terminationGracePeriodSeconds: int64 },
  [core + 'SleepAction']: { seconds: int64 },
  [core + 'ContainerImage']: { sizeBytes: int64 },
  [core + 'Toleration']: { tolerationSeconds: int64 },
  [core + 'ServiceAccountTokenProjection']: { expirationSeconds: int64 },
  [core + 'Container']: {
    ports: keyed('containerPort', ['containerPort', 'protocol']),
    env: keyed('name'),
    volumeMounts: keyed('mountPath'),
    volumeDevices: keyed('devicePath'),
    resizePolicy: atomic,
    envFrom: atomic,
    args: atomic,
    command: atomic,
  },
  [core + 'EphemeralContainer']: {
    ports: keyed('containerPort', ['containerPort', 'protocol']),
    env: keyed('name'),
    volumeMounts: keyed('mountPath'),
    volumeDevices: keyed('devicePath'),
    resizePolicy: atomic,
    envFrom: atomic,
    args: atomic,
    command: atomic,
  },
  // The protocol is part of the list-map key, so apply must know what an omitted protocol means.
  [core + 'ContainerPort']: { protocol: { default: 'TCP' } },
  [core + 'ServicePort']: { protocol: { default: 'TCP' } },
  [core + 'ResourceRequirements']: { claims: { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] } },
  [core + 'PodStatus']: {
    ...conditions,
    podIPs: keyed('ip'),
    // Merged by ip under SMP but owned as a whole under apply.
    hostIPs: { 'x-kubernetes-patch-merge-key': 'ip', 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'atomic' },
    initContainerStatuses: atomic,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    resourceClaimStatuses: keyed('name', ['name'], 'merge,retainKeys'),
  },
  [core + 'NodeSpec']: {
    podCIDRs: { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
    taints: atomic,
  },
  [core + 'NodeStatus']: { ...conditions, addresses: keyed('type'), images: atomic, volumesInUse: atomic, volumesAttached: atomic },
  [core + 'NamespaceStatus']: conditions,
  [core + 'NamespaceSpec']: { finalizers: atomic },
  [core + 'PersistentVolumeClaimStatus']: conditions,
  [core + 'PersistentVolumeClaimSpec']: { accessModes: atomic },
  [core + 'ReplicationControllerStatus']: { ...conditions, observedGeneration: int64 },
  [core + 'ServiceSpec']: {
    ports: keyed('port', ['port', 'protocol']),
    clusterIPs: atomic,
    externalIPs: atomic,
    ipFamilies: atomic,
    loadBalancerSourceRanges: atomic,
  },
  [core + 'ServiceStatus']: conditions,
  [core + 'ServiceAccount']: { secrets: keyed('name'), imagePullSecrets: atomic },
  [core + 'Endpoints']: { subsets: atomic },
  [core + 'EndpointSubset']: { addresses: atomic, notReadyAddresses: atomic, ports: atomic },
  // Secret and ConfigMap binary payloads are base64 in JSON, raw bytes in protobuf.
  [core + 'Secret']: { 'data{}': bytes },
  [core + 'ConfigMap']: { 'binaryData{}': bytes },

  [apps + 'DeploymentSpec']: { strategy: { 'x-kubernetes-patch-strategy': 'retainKeys' } },
  [apps + 'DeploymentStatus']: { ...conditions, observedGeneration: int64 },
  [apps + 'ReplicaSetStatus']: { ...conditions, observedGeneration: int64 },
  [apps + 'StatefulSetSpec']: { volumeClaimTemplates: atomic },
  [apps + 'StatefulSetStatus']: { ...conditions, observedGeneration: int64 },
  [apps + 'DaemonSetStatus']: { ...conditions, observedGeneration: int64 },
  [apps + 'ControllerRevision']: { revision: int64 },

  [batch + 'JobSpec']: { activeDeadlineSeconds: int64 },
  // Job conditions merge by type under SMP, but apply owns the list as a whole.
  [batch + 'JobStatus']: { conditions: { 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'atomic' } },
  [batch + 'CronJobSpec']: { startingDeadlineSeconds: int64 },
  [batch + 'CronJobStatus']: { active: atomic },

  ['io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerStatus']: { observedGeneration: int64 },
  ['io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus']: { ...conditions, observedGeneration: int64, currentMetrics: atomic },
  ['io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec']: { metrics: atomic },
  ['io.k8s.api.policy.v1.PodDisruptionBudgetSpec']: { selector: { 'x-kubernetes-patch-strategy': 'replace' } },
  ['io.k8s.api.policy.v1.PodDisruptionBudgetStatus']: { ...conditions, observedGeneration: int64 },
  ['io.k8s.api.resource.v1alpha2.NamedResourcesIntSlice']: { 'ints[]': int64 },
  ['io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration']: { webhooks: keyed('name') },
  ['io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration']: { webhooks: keyed('name') },
  ['io.k8s.api.admissionregistration.v1.MutatingWebhook']: { matchConditions: keyed('name') },
  ['io.k8s.api.admissionregistration.v1.ValidatingWebhook']: { matchConditions: keyed('name') },
  ['io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec']: { matchConditions: keyed('name'), variables: keyed('name') },
  ['io.k8s.api.storage.v1.CSINodeSpec']: { drivers: keyed('name') },
  ['io.k8s.api.authentication.v1.TokenRequestSpec']: { expirationSeconds: int64 },
  ['io.k8s.api.storage.v1.TokenRequest']: { expirationSeconds: int64 },
  ['io.k8s.api.discovery.v1.EndpointSlice']: { endpoints: atomic, ports: atomic },
  ['io.k8s.api.discovery.v1.Endpoint']: { addresses: { 'x-kubernetes-list-type': 'set' } },
  ['io.k8s.api.certificates.v1.CertificateSigningRequestSpec']: { request: bytes },
  ['io.k8s.api.certificates.v1.CertificateSigningRequestStatus']: { certificate: bytes },
  ['io.k8s.api.admissionregistration.v1.WebhookClientConfig']: { caBundle: bytes },
  ['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookClientConfig']: { caBundle: bytes },
  ['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps']: {
    maxItems: int64, maxLength: int64, maxProperties: int64, minItems: int64, minLength: int64, minProperties: int64,
    maximum: double, minimum: double, multipleOf: double,
  },
};

/** Property names that are int64 wherever they appear (generation counters are int64 throughout the API). */
export const int64Everywhere = ['observedGeneration', 'generation'];

/**
 * Whole-definition overrides, merged into the definition itself. `x-kubernetes-map-type: atomic` marks structs
 * that server-side apply owns as a unit: a selector or a reference means nothing half-merged.
 */
const atomicStruct = { 'x-kubernetes-map-type': 'atomic' };
export const definitions = {
  [meta + 'LabelSelector']: atomicStruct,
  [core + 'NodeSelector']: atomicStruct,
  [core + 'NodeSelectorTerm']: atomicStruct,
  [core + 'TopologySelectorTerm']: atomicStruct,
  [core + 'ObjectReference']: atomicStruct,
  [core + 'LocalObjectReference']: atomicStruct,
  [core + 'TypedLocalObjectReference']: atomicStruct,
  [core + 'SecretReference']: atomicStruct,
  [core + 'ConfigMapKeySelector']: atomicStruct,
  [core + 'SecretKeySelector']: atomicStruct,
  [core + 'ObjectFieldSelector']: atomicStruct,
  [core + 'ResourceFieldSelector']: atomicStruct,
  ['io.k8s.api.networking.v1.IngressClassParametersReference']: atomicStruct,
};

/**
 * Fields added in Kubernetes 1.31 and 1.32, after the kubernetes-types 1.30 declarations, that a 1.32 kubectl or
 * manifest may send. Property refs name definitions by their full name.
 */
const ref = (name, description) => ({ $ref: name, description });
const authz = 'io.k8s.api.authorization.v1.';
export const addDefinitions = {
  [meta + 'FieldSelectorRequirement']: {
    type: 'object',
    description: 'FieldSelectorRequirement is one requirement of a field selector: a field, an operator and values.',
    required: ['key', 'operator'],
    properties: {
      key: { type: 'string', description: 'The field the requirement applies to.' },
      operator: { type: 'string', description: 'In, NotIn, Exists or DoesNotExist.' },
      values: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic', description: 'The values for In and NotIn; empty for Exists and DoesNotExist.' },
    },
  },
  [authz + 'FieldSelectorAttributes']: {
    type: 'object',
    description: 'FieldSelectorAttributes is the field selector of a list or watch being authorized (1.31+).',
    properties: {
      rawSelector: { type: 'string', description: 'The selector exactly as sent in the request query.' },
      requirements: { type: 'array', items: { $ref: meta + 'FieldSelectorRequirement' }, 'x-kubernetes-list-type': 'atomic', description: 'The parsed selector.' },
    },
  },
  [authz + 'LabelSelectorAttributes']: {
    type: 'object',
    description: 'LabelSelectorAttributes is the label selector of a list or watch being authorized (1.31+).',
    properties: {
      rawSelector: { type: 'string', description: 'The selector exactly as sent in the request query.' },
      requirements: { type: 'array', items: { $ref: meta + 'LabelSelectorRequirement' }, 'x-kubernetes-list-type': 'atomic', description: 'The parsed selector.' },
    },
  },
  [core + 'ImageVolumeSource']: {
    type: 'object',
    description: 'ImageVolumeSource mounts the content of an OCI image or artifact as a read-only volume.',
    properties: {
      reference: { type: 'string', description: 'The image or artifact reference to pull, as for a container image.' },
      pullPolicy: { type: 'string', description: 'When to pull the reference: Always, Never or IfNotPresent.' },
    },
  },
  [core + 'NodeFeatures']: {
    type: 'object',
    description: 'NodeFeatures lists optional features the node implements.',
    properties: {
      supplementalGroupsPolicy: { type: 'boolean', description: 'Whether the node honours the pod-level supplementalGroupsPolicy field.' },
    },
  },
  [core + 'LinuxContainerUser']: {
    type: 'object',
    description: 'LinuxContainerUser is the identity the first process of a Linux container runs as.',
    required: ['uid', 'gid'],
    properties: {
      uid: { type: 'integer', format: 'int64', description: 'The primary user id.' },
      gid: { type: 'integer', format: 'int64', description: 'The primary group id.' },
      supplementalGroups: { type: 'array', items: { type: 'integer', format: 'int64' }, 'x-kubernetes-list-type': 'atomic', description: 'Supplemental group ids.' },
    },
  },
  [core + 'ContainerUser']: {
    type: 'object',
    description: 'ContainerUser describes the identity of a running container process.',
    properties: { linux: ref(core + 'LinuxContainerUser', 'The identity on Linux hosts.') },
  },
  [core + 'ResourceHealth']: {
    type: 'object',
    description: 'ResourceHealth is the health of one device allocated to a container.',
    required: ['resourceID'],
    properties: {
      resourceID: { type: 'string', description: 'The unique identifier of the device.' },
      health: { type: 'string', description: 'Healthy, Unhealthy or Unknown.' },
    },
  },
  [core + 'ResourceStatus']: {
    type: 'object',
    description: 'ResourceStatus reports the health of the devices behind one allocated resource.',
    required: ['name'],
    properties: {
      name: { type: 'string', description: 'The resource name, as in the container resources.' },
      resources: { type: 'array', items: { $ref: core + 'ResourceHealth' }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['resourceID'], description: 'Per-device health.' },
    },
  },
};

export const addProperties = {
  // The 1.30 declarations lost these two (they are in every release's API).
  [authz + 'ResourceRule']: {
    verbs: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic', description: 'The verbs allowed on the listed resources. "*" means all.' },
    resources: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic', description: 'The resources the rule applies to. "*" means all; "*/foo" means subresource foo of every resource.' },
  },
  [authz + 'ResourceAttributes']: {
    fieldSelector: ref(authz + 'FieldSelectorAttributes', 'The field selector of the list or watch being authorized (1.31+).'),
    labelSelector: ref(authz + 'LabelSelectorAttributes', 'The label selector of the list or watch being authorized (1.31+).'),
  },
  [core + 'PodResourceClaim']: {
    resourceClaimName: { type: 'string', description: 'The name of an existing ResourceClaim in the pod namespace (1.31+).' },
    resourceClaimTemplateName: { type: 'string', description: 'The name of a ResourceClaimTemplate to create a claim for this pod from (1.31+).' },
  },
  [core + 'NodeRuntimeHandlerFeatures']: {
    userNamespaces: { type: 'boolean', description: 'Whether the runtime handler supports user namespaces (1.32+).' },
  },
  [meta + 'DeleteOptions']: {
    ignoreStoreReadErrorWithClusterBreakingPotential: { type: 'boolean', description: 'Delete an object even when it cannot be read back from storage. Unsafe (1.32+).' },
  },
  [core + 'Volume']: { image: ref(core + 'ImageVolumeSource', 'image mounts an OCI image or artifact as a read-only volume (1.31+).') },
  [core + 'PodSecurityContext']: {
    supplementalGroupsPolicy: { type: 'string', description: 'How supplemental groups of the first container process are computed: Merge or Strict (1.31+).' },
    seLinuxChangePolicy: { type: 'string', description: 'How the SELinux label is applied to pod volumes: Recursive or MountOption (1.32+).' },
  },
  [core + 'PodSpec']: {
    resources: ref(core + 'ResourceRequirements', 'Pod-level compute resources shared by all containers (1.32+).'),
  },
  [core + 'NodeStatus']: { features: ref(core + 'NodeFeatures', 'Optional features the node implements (1.31+).') },
  [core + 'ContainerStatus']: {
    user: ref(core + 'ContainerUser', 'The identity the container process runs as (1.31+).'),
    allocatedResourcesStatus: {
      type: 'array',
      items: { $ref: core + 'ResourceStatus' },
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      description: 'Health of the resources allocated to the container (1.31+).',
    },
  },
  [core + 'ResourceClaim']: { request: { type: 'string', description: 'The request within the referenced claim to use (1.31+).' } },
  ['io.k8s.api.coordination.v1.LeaseSpec']: {
    strategy: { type: 'string', description: 'The strategy for picking the leader in coordinated leader election (1.31+).' },
    preferredHolder: { type: 'string', description: 'The holder suggested by coordinated leader election (1.31+).' },
  },
};

/** Properties of the 1.30 declarations that 1.32 no longer has: a 1.32 server rejects them as unknown. */
export const removeProperties = {
  [core + 'PodResourceClaim']: ['source'],
};

/** Properties that must be present, where the declarations say optional. */
export const required = {
  [authz + 'ResourceRule']: ['verbs'],
};

/**
 * Closed value sets of string fields, as `kubectl explain` lists them ("enum: Recreate, RollingUpdate"). Only
 * documentation here: the API's own validation decides what is accepted.
 */
const pullPolicy = ['Always', 'IfNotPresent', 'Never'];
const protocols = ['SCTP', 'TCP', 'UDP'];
const taintEffects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const trafficPolicy = ['Cluster', 'Local'];
const reclaim = ['Delete', 'Recycle', 'Retain'];
const volumeModes = ['Block', 'Filesystem'];
const container = { imagePullPolicy: pullPolicy, terminationMessagePolicy: ['FallbackToLogsOnError', 'File'] };
export const enums = {
  [apps + 'DeploymentStrategy']: { type: ['Recreate', 'RollingUpdate'] },
  [apps + 'DaemonSetUpdateStrategy']: { type: ['OnDelete', 'RollingUpdate'] },
  [apps + 'StatefulSetUpdateStrategy']: { type: ['OnDelete', 'RollingUpdate'] },
  [apps + 'StatefulSetSpec']: { podManagementPolicy: ['OrderedReady', 'Parallel'] },
  [core + 'Container']: container,
  [core + 'EphemeralContainer']: container,
  [core + 'PodSpec']: {
    restartPolicy: ['Always', 'Never', 'OnFailure'],
    dnsPolicy: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'],
    preemptionPolicy: ['Never', 'PreemptLowerPriority'],
  },
  [core + 'PodStatus']: { phase: ['Failed', 'Pending', 'Running', 'Succeeded', 'Unknown'], qosClass: ['BestEffort', 'Burstable', 'Guaranteed'] },
  [core + 'ContainerPort']: { protocol: protocols },
  [core + 'ServicePort']: { protocol: protocols },
  [core + 'EndpointPort']: { protocol: protocols },
  [core + 'ServiceSpec']: {
    type: ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'],
    sessionAffinity: ['ClientIP', 'None'],
    externalTrafficPolicy: trafficPolicy,
    internalTrafficPolicy: trafficPolicy,
    ipFamilyPolicy: ['PreferDualStack', 'RequireDualStack', 'SingleStack'],
  },
  [core + 'Toleration']: { operator: ['Equal', 'Exists'], effect: taintEffects },
  [core + 'Taint']: { effect: taintEffects },
  [core + 'HTTPGetAction']: { scheme: ['HTTP', 'HTTPS'] },
  [core + 'SeccompProfile']: { type: ['Localhost', 'RuntimeDefault', 'Unconfined'] },
  [core + 'NamespaceStatus']: { phase: ['Active', 'Terminating'] },
  [core + 'PersistentVolumeClaimStatus']: { phase: ['Bound', 'Lost', 'Pending'] },
  [core + 'PersistentVolumeClaimSpec']: { volumeMode: volumeModes },
  [core + 'PersistentVolumeSpec']: { volumeMode: volumeModes, persistentVolumeReclaimPolicy: reclaim },
  [core + 'PersistentVolumeStatus']: { phase: ['Available', 'Bound', 'Failed', 'Pending', 'Released'] },
  [batch + 'JobSpec']: { completionMode: ['Indexed', 'NonIndexed'], podReplacementPolicy: ['Failed', 'TerminatingOrFailed'] },
  [batch + 'CronJobSpec']: { concurrencyPolicy: ['Allow', 'Forbid', 'Replace'] },
  ['io.k8s.api.networking.v1.HTTPIngressPath']: { pathType: ['Exact', 'ImplementationSpecific', 'Prefix'] },
  ['io.k8s.api.storage.v1.StorageClass']: { reclaimPolicy: reclaim, volumeBindingMode: ['Immediate', 'WaitForFirstConsumer'] },
};

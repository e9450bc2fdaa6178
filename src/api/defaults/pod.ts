// Pod and pod-template defaulting, plus the pod admission plugins that mutate on create (ServiceAccount,
// DefaultTolerationSeconds, Priority) and the QoS class the pod strategy records.

import { StatusError } from '../errors.js';
import { addQuantities, compareQuantities, parseQuantity, quantitySign, type Quantity } from '../quantity.js';
import { arr, defaultNum, defaultPtr, defaultStr, ensureObj, isObj, isSet, items, num, obj, str, strMap, type Obj } from '../validation/json.js';

/** Image pull policy default: Always for ":latest" or untagged images, IfNotPresent otherwise. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  return imageTag(image) === 'latest' ? 'Always' : 'IfNotPresent';
}

// The tag as a docker reference parser sees it: "latest" when neither tag nor digest is given, "" when the
// reference does not parse (upper-case repository, empty string).
function imageTag(image: string): string {
  if (!image) return '';
  const at = image.indexOf('@');
  const namePart = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : '';
  const slash = namePart.lastIndexOf('/');
  const last = namePart.slice(slash + 1);
  const colon = last.indexOf(':');
  const tag = colon >= 0 ? last.slice(colon + 1) : '';
  const repo = slash >= 0 ? namePart.slice(0, slash + 1) + (colon >= 0 ? last.slice(0, colon) : last) : colon >= 0 ? last.slice(0, colon) : last;
  const comps = repo.split('/');
  const domainLike = comps.length > 1 && (comps[0]!.includes('.') || comps[0]!.includes(':') || comps[0] === 'localhost');
  const path = domainLike ? comps.slice(1) : comps;
  const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
  if (path.length === 0 || !path.every((c) => component.test(c))) return '';
  if (domainLike && !/^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/.test(comps[0]!)) return '';
  if (tag && !/^[\w][\w.-]{0,127}$/.test(tag)) return '';
  if (digest && !/^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/.test(digest)) return '';
  if (!tag && !digest) return 'latest';
  return tag;
}

function defaultHTTPGet(h: unknown): void {
  const o = obj(h);
  if (!o) return;
  defaultStr(o, 'path', '/');
  defaultStr(o, 'scheme', 'HTTP');
}

function defaultProbe(p: unknown): void {
  const o = obj(p);
  if (!o) return;
  defaultNum(o, 'timeoutSeconds', 1);
  defaultNum(o, 'periodSeconds', 10);
  defaultNum(o, 'successThreshold', 1);
  defaultNum(o, 'failureThreshold', 3);
  defaultHTTPGet(o.httpGet);
  const grpc = obj(o.grpc);
  if (grpc) defaultPtr(grpc, 'service', '');
}

function defaultFieldRef(ref: unknown): void {
  const o = obj(ref);
  if (o) defaultStr(o, 'apiVersion', 'v1');
}

function defaultContainer(c: Obj): void {
  if (!str(c.imagePullPolicy)) c.imagePullPolicy = defaultPullPolicy(str(c.image));
  defaultStr(c, 'terminationMessagePath', '/dev/termination-log');
  defaultStr(c, 'terminationMessagePolicy', 'File');
  // Container.resources is a non-pointer struct, so the API always shows it, even empty.
  if (!isObj(c.resources)) c.resources = {};
  for (const port of items(c.ports)) defaultStr(port, 'protocol', 'TCP');
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(c[probe]);
  const lc = obj(c.lifecycle);
  if (lc) for (const h of ['postStart', 'preStop']) defaultHTTPGet(obj(lc[h])?.httpGet);
  for (const e of items(c.env)) defaultFieldRef(obj(e.valueFrom)?.fieldRef);
}

const VOLUME_SOURCE_KEYS = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

export function defaultPVCSpec(spec: unknown): void {
  const o = obj(spec);
  if (o) defaultPtr(o, 'volumeMode', 'Filesystem');
}

function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCE_KEYS.some((k) => isSet(v[k]))) v.emptyDir = {};
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = obj(v[k]);
    if (s) defaultPtr(s, 'defaultMode', 420);
  }
  const hp = obj(v.hostPath);
  if (hp) defaultPtr(hp, 'type', '');
  for (const it of items(obj(v.downwardAPI)?.items)) defaultFieldRef(it.fieldRef);
  for (const src of items(obj(v.projected)?.sources)) {
    const sat = obj(src.serviceAccountToken);
    if (sat) defaultPtr(sat, 'expirationSeconds', 3600);
    for (const it of items(obj(src.downwardAPI)?.items)) defaultFieldRef(it.fieldRef);
  }
  const iscsi = obj(v.iscsi);
  if (iscsi) defaultStr(iscsi, 'iscsiInterface', 'default');
  const rbd = obj(v.rbd);
  if (rbd) {
    defaultStr(rbd, 'pool', 'rbd');
    defaultStr(rbd, 'user', 'admin');
    defaultStr(rbd, 'keyring', '/etc/ceph/keyring');
  }
  const ad = obj(v.azureDisk);
  if (ad) {
    defaultPtr(ad, 'cachingMode', 'ReadWrite');
    defaultPtr(ad, 'fsType', 'ext4');
    defaultPtr(ad, 'readOnly', false);
    defaultPtr(ad, 'kind', 'Shared');
  }
  const sio = obj(v.scaleIO);
  if (sio) {
    defaultStr(sio, 'storageMode', 'ThinProvisioned');
    defaultStr(sio, 'fsType', 'xfs');
  }
  const eph = obj(obj(v.ephemeral)?.volumeClaimTemplate);
  if (eph) defaultPVCSpec(eph.spec);
  const img = obj(v.image);
  if (img && !str(img.pullPolicy)) img.pullPolicy = imageTag(str(img.reference)) === 'latest' ? 'Always' : 'IfNotPresent';
}

/** SetDefaults for a PodSpec wherever it appears (pods and every template). */
export function defaultPodSpec(spec: Obj): void {
  defaultStr(spec, 'dnsPolicy', 'ClusterFirst');
  defaultStr(spec, 'restartPolicy', 'Always');
  defaultPtr(spec, 'securityContext', {});
  defaultPtr(spec, 'terminationGracePeriodSeconds', 30);
  defaultStr(spec, 'schedulerName', 'default-scheduler');
  // serviceAccount is the deprecated alias of serviceAccountName; the API always echoes both.
  if (!str(spec.serviceAccountName) && str(spec.serviceAccount)) spec.serviceAccountName = spec.serviceAccount;
  if (str(spec.serviceAccountName)) spec.serviceAccount = spec.serviceAccountName;
  for (const kind of ['containers', 'initContainers', 'ephemeralContainers']) for (const c of items(spec[kind])) defaultContainer(c);
  for (const v of items(spec.volumes)) defaultVolume(v);
}

/** A PodTemplateSpec: pod spec defaults and the null creationTimestamp the API shows on embedded metadata. */
export function defaultPodTemplate(tmpl: Obj): void {
  const meta = ensureObj(tmpl, 'metadata');
  if (!('creationTimestamp' in meta)) meta.creationTimestamp = null;
  defaultPodSpec(ensureObj(tmpl, 'spec'));
}

/** Defaults that only a Pod (not a template) receives. */
export function defaultPodOnly(pod: Obj): void {
  const spec = ensureObj(pod, 'spec');
  for (const kind of ['containers', 'initContainers'])
    for (const c of items(spec[kind])) {
      const res = obj(c.resources);
      const limits = obj(res?.limits);
      if (!res || !limits) continue;
      const requests = ensureObj(res, 'requests');
      for (const [k, v] of Object.entries(limits)) if (!(k in requests)) requests[k] = v;
    }
  defaultPtr(spec, 'enableServiceLinks', true);
  if (spec.hostNetwork === true)
    for (const kind of ['containers', 'initContainers'])
      for (const c of items(spec[kind])) for (const port of items(c.ports)) if (!num(port.hostPort)) port.hostPort = port.containerPort;
}

// ---------------- QoS ----------------

function positiveQuantity(v: unknown): Quantity | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    const q = parseQuantity(v);
    return quantitySign(q) > 0 ? q : undefined;
  } catch {
    return undefined;
  }
}

/** The pod's QoS class (Guaranteed, Burstable or BestEffort) from its containers' cpu/memory resources. */
export function podQOSClass(pod: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const spec = obj(pod.spec) ?? {};
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;
  for (const c of [...items(spec.containers), ...items(spec.initContainers)]) {
    const res = obj(c.resources) ?? {};
    for (const [name, v] of Object.entries(obj(res.requests) ?? {})) {
      if (name !== 'cpu' && name !== 'memory') continue;
      const q = positiveQuantity(v);
      if (q) requests.set(name, requests.has(name) ? addQuantities(requests.get(name)!, q) : q);
    }
    const found = new Set<string>();
    for (const [name, v] of Object.entries(obj(res.limits) ?? {})) {
      if (name !== 'cpu' && name !== 'memory') continue;
      const q = positiveQuantity(v);
      if (!q) continue;
      found.add(name);
      limits.set(name, limits.has(name) ? addQuantities(limits.get(name)!, q) : q);
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed)
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      if (!lim || compareQuantities(lim, req) !== 0) {
        guaranteed = false;
        break;
      }
    }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

// ---------------- admission on create ----------------

export interface PriorityClassInfo {
  name: string;
  value: number;
  preemptionPolicy?: string;
}

export interface CreateContext {
  /** Resolves a PriorityClass by name for the Priority plugin; built-in system classes need no resolver. */
  priorityClass?(name: string): PriorityClassInfo | undefined;
  /** The PriorityClass marked globalDefault, if any. */
  defaultPriorityClass?: PriorityClassInfo;
  /** The default StorageClass's name (DefaultStorageClass plugin), if any. */
  defaultStorageClassName?: string;
  /** Add the projected kube-api-access-xxxxx token volume as the ServiceAccount plugin does (default off:
   *  only useful once the kubelet can serve projected tokens). */
  mountServiceAccountToken?: boolean;
  /** Whether the pod's ServiceAccount allows token automount (its automountServiceAccountToken). */
  serviceAccountAutomount?: boolean;
  /** Suffix generator for the token volume name (tests pin it). */
  randomSuffix?(): string;
  /** tolerationSeconds of the not-ready/unreachable tolerations added to pods that have none (default 300). */
  defaultTolerationSeconds?: number;
}

const SYSTEM_CLASSES: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };

function forbiddenPod(name: string, why: string): StatusError {
  return new StatusError(403, 'Forbidden', `pods "${name}" is forbidden: ${why}`, { name, kind: 'pods' });
}

function admitPriority(pod: Obj, ctx: CreateContext): void {
  const spec = ensureObj(pod, 'spec');
  const name = str(obj(pod.metadata)?.name);
  const className = str(spec.priorityClassName);
  let value: number;
  let policy = 'PreemptLowerPriority';
  if (!className) {
    const d = ctx.defaultPriorityClass;
    value = d ? d.value : 0;
    if (d) {
      spec.priorityClassName = d.name;
      policy = d.preemptionPolicy ?? policy;
    }
  } else if (className in SYSTEM_CLASSES) {
    value = SYSTEM_CLASSES[className]!;
  } else {
    const pc = ctx.priorityClass?.(className);
    if (!pc) throw forbiddenPod(name, `no PriorityClass with name ${className} was found`);
    value = pc.value;
    policy = pc.preemptionPolicy ?? policy;
  }
  const given = num(spec.priority);
  if (given !== undefined && given !== value)
    throw forbiddenPod(name, `the integer value of priority (${given}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`);
  spec.priority = value;
  if (isSet(spec.preemptionPolicy) && str(spec.preemptionPolicy) !== policy)
    throw forbiddenPod(name, `the string value of PreemptionPolicy (${str(spec.preemptionPolicy)}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
  spec.preemptionPolicy = policy;
}

function admitTolerations(spec: Obj, ctx: CreateContext): void {
  const tolerations = items(spec.tolerations);
  const tolerates = (key: string) =>
    tolerations.some((t) => (str(t.key) === key || str(t.key) === '') && (str(t.effect) === 'NoExecute' || str(t.effect) === ''));
  const add: Obj[] = [];
  const seconds = ctx.defaultTolerationSeconds ?? 300;
  if (!tolerates('node.kubernetes.io/not-ready')) add.push({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  if (!tolerates('node.kubernetes.io/unreachable')) add.push({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  if (add.length) spec.tolerations = [...arr(spec.tolerations), ...add];
}

const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function admitServiceAccount(pod: Obj, ctx: CreateContext): void {
  const spec = ensureObj(pod, 'spec');
  const ann = strMap(obj(pod.metadata)?.annotations) ?? {};
  if ('kubernetes.io/config.mirror' in ann) return;
  if (!str(spec.serviceAccountName)) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
  if (!ctx.mountServiceAccountToken) return;
  const automount = spec.automountServiceAccountToken ?? ctx.serviceAccountAutomount ?? true;
  if (automount === false) return;
  const containers = [...items(spec.initContainers), ...items(spec.containers)];
  if (containers.some((c) => items(c.volumeMounts).some((m) => str(m.mountPath) === TOKEN_MOUNT_PATH))) return;
  const volName = `kube-api-access-${(ctx.randomSuffix ?? randomSuffix)()}`;
  spec.volumes = [
    ...arr(spec.volumes),
    {
      name: volName,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
  ];
  for (const c of containers) c.volumeMounts = [...arr(c.volumeMounts), { name: volName, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
}

/** The admission plugins' mutations of a new pod: service account, default tolerations, priority. Throws a
 *  403 StatusError when the Priority plugin rejects the pod. */
export function admitPodCreate(pod: Obj, ctx: CreateContext = {}): void {
  admitServiceAccount(pod, ctx);
  admitTolerations(ensureObj(pod, 'spec'), ctx);
  admitPriority(pod, ctx);
}

/** The pod strategy's status on create: Pending with the computed QoS class (and the SchedulingGated
 *  condition when gates are present). */
export function initialPodStatus(pod: Obj): Obj {
  const status: Obj = { phase: 'Pending', qosClass: podQOSClass(pod) };
  if (arr(obj(pod.spec)?.schedulingGates).length > 0)
    status.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null }];
  return status;
}

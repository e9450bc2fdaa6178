import type { ConfigMap, Container, EnvVar, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityMilliValue, quantityValue } from '../api/quantity.js';
import { expand } from './expansion.js';

// A container's environment, resolved as the kubelet resolves it: service links first (lowest precedence),
// then envFrom, then env with $(VAR) references to what came before. A missing ConfigMap, Secret or key
// fails the container with the kubelet's own wording, unless the reference is optional.

/** The container cannot be configured yet (CreateContainerConfigError); the message is the kubelet's. */
export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export interface EnvSources {
  /** undefined when the object does not exist. */
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** Services of a namespace (for service links). */
  services(namespace: string): Service[];
  /** Used when a resourceFieldRef names a limit the container does not set. */
  allocatable: { cpuMilli: number; memoryBytes: number; ephemeralBytes: number };
}

export interface PodAddresses {
  podIP?: string;
  podIPs: string[];
  hostIP: string;
  hostIPs: string[];
}

export interface ResolvedEnv {
  env: Array<{ name: string; value: string }>;
  /** envFrom keys that are not valid variable names, per source ("configMap ns/name"). */
  skipped: Array<{ source: string; keys: string[] }>;
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function serviceVarName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** The docker-link style variables of one service (FOO_SERVICE_HOST, FOO_PORT_80_TCP, ...). */
export function serviceEnv(svc: Service): Array<[string, string]> {
  const ip = svc.spec?.clusterIP;
  const ports = svc.spec?.ports ?? [];
  if (!ip || ip === 'None' || ports.length === 0) return [];
  const n = serviceVarName(svc.metadata?.name ?? '');
  const out: Array<[string, string]> = [
    [`${n}_SERVICE_HOST`, ip],
    [`${n}_SERVICE_PORT`, String(ports[0]!.port)],
  ];
  for (const p of ports) if (p.name) out.push([`${n}_SERVICE_PORT_${serviceVarName(p.name)}`, String(p.port)]);
  const first = ports[0]!;
  out.push([`${n}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`]);
  for (const p of ports) {
    const proto = p.protocol ?? 'TCP';
    const prefix = `${n}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push([prefix, `${proto.toLowerCase()}://${ip}:${p.port}`], [`${prefix}_PROTO`, proto.toLowerCase()], [`${prefix}_PORT`, String(p.port)], [`${prefix}_ADDR`, ip]);
  }
  return out;
}

function serviceLinks(pod: Pod, src: EnvSources): Map<string, string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const m = new Map<string, string>();
  // The API server's own service is always advertised, even with enableServiceLinks: false.
  const master = src.services('default').find((s) => s.metadata?.name === 'kubernetes');
  const list = pod.spec?.enableServiceLinks === false ? [] : src.services(ns).filter((s) => s.metadata?.name !== 'kubernetes' || ns !== 'default');
  for (const svc of [...list, ...(master ? [master] : [])]) for (const [k, v] of serviceEnv(svc)) m.set(k, v);
  return m;
}

function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}="${m![k]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join('\n');
}

/** The value of a downward-API fieldRef. */
export function fieldRefValue(pod: Pod, fieldPath: string, addr: PodAddresses): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return addr.hostIP;
    case 'status.hostIPs':
      return addr.hostIPs.join(',');
    case 'status.podIP':
      return addr.podIP ?? '';
    case 'status.podIPs':
      return addr.podIPs.join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** The value of a resourceFieldRef; unset limits fall back to the node's allocatable, as in the kubelet. */
export function resourceFieldValue(pod: Pod, self: Container, ref: { containerName?: string; resource: string; divisor?: string | number }, alloc: EnvSources['allocatable']): string {
  const c = ref.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === ref.containerName) : self;
  if (!c) throw new ContainerConfigError(`container "${ref.containerName}" not found`);
  const [kind, res] = ref.resource.split('.', 2) as [string, string];
  const set = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[res];
  const divisor = parseQuantity(ref.divisor ?? '1');
  if (res === 'cpu') {
    const milli = set !== undefined ? Number(quantityMilliValue(parseQuantity(set))) : kind === 'limits' ? alloc.cpuMilli : 0;
    return String(Math.ceil(milli / Number(quantityMilliValue(divisor))));
  }
  const fallback = res === 'memory' ? alloc.memoryBytes : res === 'ephemeral-storage' ? alloc.ephemeralBytes : 0;
  const bytes = set !== undefined ? Number(quantityValue(parseQuantity(set))) : kind === 'limits' ? fallback : 0;
  return String(Math.ceil(bytes / Number(quantityValue(divisor)) || 0));
}

/** The environment the pod spec asks for (without the image's own ENV, which the caller lays underneath). */
export async function resolveEnv(pod: Pod, c: Container, addr: PodAddresses, src: EnvSources): Promise<ResolvedEnv> {
  const ns = pod.metadata?.namespace ?? 'default';
  const svc = serviceLinks(pod, src);
  const vars = new Map<string, string>();
  const skipped: ResolvedEnv['skipped'] = [];
  const cms = new Map<string, ConfigMap | undefined>();
  const secrets = new Map<string, Secret | undefined>();
  const cm = async (name: string) => {
    if (!cms.has(name)) cms.set(name, await src.configMap(ns, name));
    return cms.get(name);
  };
  const sec = async (name: string) => {
    if (!secrets.has(name)) secrets.set(name, await src.secret(ns, name));
    return secrets.get(name);
  };

  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let data: Record<string, string> | undefined;
    let source = '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      source = `configMap ${ns}/${name}`;
      const obj = await cm(name);
      if (!obj) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      data = obj.data ?? {};
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      source = `secret ${ns}/${name}`;
      const obj = await sec(name);
      if (!obj) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      data = Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, decode(v)]));
    }
    const bad: string[] = [];
    for (const [k, v] of Object.entries(data ?? {})) {
      const key = prefix + k;
      if (!ENV_NAME.test(key)) bad.push(key);
      else vars.set(key, v);
    }
    if (bad.length) skipped.push({ source, keys: bad.sort() });
  }

  const lookup = (name: string) => vars.get(name) ?? svc.get(name);
  for (const e of c.env ?? []) {
    const v = await envValue(pod, c, e, addr, src, cm, sec, ns, lookup);
    if (v !== undefined) vars.set(e.name, v);
  }

  const out = new Map(svc);
  for (const [k, v] of vars) out.set(k, v);
  return { env: [...out].map(([name, value]) => ({ name, value })), skipped };
}

async function envValue(
  pod: Pod,
  c: Container,
  e: EnvVar,
  addr: PodAddresses,
  src: EnvSources,
  cm: (n: string) => Promise<ConfigMap | undefined>,
  sec: (n: string) => Promise<Secret | undefined>,
  ns: string,
  lookup: (name: string) => string | undefined,
): Promise<string | undefined> {
  if (!e.valueFrom) return expand(e.value ?? '', lookup);
  const vf = e.valueFrom;
  if (vf.fieldRef) return fieldRefValue(pod, vf.fieldRef.fieldPath, addr);
  if (vf.resourceFieldRef) return resourceFieldValue(pod, c, vf.resourceFieldRef, src.allocatable);
  if (vf.configMapKeyRef) {
    const { name = '', key, optional } = vf.configMapKeyRef;
    const obj = await cm(name);
    if (!obj) {
      if (optional) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    const v = obj.data?.[key] ?? (obj.binaryData?.[key] !== undefined ? decode(obj.binaryData[key]!) : undefined);
    if (v === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
    }
    return v;
  }
  if (vf.secretKeyRef) {
    const { name = '', key, optional } = vf.secretKeyRef;
    const obj = await sec(name);
    if (!obj) {
      if (optional) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    const raw = obj.data?.[key];
    if (raw === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
    }
    return decode(raw);
  }
  return '';
}


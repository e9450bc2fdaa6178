import type { ConfigMap, Secret, Pod, KeyToPath, ConfigMapVolumeSource, SecretVolumeSource, DownwardAPIVolumeSource, ProjectedVolumeSource } from 'kubernetes-types/core/v1.js';
import type { Payload } from './atomicwriter.js';
import { downwardFile, type Allocatable } from './downward.js';

// Payloads of the atomic-writer volumes, computed from API objects. Pure functions over what the reader
// returns, so they are tested without a cluster; the reader is where the API calls live.

export interface SourceReader {
  /** undefined when the object does not exist. */
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  allocatable(): Promise<Allocatable>;
  /** A service-account token for the pod, or undefined when the cluster cannot issue one. */
  serviceAccountToken(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string | undefined>;
  /** The cluster CA (PEM) this node trusts: stands in for a missing kube-root-ca.crt ConfigMap. */
  clusterCA(): string | undefined;
  log(m: string): void;
}

/** A source's failure that the kubelet reports as the SetUp error's cause. */
export class SourceError extends Error {}

const DEFAULT_MODE = 0o644;

type Entries = Map<string, Buffer>;

function configMapEntries(cm: ConfigMap): Entries {
  const out: Entries = new Map();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

function secretEntries(s: Secret): Entries {
  const out: Entries = new Map();
  for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
  // Only a freshly built object (never one read from the API) still carries stringData.
  for (const [k, v] of Object.entries(s.stringData ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  return out;
}

/** Keys → files: every key under its own name, or only the listed items at their paths and modes. */
function project(entries: Entries, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean, missingKey: (key: string) => string, into: Payload): void {
  if (!items?.length) {
    for (const [k, data] of entries) into.set(k, { data, mode: defaultMode });
    return;
  }
  for (const it of items) {
    const data = entries.get(it.key);
    if (!data) {
      if (optional) continue;
      throw new SourceError(missingKey(it.key));
    }
    into.set(it.path, { data, mode: it.mode ?? defaultMode });
  }
}

const missingConfigKey = (k: string) => `configmap references non-existent config key: ${k}`;
const missingSecretKey = (k: string) => `references non-existent secret key: ${k}`;

async function addConfigMap(r: SourceReader, ns: string, src: { name?: string; items?: KeyToPath[]; optional?: boolean }, defaultMode: number, into: Payload, projected: boolean): Promise<void> {
  const name = src.name ?? '';
  let cm = await r.configMap(ns, name);
  if (!cm && projected && name === 'kube-root-ca.crt') {
    // kite has no root-CA publisher yet: the CA this node already trusts is the same certificate.
    const ca = r.clusterCA();
    if (ca) {
      r.log(`configmap ${ns}/kube-root-ca.crt not found: projecting the node's cluster CA as ca.crt`);
      cm = { data: { 'ca.crt': ca } };
    }
  }
  if (!cm) {
    if (src.optional) return;
    throw new SourceError(`configmap "${name}" not found`);
  }
  project(configMapEntries(cm), src.items, defaultMode, src.optional === true, missingConfigKey, into);
}

async function addSecret(r: SourceReader, ns: string, name: string, src: { items?: KeyToPath[]; optional?: boolean }, defaultMode: number, into: Payload): Promise<void> {
  const s = await r.secret(ns, name);
  if (!s) {
    if (src.optional) return;
    throw new SourceError(`secret "${name}" not found`);
  }
  project(secretEntries(s), src.items, defaultMode, src.optional === true, missingSecretKey, into);
}

async function addDownward(r: SourceReader, pod: Pod, src: DownwardAPIVolumeSource | { items?: DownwardAPIVolumeSource['items'] }, defaultMode: number, into: Payload): Promise<void> {
  const needsNode = (src.items ?? []).some((i) => i.resourceFieldRef);
  const alloc = needsNode ? await r.allocatable() : {};
  for (const it of src.items ?? []) {
    try {
      into.set(it.path, { data: Buffer.from(downwardFile(pod, it, alloc), 'utf8'), mode: it.mode ?? defaultMode });
    } catch (e) {
      throw new SourceError(`downwardAPI file ${it.path}: ${(e as Error).message}`);
    }
  }
}

export async function configMapPayload(r: SourceReader, pod: Pod, src: ConfigMapVolumeSource): Promise<Payload> {
  const out: Payload = new Map();
  await addConfigMap(r, pod.metadata?.namespace ?? 'default', src, src.defaultMode ?? DEFAULT_MODE, out, false);
  return out;
}

export async function secretPayload(r: SourceReader, pod: Pod, src: SecretVolumeSource): Promise<Payload> {
  const out: Payload = new Map();
  await addSecret(r, pod.metadata?.namespace ?? 'default', src.secretName ?? '', src, src.defaultMode ?? DEFAULT_MODE, out);
  return out;
}

export async function downwardAPIPayload(r: SourceReader, pod: Pod, src: DownwardAPIVolumeSource): Promise<Payload> {
  const out: Payload = new Map();
  await addDownward(r, pod, src, src.defaultMode ?? DEFAULT_MODE, out);
  return out;
}

export async function projectedPayload(r: SourceReader, pod: Pod, src: ProjectedVolumeSource): Promise<Payload> {
  const out: Payload = new Map();
  const ns = pod.metadata?.namespace ?? 'default';
  const mode = src.defaultMode ?? DEFAULT_MODE;
  for (const s of src.sources ?? []) {
    if (s.configMap) await addConfigMap(r, ns, s.configMap, mode, out, true);
    else if (s.secret) await addSecret(r, ns, s.secret.name ?? '', s.secret, mode, out);
    else if (s.downwardAPI) await addDownward(r, pod, s.downwardAPI, mode, out);
    else if (s.serviceAccountToken) {
      const t = s.serviceAccountToken;
      const token = await r.serviceAccountToken(pod, t.audience, t.expirationSeconds ?? 3600);
      if (token !== undefined) out.set(t.path, { data: Buffer.from(token, 'utf8'), mode });
    } else if (s.clusterTrustBundle) {
      r.log(`pod ${ns}/${pod.metadata?.name ?? ''}: projected clusterTrustBundle sources are not supported yet; skipped`);
    }
  }
  return out;
}

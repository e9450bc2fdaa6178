import type { ConfigMap, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resource, resourcePath, type RestClient } from '../../client/rest.js';
import type { Allocatable } from './downward.js';
import type { SourceReader } from './sources.js';

// The volume sources as the API serves them: configMaps, secrets, the node's allocatable resources and
// service-account tokens (TokenRequest), with tokens cached until 80% of their lifetime as the kubelet does.

const CONFIGMAPS = resource('', 'v1', 'configmaps');
const SECRETS = resource('', 'v1', 'secrets');
const NODES = resource('', 'v1', 'nodes');
const SERVICE_ACCOUNTS = resource('', 'v1', 'serviceaccounts');

interface CachedToken {
  token: string;
  refreshAt: number;
}

export class ApiSourceReader implements SourceReader {
  private readonly tokens = new Map<string, CachedToken>();
  /** Set once the API answered that it cannot issue tokens: asked again after a while, not on every refresh. */
  private tokensUnsupportedUntil = 0;

  constructor(
    private readonly client: RestClient,
    private readonly nodeName: string,
    readonly log: (m: string) => void,
  ) {}

  private async tryGet(info: typeof CONFIGMAPS, ns: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.client.get(info, ns, name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return undefined;
      throw e;
    }
  }

  async configMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    return (await this.tryGet(CONFIGMAPS, namespace, name)) as ConfigMap | undefined;
  }

  async secret(namespace: string, name: string): Promise<Secret | undefined> {
    return (await this.tryGet(SECRETS, namespace, name)) as Secret | undefined;
  }

  async allocatable(): Promise<Allocatable> {
    try {
      const node = await this.tryGet(NODES, undefined, this.nodeName);
      return ((node?.status as { allocatable?: Allocatable } | undefined)?.allocatable ?? {}) as Allocatable;
    } catch {
      return {};
    }
  }

  clusterCA(): string | undefined {
    return this.client.config.caPem || undefined;
  }

  async serviceAccountToken(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string | undefined> {
    const uid = pod.metadata?.uid ?? '';
    const key = `${uid}\0${audience ?? ''}\0${expirationSeconds}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    const ns = pod.metadata?.namespace ?? 'default';
    const sa = pod.spec?.serviceAccountName || 'default';
    if (Date.now() < this.tokensUnsupportedUntil) return cached?.token;
    try {
      const tr = (await this.client.request('POST', resourcePath(SERVICE_ACCOUNTS, ns, sa, 'token'), {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: audience ? [audience] : [], expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid } },
      })) as { status?: { token?: string; expirationTimestamp?: string } };
      const token = tr.status?.token;
      if (!token) throw new Error('TokenRequest answered without status.token');
      const expires = tr.status?.expirationTimestamp ? Date.parse(tr.status.expirationTimestamp) : Date.now() + expirationSeconds * 1000;
      this.tokens.set(key, { token, refreshAt: Date.now() + 0.8 * (expires - Date.now()) });
      return token;
    } catch (e) {
      // The ServiceAccount itself is missing (not made yet, or deleted): the mount fails and is retried, as
      // the kubelet's does; it says nothing about whether the API server serves TokenRequest.
      if (e instanceof StatusError && e.code === 404 && e.details?.kind === 'serviceaccounts') throw e;
      // 404/405/501: this API server has no TokenRequest. The pod still starts, without a token file.
      if (e instanceof StatusError && [404, 405, 501].includes(e.code)) {
        this.tokensUnsupportedUntil = Date.now() + 60_000;
        this.log(`serviceaccounts/${sa}/token in ${ns} is not served by the API server (${e.message}): pod ${ns}/${pod.metadata?.name ?? ''} gets its projected volume without a token`);
        return cached?.token;
      }
      throw e;
    }
  }

  /** Drops a torn-down pod's cached tokens. */
  forget(podUid: string): void {
    for (const k of this.tokens.keys()) if (k.startsWith(`${podUid}\0`)) this.tokens.delete(k);
  }
}

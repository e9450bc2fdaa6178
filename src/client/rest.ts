import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { isIP } from 'node:net';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../api/object.js';
import { StatusError, type Status } from '../api/errors.js';
import { findResource, type ResourceInfo } from '../api/resources.js';

// The API client every kite component uses: controllers, the scheduler, agents and simulated nodes all
// reach cluster state this way, never behind the API server's back.

export interface ClientConfig {
  server: string;
  caPem: string;
  token?: string;
  certPem?: string;
  keyPem?: string;
  /** Identifies the component in managedFields and logs (e.g. "kube-controller-manager"). */
  userAgent?: string;
  /**
   * Opens a connection to the API server in this process (ApiServer.connect): plain HTTP over an in-memory
   * pipe instead of TLS to `server`. `server` stays the real URL, for whatever hands it on (kubeconfigs, pods).
   */
  connect?: () => Duplex;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface ObjectList {
  metadata: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export interface WatchHandle {
  /** Resolves when the stream ends (server closed it, error, or stop()). */
  done: Promise<void>;
  stop(): void;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** Read a kubeconfig's current context (the subset kite writes and kubectl uses). */
export function configFromKubeconfig(path: string, userAgent?: string): ClientConfig {
  const kc = parseYaml(readFileSync(path, 'utf8')) as {
    'current-context'?: string;
    contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
    clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
    users?: Array<{ name: string; user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
  };
  const ctx = kc.contexts?.find((c) => c.name === kc['current-context']) ?? kc.contexts?.[0];
  const cluster = kc.clusters?.find((c) => c.name === ctx?.context.cluster)?.cluster;
  const user = kc.users?.find((u) => u.name === ctx?.context.user)?.user;
  if (!cluster) throw new Error(`kubeconfig ${path} has no cluster for its current context`);
  const b64 = (s?: string) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);
  return {
    server: cluster.server,
    caPem: b64(cluster['certificate-authority-data']) ?? '',
    token: user?.token,
    certPem: b64(user?.['client-certificate-data']),
    keyPem: b64(user?.['client-key-data']),
    userAgent,
  };
}

export function resourcePath(info: ResourceInfo, namespace?: string, name?: string, subresource?: string): string {
  let p = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  if (info.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${info.resource}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** Resolve "apps/v1 deployments" style names once, for callers that know what they want. */
export function resource(group: string, version: string, plural: string): ResourceInfo {
  const r = findResource(group, version, plural);
  if (!r) throw new Error(`unknown resource ${group}/${version}/${plural}`);
  return r;
}

function query(opts: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A response body as text. Listeners rather than an async iterator: most bodies are one chunk, and the
 *  iterator's promises per chunk were a tenth of a simulated kubelet's CPU per Lease renewal. */
function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    // After 'end' this settles nothing; before it, the connection went away mid-body.
    res.once('close', () => reject(new Error('the API server closed the response before its end')));
  });
}

/** An HTTP agent whose connections are in-process pipes (ClientConfig.connect); pooling works as over TCP. */
class InProcessAgent extends HttpAgent {
  constructor(
    private readonly open: () => Duplex,
    keepAlive: boolean,
  ) {
    super({ keepAlive, ...(keepAlive ? { maxSockets: 64 } : {}) });
  }

  override createConnection(): Duplex {
    return this.open();
  }
}

export class RestClient {
  private readonly agent: HttpAgent;
  /** Watches hold their connection for minutes: they get their own, unlimited pool, so that a process with
   *  many informers never starves its ordinary requests. */
  private readonly watchAgent: HttpAgent;
  private readonly url: URL;
  private readonly openRequest: (opts: HttpsRequestOptions, onResponse: (res: IncomingMessage) => void) => ClientRequest;
  private readonly protocol: 'http:' | 'https:';
  /** The TLS server name, worked out once rather than by the agent for every request. */
  private readonly servername: string | undefined;

  constructor(readonly config: ClientConfig) {
    this.url = new URL(config.server);
    if (config.connect) {
      this.agent = new InProcessAgent(config.connect, true);
      this.watchAgent = new InProcessAgent(config.connect, false);
      this.openRequest = httpRequest;
      this.protocol = 'http:';
      this.servername = undefined;
    } else {
      const tls = { ca: config.caPem, cert: config.certPem, key: config.keyPem };
      this.agent = new HttpsAgent({ ...tls, keepAlive: true, maxSockets: 64 });
      this.watchAgent = new HttpsAgent({ ...tls, keepAlive: false });
      this.openRequest = httpsRequest;
      this.protocol = 'https:';
      // As the agent would: no SNI for an address.
      const host = this.url.hostname.replace(/^\[(.*)\]$/, '$1');
      this.servername = isIP(host) ? '' : host;
    }
  }

  /** Requests sent and not yet finished (queued in an agent included), so close() can end them all. */
  private readonly inFlight = new Set<ClientRequest>();
  private closed = false;

  /**
   * Ends every request in flight and refuses new ones. Destroying the agents alone is not enough: an agent
   * opens a fresh connection for each request still queued on it as its sockets close, so a backlog of
   * fire-and-forget requests (events) would keep a closed client busy long after its owner stopped.
   */
  close(): void {
    this.closed = true;
    for (const req of [...this.inFlight]) req.destroy(new Error('the API client was closed'));
    this.inFlight.clear();
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  private send(method: string, path: string, body?: unknown, contentType = 'application/json', agent = this.agent): Promise<{ status: number; res: IncomingMessage }> {
    if (this.closed) return Promise.reject(new Error(`the API client was closed: ${method} ${path} not sent`));
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.openRequest(
        {
          protocol: this.protocol,
          host: this.url.hostname,
          port: this.url.port || 443,
          servername: this.servername,
          method,
          path,
          agent,
          headers: {
            // What an https client would send, so an in-process request looks the same to the server.
            Host: this.url.host,
            Accept: 'application/json',
            'User-Agent': this.config.userAgent ?? 'kite',
            ...(this.config.token ? { Authorization: `Bearer ${this.config.token}` } : {}),
            ...(payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {}),
          },
        },
        (res) => resolve({ status: res.statusCode ?? 0, res }),
      );
      req.on('error', reject);
      this.inFlight.add(req);
      req.once('close', () => this.inFlight.delete(req));
      req.end(payload);
    });
  }

  async request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const { status, res } = await this.send(method, path, body, contentType);
    const text = await readText(res);
    if (status >= 400) {
      let s: Partial<Status> = {};
      try {
        s = JSON.parse(text) as Status;
      } catch {
        s = { message: text };
      }
      throw new StatusError(status, s.reason ?? 'Unknown', s.message ?? `HTTP ${status}`, s.details);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.request('GET', resourcePath(info, namespace, name));
  }

  list(info: ResourceInfo, namespace?: string, opts: ListOptions = {}): Promise<ObjectList> {
    return this.request('GET', resourcePath(info, namespace) + query({ ...opts }));
  }

  create(info: ResourceInfo, namespace: string | undefined, obj: KubeObject, fieldManager?: string): Promise<KubeObject> {
    return this.request('POST', resourcePath(info, namespace) + query({ fieldManager: fieldManager ?? this.config.userAgent }), obj);
  }

  update(info: ResourceInfo, obj: KubeObject, subresource?: string): Promise<KubeObject> {
    return this.request('PUT', resourcePath(info, obj.metadata.namespace, obj.metadata.name, subresource) + query({ fieldManager: this.config.userAgent }), obj);
  }

  updateStatus(info: ResourceInfo, obj: KubeObject): Promise<KubeObject> {
    return this.update(info, obj, 'status');
  }

  patch(info: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: { subresource?: string; fieldManager?: string; force?: boolean } = {}): Promise<KubeObject> {
    const q = query({ fieldManager: opts.fieldManager ?? this.config.userAgent, force: opts.force });
    return this.request('PATCH', resourcePath(info, namespace, name, opts.subresource) + q, patch, PATCH_CONTENT[type]);
  }

  delete(info: ResourceInfo, namespace: string | undefined, name: string, opts: { propagationPolicy?: string; gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } } = {}): Promise<KubeObject> {
    return this.request('DELETE', resourcePath(info, namespace, name), { kind: 'DeleteOptions', apiVersion: 'v1', ...opts });
  }

  /** POST to a subresource (binding, eviction). */
  createSubresource(info: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<unknown> {
    return this.request('POST', resourcePath(info, namespace, name, subresource), body);
  }

  /** A watch stream; `onEvent` is called for every event in order. */
  watch(info: ResourceInfo, namespace: string | undefined, opts: ListOptions & { timeoutSeconds?: number; allowWatchBookmarks?: boolean }, onEvent: (ev: WatchEvent) => void): WatchHandle {
    let stopFn: () => void = () => undefined;
    let stopped = false;
    const done = (async () => {
      const path = resourcePath(info, namespace) + query({ ...opts, watch: true });
      const { status, res } = await this.send('GET', path, undefined, undefined, this.watchAgent);
      if (stopped) {
        res.destroy();
        return;
      }
      if (status >= 400) {
        const s = JSON.parse((await readText(res)) || '{}') as Partial<Status>;
        throw new StatusError(status, s.reason ?? 'Unknown', s.message ?? `HTTP ${status}`);
      }
      stopFn = () => res.destroy();
      let buf = '';
      try {
        for await (const chunk of res) {
          buf += (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim()) onEvent(JSON.parse(line) as WatchEvent);
          }
        }
      } catch (e) {
        if (!stopped) throw e;
      }
    })();
    return {
      done,
      stop() {
        stopped = true;
        stopFn();
      },
    };
  }
}

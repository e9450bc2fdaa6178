import { request } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { StatusError, badRequest, methodNotAllowed, routeNotFound } from '../../api/errors.js';
import { canonicalQuantity } from '../../api/quantity.js';
import { findResource, type ResourceInfo } from '../../api/resources.js';
import { matchesLabels, parseLabelSelector, type LabelSelector } from '../../api/selectors.js';
import type { Registries } from '../registries.js';
import { sendJson } from '../response.js';
import { nodeEndpoint, type NodeEndpoint } from './target.js';

// metrics.k8s.io/v1beta1, the resource metrics API that metrics-server serves in other clusters
// (kubectl top, the HPA): built from each Ready node agent's /stats/summary, cached briefly.

const GROUP = 'metrics.k8s.io';
const VERSION = 'v1beta1';
const PREFIX = `/apis/${GROUP}/${VERSION}/`;

/** For discovery: what this group serves. */
export const METRICS_RESOURCES: readonly ResourceInfo[] = [
  { group: GROUP, version: VERSION, kind: 'NodeMetrics', resource: 'nodes', singular: '', namespaced: false, verbs: ['get', 'list'] },
  { group: GROUP, version: VERSION, kind: 'PodMetrics', resource: 'pods', singular: '', namespaced: true, verbs: ['get', 'list'] },
];

/** Scrapes younger than this are reused: `kubectl top` and the HPA ask often, summaries change slowly. */
const CACHE_MS = 5_000;
const SCRAPE_TIMEOUT_MS = 5_000;

interface CpuStats {
  time?: string;
  usageNanoCores?: number;
}
interface MemStats {
  workingSetBytes?: number;
}
interface Summary {
  node?: { cpu?: CpuStats; memory?: MemStats };
  pods?: Array<{ podRef?: { name?: string; namespace?: string; uid?: string }; containers?: Array<{ name?: string; cpu?: CpuStats; memory?: MemStats }> }>;
}

interface Scrape {
  atMs: number;
  summary: Summary;
  /** The time between this summary's CPU sample and the previous one's: the window of the rates. */
  windowMs: number;
}

const podsInfo = findResource('', 'v1', 'pods')!;
const nodesInfo = findResource('', 'v1', 'nodes')!;

export function isMetricsPath(path: string): boolean {
  return path.startsWith(PREFIX) && path.length > PREFIX.length;
}

function cpuQuantity(nanoCores: number): string {
  return canonicalQuantity({ unscaled: BigInt(Math.max(0, Math.round(nanoCores))), scale: -9, format: 'DecimalSI' });
}

function memoryQuantity(bytes: number): string {
  return canonicalQuantity({ unscaled: BigInt(Math.max(0, Math.round(bytes))), scale: 0, format: 'BinarySI' });
}

/** A Go time.Duration string ("14.5s", "1m0s"), as metrics-server writes `window`. */
function goDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${Number(s.toFixed(3))}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Number((s - m * 60).toFixed(3))}s`;
}

function isReady(n: Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export class MetricsApi {
  private scrapes = new Map<string, Scrape>();
  private inflight = new Map<string, Promise<Scrape | undefined>>();

  constructor(
    private readonly registries: Registries,
    private readonly token: string,
    private readonly log: (m: string) => void = (m) => console.error(`kite: ${m}`),
  ) {}

  async serve(req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed();
    const p = path.slice(PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
    let selector: LabelSelector | undefined;
    const ls = url.searchParams.get('labelSelector');
    try {
      if (ls) selector = parseLabelSelector(ls);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    if (p[0] === 'nodes' && p.length <= 2) return sendJson(req, res, 200, await this.nodeMetrics(p[1], selector));
    if (p[0] === 'pods' && p.length === 1) return sendJson(req, res, 200, await this.podMetrics(undefined, undefined, selector));
    if (p[0] === 'namespaces' && p[2] === 'pods' && p.length <= 4) return sendJson(req, res, 200, await this.podMetrics(p[1], p[3], selector));
    throw routeNotFound();
  }

  private async nodeMetrics(name: string | undefined, selector: LabelSelector | undefined): Promise<unknown> {
    let nodes = (await this.registries.get(nodesInfo).list(undefined, { cached: true })).items as unknown as Node[];
    if (name !== undefined) nodes = nodes.filter((n) => n.metadata?.name === name);
    if (selector) nodes = nodes.filter((n) => matchesLabels(selector, n.metadata?.labels));
    const items = [];
    for (const n of nodes) {
      const scrape = await this.scrape(n);
      const cpu = scrape?.summary.node?.cpu;
      const mem = scrape?.summary.node?.memory;
      if (cpu?.usageNanoCores === undefined || mem?.workingSetBytes === undefined) continue;
      items.push({
        metadata: { name: n.metadata?.name, creationTimestamp: new Date().toISOString(), ...(n.metadata?.labels ? { labels: n.metadata.labels } : {}) },
        timestamp: cpu.time ?? new Date(scrape!.atMs).toISOString(),
        window: goDuration(scrape!.windowMs),
        usage: { cpu: cpuQuantity(cpu.usageNanoCores), memory: memoryQuantity(mem.workingSetBytes) },
      });
    }
    if (name !== undefined) {
      if (!items.length) throw new StatusError(404, 'NotFound', `nodemetrics.${GROUP} "${name}" not found`, { name, group: GROUP, kind: 'nodes' });
      return { kind: 'NodeMetrics', apiVersion: `${GROUP}/${VERSION}`, ...items[0] };
    }
    return { kind: 'NodeMetricsList', apiVersion: `${GROUP}/${VERSION}`, metadata: {}, items };
  }

  private async podMetrics(namespace: string | undefined, name: string | undefined, selector: LabelSelector | undefined): Promise<unknown> {
    let pods = (await this.registries.get(podsInfo).list(namespace, { cached: true })).items as unknown as Pod[];
    if (name !== undefined) pods = pods.filter((p) => p.metadata?.name === name);
    if (selector) pods = pods.filter((p) => matchesLabels(selector, p.metadata?.labels));
    const nodes = new Map<string, Node>();
    for (const n of (await this.registries.get(nodesInfo).list(undefined, { cached: true })).items as unknown as Node[]) nodes.set(n.metadata?.name ?? '', n);
    const items = [];
    for (const pod of pods) {
      const node = nodes.get(pod.spec?.nodeName ?? '');
      if (!node) continue;
      const scrape = await this.scrape(node);
      const stats = scrape?.summary.pods?.find((s) => s.podRef?.namespace === pod.metadata?.namespace && s.podRef?.name === pod.metadata?.name && (!s.podRef?.uid || !pod.metadata?.uid || s.podRef.uid === pod.metadata.uid));
      if (!stats?.containers?.length) continue;
      // As metrics-server: a pod is reported only when every container has both figures.
      const containers = stats.containers.map((c) => (c.cpu?.usageNanoCores === undefined || c.memory?.workingSetBytes === undefined ? undefined : { name: c.name, usage: { cpu: cpuQuantity(c.cpu.usageNanoCores), memory: memoryQuantity(c.memory.workingSetBytes) } }));
      if (containers.some((c) => !c)) continue;
      const time = stats.containers[0]?.cpu?.time;
      items.push({
        metadata: { name: pod.metadata?.name, namespace: pod.metadata?.namespace, creationTimestamp: new Date().toISOString(), ...(pod.metadata?.labels ? { labels: pod.metadata.labels } : {}) },
        timestamp: time ?? new Date(scrape!.atMs).toISOString(),
        window: goDuration(scrape!.windowMs),
        containers,
      });
    }
    items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    if (name !== undefined) {
      if (!items.length) throw new StatusError(404, 'NotFound', `podmetrics.${GROUP} "${name}" not found`, { name, group: GROUP, kind: 'pods' });
      return { kind: 'PodMetrics', apiVersion: `${GROUP}/${VERSION}`, ...items[0] };
    }
    return { kind: 'PodMetricsList', apiVersion: `${GROUP}/${VERSION}`, metadata: {}, items };
  }

  /** The node's latest summary: cached, shared between concurrent callers, undefined when unreachable. */
  private scrape(node: Node): Promise<Scrape | undefined> {
    const name = node.metadata?.name ?? '';
    const cached = this.scrapes.get(name);
    if (cached && Date.now() - cached.atMs < CACHE_MS) return Promise.resolve(cached);
    if (!isReady(node)) return Promise.resolve(undefined);
    let endpoint: NodeEndpoint;
    try {
      endpoint = nodeEndpoint(node);
    } catch {
      return Promise.resolve(undefined);
    }
    let p = this.inflight.get(name);
    if (!p) {
      p = fetchSummary(endpoint, this.token)
        .then((summary) => {
          const prev = this.scrapes.get(name);
          const t = Date.parse(summary.node?.cpu?.time ?? '');
          const prevT = Date.parse(prev?.summary.node?.cpu?.time ?? '');
          const windowMs = Number.isFinite(t) && Number.isFinite(prevT) && t > prevT ? t - prevT : CACHE_MS;
          const s: Scrape = { atMs: Date.now(), summary, windowMs };
          this.scrapes.set(name, s);
          return s;
        })
        .catch((e: unknown) => {
          this.log(`metrics: no stats from node ${name}: ${(e as Error).message}`);
          return undefined;
        })
        .finally(() => this.inflight.delete(name));
      this.inflight.set(name, p);
    }
    return p;
  }
}

/** GET /stats/summary from a node agent (its certificate is not verified: see proxy.ts). */
function fetchSummary(target: NodeEndpoint, token: string): Promise<Summary> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.host, port: target.port, path: '/stats/summary', method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, rejectUnauthorized: false, agent: false, timeout: SCRAPE_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            resolve(JSON.parse(text) as Summary);
          } catch (e) {
            reject(e as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${SCRAPE_TIMEOUT_MS / 1000}s`)));
    req.on('error', reject);
    req.end();
  });
}

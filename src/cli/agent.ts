import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { RestClient, type ClientConfig } from '../client/rest.js';
import { shutdown } from './shutdown.js';
import { openImageStore } from '../runtime/images/store.js';
import { createRuncRuntime } from '../runtime/runc/runtime.js';
import { createVolumeManager } from '../agent/volumes/manager.js';
import { startAgent, type Agent } from '../agent/agent.js';
import { firstIPv4 } from '../agent/machine.js';
import { startServiceProxy } from '../proxy/proxier.js';
import { startClusterDns } from '../dns/server.js';
import { publishDnsEndpoint, withdrawDnsEndpoint } from '../dns/publish.js';
import { startIngressController } from '../ingress/controller.js';

// `kite agent`: a node that joins a cluster over HTTPS and runs its pods with runc. `kite server` starts the
// same agent in its own process unless --disable-agent.

const HELP = `Usage: kite agent --server URL --token TOKEN [flags]

Joins the cluster as a node: registers it, keeps its Lease fresh, and runs the pods bound to it with runc.
Needs Linux and root (network namespaces, cgroups, overlay mounts).

  --server URL             the API server (https://host:6443)
  --token TOKEN            the cluster token (default: $KITE_TOKEN)
  --ca-file FILE           the cluster CA; default: fetched once from <server>/cacerts and pinned in the data dir
  --data-dir DIR           agent state, images, pod volumes and logs (default /var/lib/kite/agent)
  --service-cidr CIDR      the cluster's ClusterIP range, as given to the server (default 10.43.0.0/16)
`;

export const NODE_FLAGS_HELP = `  --node-name NAME         node name (default: the host name)
  --node-ip IP             the node's InternalIP (default: the first non-loopback IPv4 address)
  --pod-cidr CIDR          this node's pod network (default 10.42.0.0/24)
  --cluster-dns IP         nameserver for pods with dnsPolicy ClusterFirst (default 10.43.0.10)
  --cluster-domain D       cluster DNS domain (default cluster.local)
  --kubelet-port N         port of the logs/exec/port-forward endpoint (default 10250)
  --cni-bridge NAME        the pod bridge (default kite0)
  --cgroup-parent P        parent cgroup of all pods (default /kite)
  --registries FILE        registry mirrors and credentials (registries.yaml)
  --dns-port N             port this node's cluster DNS server listens on, at the node IP (default 53)
  --ingress-http-port N    port of the ingress controller's HTTP listener (default 80)
  --ingress-https-port N   port of the ingress controller's HTTPS listener (default 443)
  --disable LIST           node services not to run: proxy, dns, ingress (comma-separated)
`;

/** The node flags `kite agent` and `kite server` share (parseArgs option specs). */
export const NODE_FLAG_OPTIONS = {
  'node-name': { type: 'string' },
  'node-ip': { type: 'string' },
  'pod-cidr': { type: 'string', default: '10.42.0.0/24' },
  'cluster-dns': { type: 'string', default: '10.43.0.10' },
  'cluster-domain': { type: 'string', default: 'cluster.local' },
  'kubelet-port': { type: 'string', default: '10250' },
  'cni-bridge': { type: 'string', default: 'kite0' },
  'cgroup-parent': { type: 'string', default: '/kite' },
  registries: { type: 'string' },
  'dns-port': { type: 'string', default: '53' },
  'ingress-http-port': { type: 'string', default: '80' },
  'ingress-https-port': { type: 'string', default: '443' },
  disable: { type: 'string', default: '' },
} as const;

export interface NodeFlags {
  'node-name'?: string;
  'node-ip'?: string;
  'pod-cidr'?: string;
  'cluster-dns'?: string;
  'cluster-domain'?: string;
  'kubelet-port'?: string;
  'cni-bridge'?: string;
  'cgroup-parent'?: string;
  registries?: string;
  'dns-port'?: string;
  'ingress-http-port'?: string;
  'ingress-https-port'?: string;
  disable?: string;
  /** The ClusterIP range, so the service proxy keeps it on the node (the server's own flag, or `kite agent`'s). */
  'service-cidr'?: string;
}

/** Why this process cannot run a node agent, or undefined when it can. */
export function agentUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return `the node agent runs containers with runc and needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the node agent must run as root: it creates network namespaces, cgroups and overlay mounts (run it with sudo)';
  return undefined;
}

export interface NodeAgentHandle {
  stop(): Promise<void>;
}

/** Starts the node agent with the real runtime (runc), image store and volume manager. */
export async function startNodeAgent(o: { server: ClientConfig; dataDir: string; flags: NodeFlags; controlPlane: boolean; log(m: string): void; progress(m: string): void }): Promise<NodeAgentHandle> {
  const why = agentUnsupportedReason();
  if (why) throw new Error(why);
  const f = o.flags;
  const nodeName = (f['node-name'] || hostname()).toLowerCase();
  const port = Number(f['kubelet-port'] ?? '10250');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--kubelet-port must be a port number, not "${f['kubelet-port']}"`);
  const podCidr = f['pod-cidr'] ?? '10.42.0.0/24';
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(podCidr)) throw new Error(`--pod-cidr must be an IPv4 CIDR such as 10.42.0.0/24, not "${podCidr}"`);
  mkdirSync(o.dataDir, { recursive: true });
  const registries = f.registries ? resolve(f.registries) : undefined;
  if (registries && !existsSync(registries)) throw new Error(`--registries ${registries}: no such file`);

  const images = await openImageStore({ dir: join(o.dataDir, 'images'), registriesConfigPath: registries, log: o.log });
  const runtime = await createRuncRuntime({ dataDir: join(o.dataDir, 'runtime'), images, network: { bridge: f['cni-bridge'] ?? 'kite0', podCidr }, cgroupParent: f['cgroup-parent'] ?? '/kite', nodeIP: f['node-ip'], log: o.log });
  const volumeClient = new RestClient({ ...o.server, userAgent: 'kubelet' });
  const volumes = createVolumeManager({ dataDir: o.dataDir, client: volumeClient, nodeName, log: o.log });
  let agent: Agent;
  try {
    agent = await startAgent({
      server: o.server,
      nodeName,
      nodeIP: f['node-ip'],
      podCidr,
      clusterDns: (f['cluster-dns'] ?? '10.43.0.10').split(',').filter(Boolean),
      clusterDomain: f['cluster-domain'] ?? 'cluster.local',
      kubeletPort: port,
      dataDir: o.dataDir,
      runtime,
      images,
      volumes,
      controlPlane: o.controlPlane,
      killPodsOnStop: process.env.KITE_AGENT_KILL_PODS_ON_EXIT === '1',
      log: o.log,
      progress: o.progress,
    });
  } catch (e) {
    await runtime.close();
    volumeClient.close();
    throw e;
  }
  let services: NodeServices;
  try {
    services = await startNodeServices({ server: o.server, nodeName, dataDir: o.dataDir, flags: f, log: o.log });
  } catch (e) {
    await agent.stop();
    await runtime.close();
    volumeClient.close();
    throw e;
  }
  return {
    async stop() {
      // Each step runs even when an earlier one failed: the runtime must always release its mounts.
      try {
        await services.stop();
        await agent.stop();
      } finally {
        await runtime.close();
        volumeClient.close();
      }
    },
  };
}

interface NodeServices {
  stop(): Promise<void>;
}

/**
 * The node's share of service networking, beside the pods: the service proxy, the cluster DNS server and the
 * ingress controller. Each is independent: one that cannot start is reported and the others (and the pods) go on.
 */
async function startNodeServices(o: { server: ClientConfig; nodeName: string; dataDir: string; flags: NodeFlags; log(m: string): void }): Promise<NodeServices> {
  const f = o.flags;
  const disabled = new Set((f.disable ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  for (const d of disabled) if (!['proxy', 'dns', 'ingress'].includes(d)) throw new Error(`--disable: unknown node service "${d}" (choose from proxy, dns, ingress)`);
  const ports = {
    dns: portFlag(f, 'dns-port', '53'),
    http: portFlag(f, 'ingress-http-port', '80'),
    https: portFlag(f, 'ingress-https-port', '443'),
  };
  const nodeIP = f['node-ip'] || firstIPv4();
  const client = new RestClient({ ...o.server, userAgent: 'kite-node-services' });
  const stops: Array<() => Promise<void>> = [];
  const start = async (name: string, fn: () => Promise<() => Promise<void>>) => {
    if (disabled.has(name)) return;
    try {
      stops.push(await fn());
    } catch (e) {
      o.log(`${name}: could not start: ${(e as Error).message} (the node runs without it; --disable ${name} silences this)`);
    }
  };
  await start('proxy', async () => {
    const bridge = f['cni-bridge'] ?? 'kite0';
    const proxy = await startServiceProxy({ client, nodeName: o.nodeName, nodeIPs: [nodeIP], serviceCidr: f['service-cidr'] ?? '10.43.0.0/16', bridge, tableName: proxyTableName(bridge), log: o.log });
    return () => proxy.stop();
  });
  await start('dns', async () => {
    const domain = f['cluster-domain'] ?? 'cluster.local';
    const dns = await startClusterDns({ client, listen: [{ address: nodeIP, port: ports.dns }], clusterDomain: domain, log: o.log });
    const clusterIP = (f['cluster-dns'] ?? '10.43.0.10').split(',')[0]!;
    try {
      await publishDnsEndpoint(client, { clusterIP, nodeName: o.nodeName, nodeIP, port: ports.dns });
    } catch (e) {
      await dns.stop();
      throw e;
    }
    o.log(`dns: serving ${domain} on ${nodeIP}:${ports.dns}, reached by pods at ${clusterIP}`);
    return async () => {
      await withdrawDnsEndpoint(client, o.nodeName);
      await dns.stop();
    };
  });
  await start('ingress', async () => {
    const ingress = await startIngressController({ client, dataDir: join(o.dataDir, 'ingress'), nodeName: o.nodeName, nodeIPs: [nodeIP], httpPort: ports.http, httpsPort: ports.https, log: o.log });
    await ingress.ready();
    o.log(`ingress: serving HTTP on :${ports.http} and HTTPS on :${ports.https}`);
    return () => ingress.stop();
  });
  return {
    async stop() {
      for (const s of stops.reverse()) await s().catch((e: unknown) => o.log(`stopping a node service: ${(e as Error).message}`));
      client.close();
    },
  };
}

/**
 * The service proxy's nft table belongs to the node's pod network, so it is named after the pod bridge:
 * two agents on one host (a test cluster beside a real node) must not load or delete each other's table.
 * The default bridge keeps the plain name "kite".
 */
export function proxyTableName(bridge: string): string {
  return bridge === 'kite0' ? 'kite' : `kite_${bridge.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function portFlag(f: NodeFlags, name: 'dns-port' | 'ingress-http-port' | 'ingress-https-port', fallback: string): number {
  const v = f[name] ?? fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new Error(`--${name} must be a port number, not "${v}"`);
  return n;
}

/** The cluster CA: --ca-file, else the copy pinned on first contact, else fetched from <server>/cacerts. */
async function clusterCa(server: string, caFile: string | undefined, dataDir: string): Promise<string> {
  if (caFile) return readFileSync(caFile, 'utf8');
  const pinned = join(dataDir, 'server-ca.crt');
  if (existsSync(pinned)) return readFileSync(pinned, 'utf8');
  const url = new URL('/cacerts', server);
  const pem = await new Promise<string>((res, rej) => {
    // Trust on first use, as a k3s agent does without a secure token: the CA is pinned from now on.
    const req = httpsGet(url, { rejectUnauthorized: false, timeout: 10_000 }, (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString('utf8')));
      r.on('end', () => (r.statusCode === 200 ? res(body) : rej(new Error(`GET ${url} answered ${r.statusCode}; pass --ca-file with the cluster CA (<server data-dir>/server/tls/ca.crt)`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => rej(new Error(`cannot fetch the cluster CA from ${url}: ${e.message}; check --server or pass --ca-file`)));
  });
  if (!pem.includes('BEGIN CERTIFICATE')) throw new Error(`${url} did not return a PEM certificate; pass --ca-file`);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(pinned, pem, { mode: 0o644 });
  return pem;
}

export async function runAgent(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'ca-file': { type: 'string' },
      'data-dir': { type: 'string', default: '/var/lib/kite/agent' },
      'service-cidr': { type: 'string', default: '10.43.0.0/16' },
      ...NODE_FLAG_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP + NODE_FLAGS_HELP);
    return 0;
  }
  const why = agentUnsupportedReason();
  if (why) {
    console.error(`kite agent: ${why}`);
    return 1;
  }
  if (!values.server) throw new Error('--server is required (the API server URL, e.g. https://10.0.0.1:6443)');
  const token = values.token ?? process.env.KITE_TOKEN;
  if (!token) throw new Error('--token is required (the server prints where it keeps it: <data-dir>/server/tls/token)');
  const dataDir = resolve(values['data-dir']!);
  const caPem = await clusterCa(values.server, values['ca-file'], dataDir);
  const log = (m: string) => console.error(`kite agent: ${m}`);
  const handle = await startNodeAgent({ server: { server: values.server, caPem, token }, dataDir, flags: values, controlPlane: false, log, progress: (m) => console.error(m) });
  await new Promise<void>((done) => {
    const stop = (sig: string) => {
      console.error(`kite agent: ${sig} received, shutting down (pods keep running)`);
      done();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await shutdown([{ name: 'node agent', run: () => handle.stop(), timeoutMs: 15_000 }], { log });
  return 0;
}

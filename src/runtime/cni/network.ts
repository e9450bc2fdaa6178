import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PortMapping } from '../interface.js';
import { invokePlugin, type CniResult } from './plugin.js';

// The pod network: the node acts as its own libcni. ADD runs `loopback` on lo (or the pod's lo stays down), then
// the network list — bridge with host-local IPAM, plus portmap when the pod has hostPorts — each plugin getting
// the previous one's result. The list and the final result are cached per sandbox, because DEL must replay the
// same list in reverse with that result as prevResult, even after an agent restart or a configuration change.

export interface PodNetworkOptions {
  /** Directory for the result cache and host-local's IP reservations. */
  dataDir: string;
  bridge: string;
  /** The node's pod subnet, "10.88.1.0/24"; the bridge (gateway) gets its first address. */
  podCidr: string;
  mtu?: number;
  pluginDir?: string;
  networkName?: string;
}

export interface PodNetworkRequest {
  sandboxId: string;
  netnsPath: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  portMappings: PortMapping[];
  /**
   * The caller brought the namespace's lo up itself (in the process that created the namespace), so the loopback
   * plugin, which does only that, need not run: one process less per pod.
   */
  loopbackUp?: boolean;
}

export interface PodAttachment {
  ip: string;
  gateway?: string;
  /** The host side of the pod's veth (from the result: iflink does not identify it). */
  hostVeth?: string;
}

interface CacheEntry {
  netnsPath: string;
  args: Record<string, string>;
  /** Absent when the loopback plugin was not run (lo brought up by the runtime). */
  loopback?: Record<string, unknown>;
  list: NetConfList;
  result?: CniResult;
  portMappings: Array<Record<string, unknown>>;
}

interface NetConfList {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown>>;
}

const CNI_VERSION = '1.0.0';

/** The first host address of an IPv4 subnet ("10.88.1.0/24" → "10.88.1.1"). */
export function gatewayOf(cidr: string): string {
  const [addr = '', bitsText = ''] = cidr.split('/');
  const bits = Number(bitsText);
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || !Number.isInteger(bits) || bits < 1 || bits > 30) {
    throw new Error(`pod CIDR "${cidr}" is not an IPv4 subnet like 10.88.1.0/24`);
  }
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = (0xffffffff << (32 - bits)) >>> 0;
  const gw = ((n & mask) >>> 0) + 1;
  return [gw >>> 24, (gw >>> 16) & 255, (gw >>> 8) & 255, gw & 255].join('.');
}

export class PodNetwork {
  private readonly pluginDir: string;
  private readonly name: string;

  constructor(private readonly opts: PodNetworkOptions) {
    this.pluginDir = opts.pluginDir ?? '/usr/lib/cni';
    this.name = opts.networkName ?? 'kite';
    gatewayOf(opts.podCidr); // validate early: a bad CIDR should stop the agent, not the first pod
  }

  /** The network list for a pod: portmap only when it maps host ports. */
  networkList(withPortmap: boolean): NetConfList {
    const bridge: Record<string, unknown> = {
      type: 'bridge',
      bridge: this.opts.bridge,
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        dataDir: join(this.opts.dataDir, 'ipam'),
        ranges: [[{ subnet: this.opts.podCidr, gateway: gatewayOf(this.opts.podCidr) }]],
        routes: [{ dst: '0.0.0.0/0' }],
      },
    };
    if (this.opts.mtu) bridge.mtu = this.opts.mtu;
    const plugins = [bridge];
    if (withPortmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
    return { cniVersion: CNI_VERSION, name: this.name, plugins };
  }

  async setUp(req: PodNetworkRequest): Promise<PodAttachment> {
    const hostPorts = req.portMappings.filter((p) => p.hostPort > 0);
    const entry: CacheEntry = {
      netnsPath: req.netnsPath,
      args: { K8S_POD_NAMESPACE: req.podNamespace, K8S_POD_NAME: req.podName, K8S_POD_INFRA_CONTAINER_ID: req.sandboxId, K8S_POD_UID: req.podUid },
      ...(req.loopbackUp ? {} : { loopback: { cniVersion: CNI_VERSION, name: `${this.name}-loopback`, type: 'loopback' } }),
      list: this.networkList(hostPorts.length > 0),
      portMappings: hostPorts.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol.toLowerCase(), ...(p.hostIP ? { hostIP: p.hostIP } : {}) })),
    };
    // Cache before ADD: if the agent dies half-way, DEL still knows what to undo.
    await this.writeCache(req.sandboxId, entry);
    try {
      if (entry.loopback) await invokePlugin(this.pluginDir, 'ADD', entry.loopback, { containerId: req.sandboxId, netns: req.netnsPath, ifName: 'lo', args: entry.args });
      let prev: CniResult | undefined;
      for (const plugin of entry.list.plugins) {
        prev = await invokePlugin(this.pluginDir, 'ADD', this.pluginConf(entry, plugin, prev), { containerId: req.sandboxId, netns: req.netnsPath, ifName: 'eth0', args: entry.args });
      }
      entry.result = prev;
      await this.writeCache(req.sandboxId, entry);
    } catch (e) {
      await this.tearDown(req.sandboxId).catch(() => undefined);
      throw e;
    }
    const ip = entry.result?.ips?.[0];
    if (!ip) {
      await this.tearDown(req.sandboxId).catch(() => undefined);
      throw new Error(`CNI network ${this.name} gave the pod no IP address; check the bridge and IPAM configuration`);
    }
    const hostVeth = entry.result?.interfaces?.find((i) => !i.sandbox && i.name !== this.opts.bridge)?.name;
    return { ip: ip.address.split('/')[0]!, gateway: ip.gateway, hostVeth };
  }

  /** DEL in reverse order with the cached result. Idempotent: without a cache entry there is nothing to undo. */
  async tearDown(sandboxId: string): Promise<void> {
    const entry = await this.readCache(sandboxId);
    if (!entry) return;
    const req = { containerId: sandboxId, netns: entry.netnsPath, ifName: 'eth0', args: entry.args };
    const errors: string[] = [];
    for (const plugin of [...entry.list.plugins].reverse()) {
      await invokePlugin(this.pluginDir, 'DEL', this.pluginConf(entry, plugin, entry.result), req).catch((e: Error) => errors.push(e.message));
    }
    if (entry.loopback) await invokePlugin(this.pluginDir, 'DEL', entry.loopback, { ...req, ifName: 'lo' }).catch(() => undefined);
    if (errors.length) throw new Error(`pod network teardown incomplete (will retry): ${errors.join('; ')}`);
    await rm(this.cachePath(sandboxId), { force: true });
  }

  private pluginConf(entry: CacheEntry, plugin: Record<string, unknown>, prev: CniResult | undefined): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin, cniVersion: entry.list.cniVersion, name: entry.list.name };
    delete conf.capabilities;
    const caps = plugin.capabilities as Record<string, boolean> | undefined;
    if (caps?.portMappings) conf.runtimeConfig = { portMappings: entry.portMappings };
    if (prev) conf.prevResult = prev;
    return conf;
  }

  private cachePath(sandboxId: string): string {
    return join(this.opts.dataDir, 'cache', `${sandboxId}.json`);
  }

  private async writeCache(sandboxId: string, entry: CacheEntry): Promise<void> {
    await mkdir(join(this.opts.dataDir, 'cache'), { recursive: true });
    const tmp = `${this.cachePath(sandboxId)}.tmp`;
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, this.cachePath(sandboxId));
  }

  private async readCache(sandboxId: string): Promise<CacheEntry | undefined> {
    try {
      return JSON.parse(await readFile(this.cachePath(sandboxId), 'utf8')) as CacheEntry;
    } catch {
      return undefined;
    }
  }
}

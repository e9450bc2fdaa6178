import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';

// The node settings the nft rules depend on, kept in place on every sync because the pod bridge comes and
// goes with the agent's CNI plugin:
//  - route_localnet=1 on the bridge, so 127.0.0.1:NodePort may be DNATed out of the loopback world;
//  - the bridge's nf_call_iptables=1, so pod → ClusterIP → pod on the same bridge passes the nat hooks;
//  - a route for the service CIDR through the bridge, so an address without rules stays on the node even
//    when no proxy rule is loaded (the table's filter chains reject it; the route is the second line).
// The bridge must exist and be up for the route: until then the filter chains alone keep service traffic in.

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function ensureValue(path: string, value: string, log: (m: string) => void): void {
  const cur = readTrim(path);
  if (cur === undefined || cur === value) return;
  try {
    writeFileSync(path, value);
    log(`set ${path} = ${value} (was ${cur})`);
  } catch (e) {
    log(`cannot set ${path} = ${value}: ${(e as Error).message}; NodePorts on 127.0.0.1 or pod-to-service traffic may fail`);
  }
}

function ip(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('ip', args, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }));
  });
}

/** True when the kernel's bridge netfilter hooks exist (br_netfilter): then no fallback masquerade is needed. */
export function hasBridgeNetfilter(): boolean {
  return existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');
}

export class NodeNetwork {
  private routeIfIndex: string | undefined;

  constructor(
    private readonly bridge: string,
    private readonly serviceCidr: string,
    private readonly log: (m: string) => void,
  ) {}

  private bridgeState(): { ifindex: string; up: boolean } | undefined {
    const base = `/sys/class/net/${this.bridge}`;
    const ifindex = readTrim(`${base}/ifindex`);
    const flags = readTrim(`${base}/flags`);
    if (!ifindex || !flags) return undefined;
    return { ifindex, up: (Number.parseInt(flags, 16) & 1) === 1 };
  }

  /** Cheap when nothing changed: a few sysfs reads; `ip route` only when the bridge appeared or was re-created. */
  async ensure(): Promise<void> {
    const br = this.bridgeState();
    if (!br) return;
    ensureValue(`/proc/sys/net/ipv4/conf/${this.bridge}/route_localnet`, '1', this.log);
    // Per bridge, so pod traffic keeps working even if someone turns the global bridge-nf-call-iptables off.
    ensureValue(`/sys/class/net/${this.bridge}/bridge/nf_call_iptables`, '1', this.log);
    if (!br.up || this.routeIfIndex === br.ifindex) return;
    const r = await ip(['route', 'add', this.serviceCidr, 'dev', this.bridge]);
    if (r.code === 0) {
      this.log(`added route ${this.serviceCidr} dev ${this.bridge}`);
      this.routeIfIndex = br.ifindex;
      return;
    }
    // Already there: ours from an earlier run if it names our bridge; a route elsewhere is the admin's choice.
    const show = await ip(['route', 'show', this.serviceCidr]);
    if (new RegExp(`\\bdev ${this.bridge}\\b`).test(show.out)) this.routeIfIndex = br.ifindex;
    else this.log(`cannot route ${this.serviceCidr} to ${this.bridge}: ${r.out.trim() || show.out.trim()}; remove the conflicting route`);
  }

  /** Remove the route this proxy added (sysctls stay: other users of the bridge may rely on them). */
  async cleanup(): Promise<void> {
    if (this.routeIfIndex === undefined) return;
    this.routeIfIndex = undefined;
    const r = await ip(['route', 'del', this.serviceCidr, 'dev', this.bridge]);
    if (r.code !== 0 && !/No such process|Cannot find device/.test(r.out)) this.log(`cannot remove route ${this.serviceCidr}: ${r.out.trim()}`);
  }
}

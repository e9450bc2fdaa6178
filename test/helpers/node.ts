import { request } from 'node:http';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { waitFor, type Cluster } from './cluster.js';

// Helpers for end-to-end tests against a cluster whose in-process agent runs real containers.

export async function getPod(c: Cluster, name: string, ns = 'default'): Promise<Pod> {
  return JSON.parse(await c.k('get', 'pod', name, '-n', ns, '-o', 'json')) as Pod;
}

/** Waits until `check` holds for the pod, and says what the pod looked like when it did not. */
export async function waitPod(c: Cluster, name: string, what: string, check: (p: Pod) => boolean, timeoutMs = 60_000, ns = 'default'): Promise<Pod> {
  let last: Pod | undefined;
  try {
    return await waitFor(
      `pod ${name} ${what}`,
      async () => {
        last = await getPod(c, name, ns);
        return check(last) ? last : false;
      },
      timeoutMs,
      250,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlast status: ${JSON.stringify(last?.status)}\nserver log tail:\n${c.logs().slice(-3000)}`);
  }
}

export const isRunning = (p: Pod): boolean => p.status?.phase === 'Running' && !!p.status.podIP;
export const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export { mountsUnder, cgroupsUnder, bridgePorts } from './host.js';

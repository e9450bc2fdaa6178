import { Agent, request } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { Endpoint } from './https.js';
import { KUBECTL_HEADERS } from './https.js';

// One watch on a namespace's pods that records when each pod named `${prefix}${i}` is first seen bound to a
// node (spec.nodeName set: the binding reached storage and came back through the watch). The stream is read
// as bytes, locating only the name and "nodeName", so the bench process takes little of the shared CPU.

export interface BindWatch {
  /** boundAt[i]: performance.now() when pod i was first seen with a node (NaN if not yet). */
  boundAt: Float64Array;
  bound(): number;
  errors: string[];
  /** Resolves once `count` pods (those numbered below it) are bound, or after `timeoutMs` (then false). */
  waitBound(count: number, timeoutMs: number): Promise<boolean>;
  close(): void;
}

const NL = 0x0a;
const QUOTE = 0x22;

/** The namespace's pods' current resourceVersion (a one-item list). */
export function currentResourceVersion(ep: Endpoint, namespace: string): Promise<string> {
  const path = `/api/v1/namespaces/${namespace}/pods?limit=1`;
  return new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ep.port, path, ca: ep.ca, agent: false, headers: { ...KUBECTL_HEADERS, Authorization: `Bearer ${ep.token}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`listing ${path}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
        resolve((JSON.parse(body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** By default the watch starts after the namespace's current state. `fromResourceVersion` '' starts with that
 *  state (every pod as ADDED, the bound ones counted as bound when seen): a restarted server's watch cache
 *  begins at its start, so a resourceVersion from before the restart would be too old (410). */
export async function watchBindings(ep: Endpoint, namespace: string, prefix: string, capacity: number, fromResourceVersion?: string): Promise<BindWatch> {
  const rv = fromResourceVersion ?? (await currentResourceVersion(ep, namespace));
  const agent = new Agent({ ca: ep.ca, keepAlive: false });
  const auth = { ...KUBECTL_HEADERS, Authorization: `Bearer ${ep.token}` };
  const base = `/api/v1/namespaces/${namespace}/pods`;
  const needle = Buffer.from(`"name":"${prefix}`);
  const bound = Buffer.from('"nodeName":"');
  const failed = Buffer.from('{"type":"ERROR"');
  const boundAt = new Float64Array(capacity).fill(NaN);
  const errors: string[] = [];
  let n = 0;
  let wake: (() => void) | undefined;
  let req: ClientRequest | undefined;
  await new Promise<void>((resolve, reject) => {
    req = request({ host: '127.0.0.1', port: ep.port, path: `${base}?watch=true${rv ? `&resourceVersion=${rv}` : ''}&allowWatchBookmarks=true`, agent, headers: auth }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`watch ${base}: HTTP ${res.statusCode}`));
      }
      resolve();
      let rest: Buffer | undefined;
      res.on('data', (chunk: Buffer) => {
        const now = performance.now();
        const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        for (;;) {
          const nl = buf.indexOf(NL, start);
          if (nl < 0) break;
          if (buf.compare(failed, 0, failed.length, start, Math.min(nl, start + failed.length)) === 0) {
            if (errors.length < 5) errors.push(buf.subarray(start, Math.min(nl, start + 300)).toString('utf8'));
          } else {
            const at = buf.indexOf(needle, start);
            if (at >= 0 && at < nl) {
              let i = 0;
              for (let p = at + needle.length; p < nl && buf[p] !== QUOTE; p++) i = i * 10 + (buf[p] - 48);
              if (i < capacity && Number.isNaN(boundAt[i])) {
                const b = buf.indexOf(bound, start);
                if (b >= 0 && b < nl) {
                  boundAt[i] = now;
                  n++;
                  wake?.();
                }
              }
            }
          }
          start = nl + 1;
        }
        rest = start < buf.length ? buf.subarray(start) : undefined;
      });
      res.on('end', () => errors.length < 5 && errors.push('watch stream ended'));
      res.on('error', (e) => errors.length < 5 && errors.push(e.message));
    });
    req.on('error', reject);
    req.end();
  });
  const boundBelow = (count: number) => {
    for (let i = 0; i < count; i++) if (Number.isNaN(boundAt[i])) return false;
    return true;
  };
  return {
    boundAt,
    bound: () => n,
    errors,
    async waitBound(count, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        if (n >= count && boundBelow(count)) return true;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
        wake = undefined;
      }
      return boundBelow(count);
    },
    close() {
      req?.destroy();
      agent.destroy();
    },
  };
}

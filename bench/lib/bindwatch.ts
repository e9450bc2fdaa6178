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

export async function watchBindings(ep: Endpoint, namespace: string, prefix: string, capacity: number): Promise<BindWatch> {
  const agent = new Agent({ ca: ep.ca, keepAlive: false });
  const auth = { ...KUBECTL_HEADERS, Authorization: `Bearer ${ep.token}` };
  const base = `/api/v1/namespaces/${namespace}/pods`;
  const rv = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ep.port, path: `${base}?limit=1`, agent, headers: auth }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`listing ${base}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
        resolve((JSON.parse(body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
      });
    });
    req.on('error', reject);
    req.end();
  });
  const needle = Buffer.from(`"name":"${prefix}`);
  const bound = Buffer.from('"nodeName":"');
  const failed = Buffer.from('{"type":"ERROR"');
  const boundAt = new Float64Array(capacity).fill(NaN);
  const errors: string[] = [];
  let n = 0;
  let wake: (() => void) | undefined;
  let req: ClientRequest | undefined;
  await new Promise<void>((resolve, reject) => {
    req = request({ host: '127.0.0.1', port: ep.port, path: `${base}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, agent, headers: auth }, (res) => {
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

import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

// A keep-alive HTTPS client for one loopback API server, plus the concurrent load runner.

export interface Endpoint {
  port: number;
  ca: Buffer;
  token: string;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What kubectl 1.32 sends on every request. */
export const KUBECTL_HEADERS: Record<string, string> = {
  'User-Agent': 'kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9',
  Accept: 'application/json',
};

export class HttpsClient {
  readonly agent: Agent;

  constructor(
    readonly ep: Endpoint,
    maxSockets: number,
  ) {
    this.agent = new Agent({ ca: ep.ca, keepAlive: true, maxSockets, maxFreeSockets: maxSockets, noDelay: true });
  }

  call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.ep.port,
          method,
          path,
          agent: this.agent,
          headers: {
            ...KUBECTL_HEADERS,
            Authorization: `Bearer ${this.ep.token}`,
            ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoadResult {
  ops: number;
  elapsedMs: number;
  /** Per-operation latency in ms, by operation index. */
  latencies: Float64Array;
  errors: number;
  firstErrors: string[];
}

/**
 * Runs `n` operations with `concurrency` in flight: each worker takes the next index as soon as its previous
 * operation finishes. `op` resolves to an error description, or undefined on success.
 */
export async function runLoad(n: number, concurrency: number, op: (i: number) => Promise<string | undefined>): Promise<LoadResult> {
  const latencies = new Float64Array(n).fill(NaN);
  const firstErrors: string[] = [];
  let errors = 0;
  let next = 0;
  const noteError = (msg: string) => {
    errors++;
    if (firstErrors.length < 3) firstErrors.push(msg);
  };
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      try {
        const err = await op(i);
        latencies[i] = performance.now() - t0;
        if (err !== undefined) noteError(err);
      } catch (e) {
        noteError((e as Error).message);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { ops: n, elapsedMs: performance.now() - start, latencies, errors, firstErrors };
}

/** Describes a reply whose status is not the expected one. */
export function unexpected(r: Reply, want: number): string | undefined {
  if (r.status === want) return undefined;
  return `HTTP ${r.status}: ${r.body.subarray(0, 200).toString('utf8')}`;
}

import { request, Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from './cluster.js';

// Raw HTTPS requests to a test cluster, for what kubectl cannot send (malformed bodies, huge bodies).

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export function apiClient(c: Cluster) {
  const tls = join(c.dataDir, 'server', 'tls');
  const ca = readFileSync(join(tls, 'ca.crt'));
  const token = readFileSync(join(tls, 'token'), 'utf8').trim();
  const agent = new Agent({ ca, keepAlive: true, maxSockets: 64 });
  return {
    token,
    agent,
    call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}, auth = true): Promise<ApiResponse> {
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: c.port,
            method,
            path,
            agent,
            headers: { ...(auth ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: <T,>() => JSON.parse(text) as T });
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

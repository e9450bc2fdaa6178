import { Agent, request } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { Endpoint } from './https.js';
import { KUBECTL_HEADERS } from './https.js';

// One watch on a namespace's pods that notes, on the bench's own clock, when each pod was first seen with
// condition Ready=True and when it was seen deleted. Pod objects are parsed (the pod benchmark sees a few
// hundred events, not millions).

export interface ReadyWatch {
  /** performance.now() when the pod first showed Ready=True in this watch. */
  readyAt: Map<string, number>;
  /** performance.now() when the watch delivered the pod's DELETED event. */
  deletedAt: Map<string, number>;
  errors: string[];
  /** Resolves to true once every name is Ready, false after timeoutMs. */
  waitReady(names: string[], timeoutMs: number): Promise<boolean>;
  /** Resolves to true once every name was deleted, false after timeoutMs. */
  waitDeleted(names: string[], timeoutMs: number): Promise<boolean>;
  close(): void;
}

interface WatchEvent {
  type: string;
  object?: { metadata?: { name?: string }; status?: { conditions?: Array<{ type?: string; status?: string }> } };
}

export async function watchReady(ep: Endpoint, namespace: string, resourceVersion: string): Promise<ReadyWatch> {
  const agent = new Agent({ ca: ep.ca, keepAlive: false });
  const readyAt = new Map<string, number>();
  const deletedAt = new Map<string, number>();
  const errors: string[] = [];
  let wake: (() => void) | undefined;
  let req: ClientRequest | undefined;
  let closed = false;

  const onEvent = (e: WatchEvent, now: number) => {
    const name = e.object?.metadata?.name;
    if (!name) {
      if (e.type === 'ERROR' && errors.length < 5) errors.push(`watch error: ${JSON.stringify(e.object).slice(0, 300)}`);
      return;
    }
    if (e.type === 'DELETED') deletedAt.set(name, now);
    else if (!readyAt.has(name) && e.object?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) readyAt.set(name, now);
  };

  await new Promise<void>((resolve, reject) => {
    const path = `/api/v1/namespaces/${namespace}/pods?watch=true&allowWatchBookmarks=false&resourceVersion=${resourceVersion}`;
    req = request({ host: '127.0.0.1', port: ep.port, path, method: 'GET', agent, headers: { ...KUBECTL_HEADERS, Authorization: `Bearer ${ep.token}` } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      resolve();
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = performance.now();
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) {
          if (!l.trim()) continue;
          try {
            onEvent(JSON.parse(l) as WatchEvent, now);
          } catch (err) {
            if (errors.length < 5) errors.push(`unparsable watch line: ${(err as Error).message}`);
          }
        }
        wake?.();
      });
      res.on('end', () => {
        if (!closed && errors.length < 5) errors.push('the watch ended early');
        wake?.();
      });
    });
    req.on('error', (e) => {
      if (!closed && errors.length < 5) errors.push(`watch: ${e.message}`);
      reject(e);
      wake?.();
    });
    req.end();
  });

  const waitAll = async (map: Map<string, number>, names: string[], timeoutMs: number): Promise<boolean> => {
    const deadline = performance.now() + timeoutMs;
    while (!names.every((n) => map.has(n))) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return true;
  };

  return {
    readyAt,
    deletedAt,
    errors,
    waitReady: (names, timeoutMs) => waitAll(readyAt, names, timeoutMs),
    waitDeleted: (names, timeoutMs) => waitAll(deletedAt, names, timeoutMs),
    close() {
      closed = true;
      req?.destroy();
      agent.destroy();
    },
  };
}

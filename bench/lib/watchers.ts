import { Agent, request } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { Endpoint } from './https.js';
import { KUBECTL_HEADERS } from './https.js';

// Many HTTP watch streams at once, recording when each watcher receives each object. The streams are read
// as bytes (no JSON.parse of ~1.6 KB per event per watcher), so the bench process spends as little of the
// shared CPU as it can: only the object's name is located in each line.

export interface WatchSet {
  /** arrivals[w][i]: performance.now() when watcher w got the ADDED event for object i (NaN if not yet). */
  arrivals: Float64Array[];
  received: number[];
  errors: string[];
  /** Resolves when every watcher has seen every expected object, or `timeoutMs` passed (then false). */
  done(timeoutMs: number): Promise<boolean>;
  close(): void;
}

const NL = 0x0a;
const QUOTE = 0x22;

/**
 * Opens `count` watches on `path` (which carries ?watch=true&resourceVersion=N) and resolves once every
 * stream's response headers arrived. Objects are named `${namePrefix}${i}` for i in [0, expected).
 */
export async function openWatchers(ep: Endpoint, path: string, count: number, expected: number, namePrefix: string): Promise<WatchSet> {
  const agent = new Agent({ ca: ep.ca, keepAlive: false, maxSockets: Infinity });
  const needle = Buffer.from(`"name":"${namePrefix}`);
  const added = Buffer.from('{"type":"ADDED"');
  const failed = Buffer.from('{"type":"ERROR"');
  const arrivals = Array.from({ length: count }, () => new Float64Array(expected).fill(NaN));
  const received = new Array<number>(count).fill(0);
  const errors: string[] = [];
  const requests: ClientRequest[] = [];
  let complete = 0;
  let wake: (() => void) | undefined;

  const noteError = (msg: string) => {
    if (errors.length < 5) errors.push(msg);
    wake?.();
  };

  const open = (w: number) =>
    new Promise<void>((resolve, reject) => {
      let rest: Buffer | undefined;
      const got = arrivals[w];
      const req = request(
        { host: '127.0.0.1', port: ep.port, path, method: 'GET', agent, headers: { ...KUBECTL_HEADERS, Authorization: `Bearer ${ep.token}` } },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
            res.resume();
            return;
          }
          resolve();
          res.on('data', (chunk: Buffer) => {
            const now = performance.now();
            const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
            let start = 0;
            for (;;) {
              const nl = buf.indexOf(NL, start);
              if (nl < 0) break;
              if (buf.compare(failed, 0, failed.length, start, Math.min(nl, start + failed.length)) === 0) {
                noteError(`watcher ${w}: ${buf.subarray(start, Math.min(nl, start + 300)).toString('utf8')}`);
              } else if (buf.compare(added, 0, added.length, start, Math.min(nl, start + added.length)) === 0) {
                const at = buf.indexOf(needle, start);
                if (at >= 0 && at < nl) {
                  let i = 0;
                  for (let p = at + needle.length; p < nl && buf[p] !== QUOTE; p++) i = i * 10 + (buf[p] - 48);
                  if (i < expected && Number.isNaN(got[i])) {
                    got[i] = now;
                    if (++received[w] === expected && ++complete === count) wake?.();
                  }
                }
              }
              start = nl + 1;
            }
            rest = start < buf.length ? buf.subarray(start) : undefined;
          });
          res.on('end', () => {
            if (received[w] < expected) noteError(`watcher ${w}: stream ended after ${received[w]} of ${expected} events`);
          });
          res.on('error', (e) => noteError(`watcher ${w}: ${e.message}`));
        },
      );
      req.on('error', (e) => {
        noteError(`watcher ${w}: ${e.message}`);
        reject(e);
      });
      req.end();
      requests.push(req);
    });

  await Promise.all(Array.from({ length: count }, (_, w) => open(w)));
  return {
    arrivals,
    received,
    errors,
    async done(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (complete < count && performance.now() < deadline) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 250);
        });
      }
      wake = undefined;
      return complete === count;
    },
    close() {
      for (const r of requests) r.destroy();
      agent.destroy();
    },
  };
}

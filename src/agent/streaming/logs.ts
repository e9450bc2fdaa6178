import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseLogTime, streamCriLog, type LogOptions } from './crilog.js';
import type { ContainerLocator } from './server.js';
import { statusBody } from './status.js';

// GET /containerLogs/{namespace}/{pod}/{container}: the container's CRI log as plain text, optionally
// followed until the container stops.

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be a whole number, not "${v}"`);
  return n;
}

export function logOptions(q: URLSearchParams, nowMs = Date.now()): LogOptions & { previous: boolean } {
  const bool = (n: string) => q.get(n) === 'true' || q.get(n) === '1';
  let sinceMs: number | undefined;
  const sinceSeconds = intParam(q, 'sinceSeconds');
  if (sinceSeconds !== undefined) sinceMs = nowMs - sinceSeconds * 1000;
  const sinceTime = q.get('sinceTime');
  if (sinceTime) {
    const t = parseLogTime(sinceTime);
    if (!t) throw new Error(`sinceTime must be an RFC 3339 time, not "${sinceTime}"`);
    sinceMs = t.ms;
  }
  return { follow: bool('follow'), previous: bool('previous'), timestamps: bool('timestamps'), tailLines: intParam(q, 'tailLines'), limitBytes: intParam(q, 'limitBytes'), sinceMs };
}

function reply(res: ServerResponse, code: number, message: string): void {
  const body = statusBody(code, message);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function serveContainerLogs(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, target: { namespace: string; pod: string; container: string }, locator: ContainerLocator): Promise<void> {
  let opts: ReturnType<typeof logOptions>;
  try {
    opts = logOptions(q);
  } catch (e) {
    return reply(res, 400, (e as Error).message);
  }
  const { namespace, pod, container } = target;
  const found = await locator.container(namespace, pod, container);
  if (!found || (!found.current && !found.previous)) return reply(res, 404, `container "${container}" in pod "${pod}" is not available`);
  let path: string;
  let running: () => Promise<boolean>;
  if (opts.previous) {
    if (!found.previous) return reply(res, 400, `previous terminated container "${container}" in pod "${pod}" not found`);
    path = found.previous.logPath;
    running = async () => false;
  } else {
    const current = found.current ?? { id: found.previous!.id, logPath: found.previous!.logPath, running: false };
    path = current.logPath;
    // Follow until this container instance stops (a restart is a new instance with its own log).
    running = async () => {
      const now = await locator.container(namespace, pod, container);
      return now?.current?.id === current.id && now.current.running;
    };
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache', 'Transfer-Encoding': 'chunked' });
  let closed = false;
  res.on('close', () => (closed = true));
  await streamCriLog(
    path,
    { ...opts, follow: opts.follow && !opts.previous },
    {
      closed: () => closed,
      write: (b) =>
        new Promise<void>((resolve) => {
          if (closed || res.write(b)) resolve();
          else {
            res.once('drain', resolve);
            res.once('close', resolve);
          }
        }),
    },
    running,
  );
  res.end();
  void req;
}

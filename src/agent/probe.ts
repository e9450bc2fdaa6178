import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, HTTPGetAction, Probe } from 'kubernetes-types/core/v1.js';
import type { RuntimeService } from '../runtime/interface.js';

// One probe or hook action: httpGet against the pod IP, tcpSocket, or exec in the container. The result's
// output becomes the event message, phrased the way the kubelet phrases it.

export interface ActionTarget {
  containerId: string;
  container: Container;
  /** The pod's IP (the node's with hostNetwork). */
  podIP?: string;
}

export interface ActionResult {
  ok: boolean;
  output: string;
}

/** A named container port ("http") to its number; numbers pass through. */
export function resolvePort(port: string | number, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

export async function httpGet(action: HTTPGetAction, t: ActionTarget, timeoutMs: number): Promise<ActionResult> {
  const host = action.host || t.podIP;
  const port = resolvePort(action.port, t.container);
  if (!host) return { ok: false, output: 'the pod has no IP address yet' };
  if (port === undefined) return { ok: false, output: `couldn't find port ${action.port} in the container's ports` };
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const path = action.path ? (action.path.startsWith('/') ? action.path : `/${action.path}`) : '/';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `${scheme}://${hostPart}:${port}${path}`;
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const h of action.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = (scheme === 'https' ? httpsRequest : httpRequest)(url, { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        if (body.length < 10_240) body += d.toString('utf8');
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 400) resolve({ ok: true, output: body });
        else resolve({ ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', (e) => resolve({ ok: false, output: `Get "${url}": ${e.message}` }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, output: `Get "${url}": ${dialError(e, host, port)}` }));
    req.end();
  });
}

function dialError(e: NodeJS.ErrnoException, host: string, port: number): string {
  if (e.code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`;
  if (e.code === 'EHOSTUNREACH') return `dial tcp ${host}:${port}: connect: no route to host`;
  return e.message;
}

export function tcpSocket(port: string | number, host: string | undefined, t: ActionTarget, timeoutMs: number): Promise<ActionResult> {
  const h = host || t.podIP;
  const p = resolvePort(port, t.container);
  if (!h || p === undefined) return Promise.resolve({ ok: false, output: !h ? 'the pod has no IP address yet' : `couldn't find port ${port} in the container's ports` });
  return new Promise((resolve) => {
    const sock = connect({ host: h, port: p });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, output: `dial tcp ${h}:${p}: i/o timeout` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true, output: '' });
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, output: dialError(e, h, p) });
    });
  });
}

export async function execAction(runtime: RuntimeService, command: string[], t: ActionTarget, timeoutMs: number): Promise<ActionResult> {
  try {
    const r = await runtime.execSync(t.containerId, command, timeoutMs);
    const output = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
    if (r.timedOut) return { ok: false, output: `command ${JSON.stringify(command.join(' '))} timed out` };
    if (r.exitCode !== 0) return { ok: false, output: output || `command ${JSON.stringify(command.join(' '))} exited with ${r.exitCode}` };
    return { ok: true, output };
  } catch (e) {
    return { ok: false, output: (e as Error).message };
  }
}

export async function runProbe(runtime: RuntimeService, probe: Probe, t: ActionTarget): Promise<ActionResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) return execAction(runtime, probe.exec.command ?? [], t, timeoutMs);
  if (probe.httpGet) return httpGet(probe.httpGet, t, timeoutMs);
  if (probe.tcpSocket) return tcpSocket(probe.tcpSocket.port, probe.tcpSocket.host, t, timeoutMs);
  if (probe.grpc) return tcpSocket(probe.grpc.port, undefined, t, timeoutMs);
  return { ok: true, output: '' };
}

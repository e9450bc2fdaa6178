import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { StatusError } from '../../api/errors.js';
import type { NodeEndpoint } from './target.js';

// Forwarding pod streams to the node agent, as kube-apiserver's upgrade-aware proxy does: the request goes
// on with the API server's own credentials; a 101 from the agent is relayed and the two connections are
// then spliced byte for byte; any other reply is relayed as it is (kubectl then retries over SPDY).
//
// The agent's serving certificate is not verified: that is kube-apiserver's default when it runs without
// --kubelet-certificate-authority, and kite's agents serve self-signed certificates.

const DIAL_TIMEOUT_MS = 10_000;

/** Request headers that describe the client's own connection or identity, not the request. */
const DROP = new Set(['host', 'authorization', 'content-length', 'transfer-encoding', 'keep-alive', 'proxy-connection', 'te', 'trailer']);

function forwardHeaders(h: IncomingHttpHeaders, target: NodeEndpoint, token: string, upgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !DROP.has(k) && (upgrade || (k !== 'connection' && k !== 'upgrade'))) out[k] = v;
  out['host'] = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  out['authorization'] = `Bearer ${token}`;
  return out;
}

function options(method: string, target: NodeEndpoint, path: string, headers: Record<string, string | string[]>): RequestOptions {
  return { host: target.host, port: target.port, method, path, headers, rejectUnauthorized: false, agent: false, timeout: DIAL_TIMEOUT_MS };
}

function dialError(target: NodeEndpoint, e: Error): StatusError {
  return new StatusError(503, 'ServiceUnavailable', `error dialing backend: the agent of node "${target.nodeName}" at ${target.host}:${target.port} did not answer (${e.message}): check that it is running and reachable from the API server`);
}

/** Writes a Status reply on a socket that asked for an upgrade, then closes it. */
export function writeUpgradeError(socket: Duplex, e: unknown): void {
  const se = e instanceof StatusError ? e : new StatusError(500, 'InternalError', `Internal error occurred: ${(e as Error)?.message ?? String(e)}`);
  if (se.code >= 500) console.error(`kite: upgrade: ${(e as Error)?.stack ?? String(e)}`);
  const body = JSON.stringify(se.toStatus());
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${se.code} ${se.reason}\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** A plain (streamed) GET, relayed to the client as it arrives: logs, and `logs -f` until the agent ends it. */
export function proxyGet(req: IncomingMessage, res: ServerResponse, target: NodeEndpoint, path: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const up = request(options('GET', target, path, forwardHeaders(req.headers, target, token, false)));
    up.on('timeout', () => up.destroy(new Error('timed out connecting')));
    up.on('error', (e) => (res.headersSent ? (res.destroy(), resolve()) : reject(dialError(target, e))));
    up.on('response', (ur) => {
      up.setTimeout(0);
      ur.socket.setTimeout(0);
      const headers: Record<string, string> = { 'Content-Type': String(ur.headers['content-type'] ?? 'text/plain'), 'Cache-Control': 'no-cache, private' };
      res.writeHead(ur.statusCode ?? 502, headers);
      res.flushHeaders();
      ur.pipe(res);
      ur.on('end', () => resolve());
      ur.on('error', () => {
        res.destroy();
        resolve();
      });
    });
    // The client went away (Ctrl-C on `logs -f`): stop the agent's stream too.
    res.on('close', () => {
      up.destroy();
      resolve();
    });
    up.end();
  });
}

/** An upgrade (WebSocket or SPDY) proxied to the agent; after the agent's 101 the connections are spliced. */
export function proxyUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, target: NodeEndpoint, path: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const up = request(options(req.method ?? 'GET', target, path, forwardHeaders(req.headers, target, token, true)));
    up.on('timeout', () => up.destroy(new Error('timed out connecting')));
    up.on('error', (e) => reject(dialError(target, e)));
    let upgraded = false;
    up.on('upgrade', (ur, agent, agentHead) => {
      upgraded = true;
      up.setTimeout(0);
      const lines = [`HTTP/1.1 ${ur.statusCode ?? 101} ${ur.statusMessage || 'Switching Protocols'}`];
      for (let i = 0; i + 1 < ur.rawHeaders.length; i += 2) lines.push(`${ur.rawHeaders[i]}: ${ur.rawHeaders[i + 1]}`);
      client.write(lines.join('\r\n') + '\r\n\r\n');
      if (agentHead.length) client.write(agentHead);
      if (head.length) agent.write(head);
      splice(client, agent);
      resolve();
    });
    up.on('response', (ur) => {
      // Refused by the agent: relay its reply (a Status) whole, then close.
      const chunks: Buffer[] = [];
      ur.on('data', (b: Buffer) => chunks.push(b));
      ur.on('end', () => {
        const body = Buffer.concat(chunks);
        client.end(
          Buffer.concat([
            Buffer.from(`HTTP/1.1 ${ur.statusCode ?? 502} ${ur.statusMessage ?? ''}\r\nContent-Type: ${String(ur.headers['content-type'] ?? 'text/plain')}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`),
            body,
          ]),
        );
        resolve();
      });
      ur.on('error', (e) => reject(dialError(target, e)));
    });
    client.on('close', () => {
      if (!upgraded) up.destroy();
    });
    up.end();
  });
}

/** Two connections joined: each side's bytes go to the other; an end or error on one ends the other. */
function splice(a: Duplex, b: Duplex): void {
  for (const s of [a, b] as Array<Duplex & { setNoDelay?: (v: boolean) => void; setTimeout?: (ms: number) => void }>) {
    s.setNoDelay?.(true);
    s.setTimeout?.(0);
    s.on('error', () => undefined);
  }
  a.pipe(b);
  b.pipe(a);
  const destroyBoth = () => {
    a.destroy();
    b.destroy();
  };
  a.once('close', destroyBoth);
  b.once('close', destroyBoth);
}

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { RuntimeService, StreamSession } from '../../runtime/interface.js';
import { serveContainerLogs } from './logs.js';
import { SPDY_PROTOCOLS, WS_PROTOCOLS, attachOutcome, execOutcome, serveSpdy, serveWebSocket, streamOptions, type Outcome } from './remotecommand.js';
import { PORT_FORWARD_PROTOCOL, PORT_FORWARD_TUNNEL_PROTOCOL, servePortForward } from './portforward.js';
import { SpdySession } from './spdy.js';
import { StatsProvider } from './stats.js';
import { rawHttpError, statusBody } from './status.js';

// The agent's streaming endpoint (the kubelet's :10250): container logs, exec, attach, port-forward and stats,
// reached only through the API server's pods/log|exec|attach|portforward proxies.

/** What the streaming server needs to know about a pod's containers; the agent answers from its pod workers. */
export interface ContainerLocator {
  /** The current (or last) runtime container of a pod's container, and the one before it (for --previous). */
  container(namespace: string, pod: string, container: string): Promise<{ current?: { id: string; logPath: string; running: boolean }; previous?: { id: string; logPath: string } } | undefined>;
  /** The pod's sandbox, for port-forward. */
  sandbox(namespace: string, pod: string): Promise<{ id: string } | undefined>;
  /** Every pod running on this node with its running containers, for stats. */
  pods(): Promise<Array<{ namespace: string; name: string; uid: string; containers: Array<{ name: string; id: string }> }>>;
}

export interface StreamingServerOptions {
  port: number;
  bindAddress: string;
  /** PEM key and certificate to serve with. */
  tls: { keyPem: string; certPem: string };
  /** True when the request carries the cluster's credentials (the API server's bearer token). */
  authenticate(req: IncomingMessage): boolean;
  runtime: RuntimeService;
  locator: ContainerLocator;
  log(msg: string): void;
  /** The node's name in /stats/summary (default: the host name). */
  nodeName?: string;
}

export interface StreamingServer {
  port: number;
  close(): Promise<void>;
}

type Route =
  | { kind: 'logs' | 'exec' | 'attach'; namespace: string; pod: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string }
  | { kind: 'stats' | 'healthz' };

function routeOf(pathname: string): Route | undefined {
  const p = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (p[0] === 'containerLogs' && p.length === 4) return { kind: 'logs', namespace: p[1]!, pod: p[2]!, container: p[3]! };
  if ((p[0] === 'exec' || p[0] === 'attach') && p.length === 4) return { kind: p[0], namespace: p[1]!, pod: p[2]!, container: p[3]! };
  if (p[0] === 'portForward' && p.length === 3) return { kind: 'portForward', namespace: p[1]!, pod: p[2]! };
  if (p[0] === 'stats' && p[1] === 'summary' && p.length === 2) return { kind: 'stats' };
  if (p[0] === 'healthz' && p.length === 1) return { kind: 'healthz' };
  return undefined;
}

const TUNNEL_TOKEN = 'kite-spdy-3.1-portforward';

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** All values of a header that may be repeated or comma-joined. */
function headerList(v: string | string[] | undefined): string[] {
  return (Array.isArray(v) ? v : v ? [v] : []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}

export async function startStreamingServer(opts: StreamingServerOptions): Promise<StreamingServer> {
  const { runtime, locator, log } = opts;
  const stats = new StatsProvider(runtime, locator, opts.nodeName);
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => {
      for (const p of [...WS_PROTOCOLS, TUNNEL_TOKEN]) if (offered.has(p)) return p;
      return false;
    },
  });
  // The tunnel's subprotocol name has a "/", which is not a token character, and ws refuses it: it is
  // swapped for a token on the way in and restored in the 101 reply (kubectl checks the reply's name).
  wss.on('headers', (headers) => {
    for (let i = 0; i < headers.length; i++) if (headers[i] === `Sec-WebSocket-Protocol: ${TUNNEL_TOKEN}`) headers[i] = `Sec-WebSocket-Protocol: ${PORT_FORWARD_TUNNEL_PROTOCOL}`;
  });
  const sessions = new Set<{ close(): void }>();

  const server: Server = createServer({ key: opts.tls.keyPem, cert: opts.tls.certPem }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      const code = e instanceof HttpError ? e.code : 500;
      if (code === 500) log(`streaming: ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      if (res.headersSent) return void res.destroy();
      const body = statusBody(code, (e as Error).message);
      res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.requestTimeout = 0;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(req, socket, head).catch((e: unknown) => {
      const code = e instanceof HttpError ? e.code : 500;
      if (code === 500) log(`streaming: upgrade ${req.url}: ${(e as Error).stack ?? String(e)}`);
      if (!socket.destroyed) socket.end(rawHttpError(code, (e as Error).message));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!opts.authenticate(req)) throw new HttpError(401, 'Unauthorized');
    const url = new URL(req.url ?? '/', 'https://agent');
    const route = routeOf(url.pathname);
    if (!route) throw new HttpError(404, `no streaming endpoint at ${url.pathname}`);
    switch (route.kind) {
      case 'healthz':
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      case 'stats': {
        const body = JSON.stringify(await stats.summary());
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      case 'logs':
        if (req.method !== 'GET') throw new HttpError(405, 'container logs are read with GET');
        return serveContainerLogs(req, res, url.searchParams, route, locator);
      default:
        throw new HttpError(400, `${route.kind} needs a connection upgrade: WebSocket (${[...WS_PROTOCOLS, PORT_FORWARD_TUNNEL_PROTOCOL].join(', ')}) or SPDY/3.1`);
    }
  }

  async function runningContainer(namespace: string, pod: string, container: string): Promise<string> {
    const found = await locator.container(namespace, pod, container);
    if (!found?.current) throw new HttpError(404, `container not found ("${container}")`);
    if (!found.current.running) throw new HttpError(400, `container "${container}" in pod "${pod}" is not running`);
    return found.current.id;
  }

  /** Answers the SPDY upgrade on the raw socket and returns a session over it. */
  function spdyUpgrade(socket: Duplex, head: Buffer, protocol: string): SpdySession {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    if (head.length) socket.unshift(head);
    const s = new SpdySession(socket, log);
    track(s);
    return s;
  }

  function track(s: { close(): void; once(ev: 'close', f: () => void): unknown }): void {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  }

  function wsUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> {
    return new Promise((resolve) => wss.handleUpgrade(req, socket, head, (ws) => {
      track({ close: () => ws.terminate(), once: (ev, f) => ws.once(ev, f) });
      resolve(ws);
    }));
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    if (!opts.authenticate(req)) throw new HttpError(401, 'Unauthorized');
    const url = new URL(req.url ?? '/', 'https://agent');
    const route = routeOf(url.pathname);
    if (!route || (route.kind !== 'exec' && route.kind !== 'attach' && route.kind !== 'portForward')) throw new HttpError(404, `no streaming endpoint to upgrade at ${url.pathname}`);
    const isWebSocket = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const isSpdy = String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';
    if (!isWebSocket && !isSpdy) throw new HttpError(400, `unsupported upgrade "${String(req.headers.upgrade)}": use websocket or SPDY/3.1`);
    const offered = isWebSocket ? headerList(req.headers['sec-websocket-protocol']) : headerList(req.headers['x-stream-protocol-version']);

    if (route.kind === 'portForward') {
      const sandbox = await locator.sandbox(route.namespace, route.pod);
      if (!sandbox) throw new HttpError(404, `pod "${route.pod}" has no sandbox on this node`);
      const connect = (port: number) => runtime.portForward(sandbox.id, port);
      if (isWebSocket) {
        if (!offered.includes(PORT_FORWARD_TUNNEL_PROTOCOL)) throw new HttpError(400, `port-forward over WebSocket needs the subprotocol ${PORT_FORWARD_TUNNEL_PROTOCOL}`);
        req.headers['sec-websocket-protocol'] = TUNNEL_TOKEN;
        const ws = await wsUpgrade(req, socket, head);
        // The WebSocket messages carry a SPDY session as one byte stream.
        const tunnel = createWebSocketStream(ws);
        tunnel.on('error', () => undefined);
        const s = new SpdySession(tunnel, log);
        track(s);
        log(`port-forward ${route.namespace}/${route.pod} over WebSocket (${PORT_FORWARD_TUNNEL_PROTOCOL})`);
        servePortForward(s, route.pod, connect, log);
        return;
      }
      if (!offered.includes(PORT_FORWARD_PROTOCOL)) throw new HttpError(403, `unable to negotiate a port-forward protocol: client supports [${offered.join(' ')}], server supports [${PORT_FORWARD_PROTOCOL}]`);
      log(`port-forward ${route.namespace}/${route.pod} over SPDY/3.1 (${PORT_FORWARD_PROTOCOL})`);
      servePortForward(spdyUpgrade(socket, head, PORT_FORWARD_PROTOCOL), route.pod, connect, log);
      return;
    }

    if (route.kind !== 'exec' && route.kind !== 'attach') return;
    const id = await runningContainer(route.namespace, route.pod, route.container);
    const streamOpts = streamOptions(url.searchParams);
    let start: () => Promise<StreamSession>;
    let outcome: Outcome;
    if (route.kind === 'exec') {
      const argv = url.searchParams.getAll('command');
      if (!argv.length) throw new HttpError(400, 'you must specify at least one command for the container');
      start = () => runtime.exec(id, argv, streamOpts);
      outcome = execOutcome(argv);
    } else {
      start = () => runtime.attach(id, streamOpts);
      outcome = attachOutcome;
    }
    if (isWebSocket) {
      if (!offered.some((p) => WS_PROTOCOLS.includes(p))) throw new HttpError(400, `unable to negotiate a stream protocol: client supports [${offered.join(' ')}], server supports [${WS_PROTOCOLS.join(' ')}]`);
      const ws = await wsUpgrade(req, socket, head);
      log(`${route.kind} ${route.namespace}/${route.pod}/${route.container} over WebSocket (${ws.protocol})`);
      serveWebSocket(ws, start, outcome, log);
      return;
    }
    const protocol = SPDY_PROTOCOLS.find((p) => offered.includes(p));
    if (!protocol) throw new HttpError(403, `unable to negotiate a stream protocol: client supports [${offered.join(' ')}], server supports [${SPDY_PROTOCOLS.join(' ')}]`);
    log(`${route.kind} ${route.namespace}/${route.pod}/${route.container} over SPDY/3.1 (${protocol})`);
    serveSpdy(spdyUpgrade(socket, head, protocol), streamOpts, start, outcome, log);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : opts.port,
    close: async () => {
      for (const s of sessions) s.close();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

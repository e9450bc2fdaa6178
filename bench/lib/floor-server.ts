// The "node floor" baseline, run as its own process: the least an HTTPS+JSON pod API can do in Node on
// this machine. Same TLS key type and options as kite, bearer-token check, JSON parse of every request and
// JSON.stringify of every response, objects kept in memory (no storage, validation, defaulting or
// managedFields, but objects as large as kite's), and watch events serialized ONCE per event, then written
// to every stream.
//
// Usage: node floor-server.js <port> <serving.crt> <serving.key> <ca.crt> <token>

import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { storedPod } from './pods.js';

type Obj = { metadata: Record<string, unknown> } & Record<string, unknown>;

const [portArg, certFile, keyFile, caFile, tokenArg] = process.argv.slice(2);
const token = `Bearer ${tokenArg}`;
const pods = new Map<string, Map<string, Obj>>();
const watchers = new Map<string, Set<ServerResponse>>();
let rv = 1;

const POD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/;

function readJson(req: IncomingMessage): Promise<Obj> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj);
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function nsPods(ns: string): Map<string, Obj> {
  let m = pods.get(ns);
  if (!m) pods.set(ns, (m = new Map()));
  return m;
}

function broadcast(ns: string, type: string, obj: Obj): void {
  const set = watchers.get(ns);
  if (!set || set.size === 0) return;
  const line = `{"type":"${type}","object":${JSON.stringify(obj)}}\n`;
  for (const res of set) res.write(line);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://floor');
  if (url.pathname === '/readyz') return send(res, 200, 'ok');
  if (req.headers.authorization !== token) return send(res, 401, '{"kind":"Status","code":401}');
  const m = POD_PATH.exec(url.pathname);
  if (!m) return send(res, 404, '{"kind":"Status","code":404}');
  const [, ns, name] = m;
  const store = nsPods(ns);
  if (req.method === 'POST' && !name) {
    const sent = await readJson(req);
    // Stands in for defaulting and managedFields, so that objects are as large as kite's (~1.5 KB).
    const obj = JSON.parse(storedPod(String(sent.metadata.name))) as Obj;
    const md = obj.metadata;
    md.labels = sent.metadata.labels;
    md.namespace = ns;
    md.uid = randomUUID();
    md.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    md.resourceVersion = String(++rv);
    if (store.has(md.name as string)) return send(res, 409, '{"kind":"Status","code":409}');
    store.set(md.name as string, obj);
    send(res, 201, JSON.stringify(obj));
    return broadcast(ns, 'ADDED', obj);
  }
  if (req.method === 'PUT' && name) {
    const obj = await readJson(req);
    const cur = store.get(name);
    if (!cur) return send(res, 404, '{"kind":"Status","code":404}');
    if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) return send(res, 409, '{"kind":"Status","code":409}');
    obj.metadata.resourceVersion = String(++rv);
    store.set(name, obj);
    send(res, 200, JSON.stringify(obj));
    return broadcast(ns, 'MODIFIED', obj);
  }
  if (req.method !== 'GET') return send(res, 405, '{"kind":"Status","code":405}');
  if (name) {
    const obj = store.get(name);
    return obj ? send(res, 200, JSON.stringify(obj)) : send(res, 404, '{"kind":"Status","code":404}');
  }
  if (url.searchParams.get('watch') === 'true') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    let set = watchers.get(ns);
    if (!set) watchers.set(ns, (set = new Set()));
    set.add(res);
    res.on('close', () => set.delete(res));
    return;
  }
  const limit = Number(url.searchParams.get('limit') ?? 0) || Infinity;
  const items: Obj[] = [];
  for (const o of store.values()) {
    if (items.length >= limit) break;
    items.push(o);
  }
  send(res, 200, JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items }));
}

const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile), requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
  (req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, JSON.stringify({ kind: 'Status', code: 500, message: String(e) })));
  },
);
server.keepAliveTimeout = 120_000;
server.requestTimeout = 0;
server.listen(Number(portArg), '127.0.0.1');
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});

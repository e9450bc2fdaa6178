// Ingress benchmark (issue "Ingress"): requests/s and p99 latency through the kite ingress controller's
// nginx, beside Debian's nginx as a plain reverse proxy to the same backends, measured in the same run with
// the same load (wrk, HTTP/1.1 keep-alive) over plain HTTP and over HTTPS. Target: kite ≥ 0.5× the plain proxy.
//
// The backend is one static nginx server block (`return 200`, one worker) listening on 127.0.0.2 and
// 127.0.0.3: two endpoints of one Service, identical for both proxies, and cheap enough that the proxy is
// what is measured. The plain proxy is a minimal hand-written configuration (upstream with keep-alive,
// proxy_pass, worker_processes auto); kite's is the generated one, reached through an Ingress with a host
// rule and a TLS section, fed by a real `kite server --disable-agent`. Rounds alternate plain/kite so drift
// on the shared 2 cores hits both alike; medians are reported. Needs root, nginx and wrk; 127.0.0.0/8 only.
//
//   node dist/bench/ingress.js    (env: BENCH_INGRESS_SECONDS=8, BENCH_INGRESS_ROUNDS=3, BENCH_INGRESS_CONNECTIONS=64)

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { configFromKubeconfig, resource, RestClient } from '../src/client/rest.js';
import { startIngressController } from '../src/ingress/controller.js';
import { NginxMaster } from '../src/ingress/nginx.js';
import { ensureDefaultCertificate } from '../src/ingress/tls.js';
import { freePort, startServer } from './lib/proc.js';
import { fmt, median } from './lib/stats.js';

const SECONDS = Number(process.env.BENCH_INGRESS_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_INGRESS_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_INGRESS_CONNECTIONS ?? 64);
const HOST = 'bench.example.com';
const BACKEND_IPS = ['127.0.0.2', '127.0.0.3'];
const log = (m: string) => process.stderr.write(`${m}\n`);

interface WrkResult {
  rps: number;
  p99ms: number;
  errors: number;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

function wrk(url: string): Promise<WrkResult> {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', '-H', `Host: ${HOST}`, url];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (SECONDS + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(new Error(`wrk ${args.join(' ')}: ${err.message}`));
      const out = String(stdout);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
      const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      if (!rps || !p99) return reject(new Error(`cannot read wrk's output:\n${out}`));
      const sockErrs = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
      resolve({ rps: Number(rps[1]), p99ms: toMs(p99[1]!, p99[2]!), errors: Number(errs?.[1] ?? 0) + sockErrs });
    });
  });
}

/** An nginx instance of the bench's own (backend or plain proxy), in its own prefix. */
async function nginxWith(prefix: string, httpBlock: string, workers: string): Promise<NginxMaster> {
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    [
      `worker_processes ${workers};`,
      `pid ${join(prefix, 'nginx.pid')};`,
      'error_log stderr warn;',
      'events { worker_connections 8192; }',
      'http {',
      '    access_log off;',
      `    client_body_temp_path ${prefix}/tmp/body; proxy_temp_path ${prefix}/tmp/proxy; fastcgi_temp_path ${prefix}/tmp/fcgi; uwsgi_temp_path ${prefix}/tmp/uwsgi; scgi_temp_path ${prefix}/tmp/scgi;`,
      httpBlock,
      '}',
      '',
    ].join('\n'),
  );
  const m = new NginxMaster({ prefix, conf, log: (l) => log(`  ${l}`) });
  const problem = await m.test(conf);
  if (problem) throw new Error(`nginx -t ${conf}: ${problem}`);
  await m.start();
  return m;
}

function get(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: HOST }, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: nginx workers switch to an unprivileged user');
  const tmp = mkdtempSync(join(tmpdir(), 'kite-bench-ingress-'));
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const backendPort = await freePort();
    const backend = await nginxWith(
      join(tmp, 'backend'),
      `    server {\n${BACKEND_IPS.map((ip) => `        listen ${ip}:${backendPort};\n`).join('')}        location / { return 200 "hello from the backend\\n"; }\n    }`,
      '1',
    );
    stops.push(() => backend.stop());

    // The plain proxy gets the same certificate kinds as kite (an ECDSA P-256 self-signed one).
    const certFile = join(tmp, 'plain-cert.pem');
    await ensureDefaultCertificate(certFile);
    const plainHttp = await freePort();
    const plainHttps = await freePort();
    const plain = await nginxWith(
      join(tmp, 'plain'),
      [
        '    upstream backend {',
        ...BACKEND_IPS.map((ip) => `        server ${ip}:${backendPort};`),
        '        keepalive 64;',
        '    }',
        '    server {',
        `        listen 127.0.0.1:${plainHttp};`,
        `        listen 127.0.0.1:${plainHttps} ssl;`,
        `        ssl_certificate ${certFile}; ssl_certificate_key ${certFile};`,
        '        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }',
        '    }',
      ].join('\n'),
      'auto',
    );
    stops.push(() => plain.stop());

    log('kite server --disable-agent …');
    const REPO = fileURLToPath(new URL('../../', import.meta.url));
    const kiteJs = process.env.KITE_BIN ?? join(REPO, 'dist', 'src', 'cli', 'main.js');
    const dataDir = join(tmp, 'kite');
    const apiPort = await freePort();
    const server = await startServer(process.execPath, [kiteJs, 'server', '--disable-agent', '--data-dir', dataDir, '--https-listen-port', String(apiPort), '--bind-address', '127.0.0.1'], apiPort, { timeoutMs: 60_000 });
    stops.push(() => server.stop());
    const client = new RestClient(configFromKubeconfig(join(dataDir, 'kubeconfig.yaml'), 'bench-ingress'));
    stops.push(async () => client.close());

    await client.create(resource('', 'v1', 'services'), 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'backend' }, spec: { ports: [{ name: 'http', port: 80, targetPort: backendPort }] } });
    await client.create(resource('discovery.k8s.io', 'v1', 'endpointslices'), 'default', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'backend-1', labels: { 'kubernetes.io/service-name': 'backend' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }],
      endpoints: BACKEND_IPS.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    });
    const pem = readFileSync(certFile, 'utf8');
    const certPem = pem.slice(0, pem.indexOf('-----BEGIN PRIVATE KEY-----'));
    const keyPem = pem.slice(pem.indexOf('-----BEGIN PRIVATE KEY-----'));
    await client.create(resource('', 'v1', 'secrets'), 'default', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bench-tls' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from(certPem).toString('base64'), 'tls.key': Buffer.from(keyPem).toString('base64') },
    });
    await client.create(resource('networking.k8s.io', 'v1', 'ingresses'), 'default', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'bench', annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' } },
      spec: {
        tls: [{ hosts: [HOST], secretName: 'bench-tls' }],
        rules: [{ host: HOST, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'backend', port: { number: 80 } } } }] } }],
      },
    });

    const kiteHttp = await freePort();
    const kiteHttps = await freePort();
    const ctl = await startIngressController({ client, dataDir, nodeName: 'bench-node', nodeIPs: ['127.0.0.1'], httpPort: kiteHttp, httpsPort: kiteHttps, bindAddress: '127.0.0.1', log: (m) => log(`  ${m}`) });
    stops.push(() => ctl.stop());
    await ctl.ready();
    await until('kite ingress to route to the backend', async () => (await get(kiteHttp)) === 200);
    await until('the plain proxy to route to the backend', async () => (await get(plainHttp)) === 200);

    const cases = [
      { name: 'HTTP', plain: `http://127.0.0.1:${plainHttp}/`, kite: `http://127.0.0.1:${kiteHttp}/` },
      { name: 'HTTPS', plain: `https://127.0.0.1:${plainHttps}/`, kite: `https://127.0.0.1:${kiteHttps}/` },
    ];
    const rows: string[][] = [];
    for (const c of cases) {
      const results: Record<'plain' | 'kite', WrkResult[]> = { plain: [], kite: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const who of ['plain', 'kite'] as const) {
          log(`${c.name} round ${r + 1}/${ROUNDS}: ${who} …`);
          results[who].push(await wrk(c[who]));
        }
      }
      const rps = (w: 'plain' | 'kite') => median(results[w].map((x) => x.rps));
      const p99 = (w: 'plain' | 'kite') => median(results[w].map((x) => x.p99ms));
      const errors = (w: 'plain' | 'kite') => results[w].reduce((a, x) => a + x.errors, 0);
      const ratio = rps('kite') / rps('plain');
      rows.push([`${c.name}: plain nginx reverse proxy`, fmt.rate(rps('plain')), fmt.ms(p99('plain')), String(errors('plain')), '', '']);
      rows.push([`${c.name}: kite ingress (generated config)`, fmt.rate(rps('kite')), fmt.ms(p99('kite')), String(errors('kite')), fmt.ratio(ratio), ratio >= 0.5 ? 'met (≥ ×0.50)' : 'MISSED (≥ ×0.50)']);
    }

    const header = ['', 'requests/s (median)', 'p99 (median)', 'errors', 'kite / plain', 'target'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(`\nIngress: wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, ${ROUNDS} alternating rounds, backend = static nginx (return 200) on ${BACKEND_IPS.join(' and ')}\n`);
    console.log(line(header));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));
  } finally {
    for (const s of stops.reverse()) await s().catch((e: Error) => log(`cleanup: ${e.message}`));
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});

// Service proxy data path (issue "Service networking"): requests/s and p99 through a ClusterIP next to the same
// pod reached on its pod IP directly, in the same run with the same load. Target: ClusterIP within 10% of direct.
//
// A real `kite server` with its node agent runs one pod: Debian's nginx (copied with its libraries into an image
// built offline) answering `return 200` from one worker. wrk on the host sends HTTP/1.1 keep-alive load to the pod
// IP, then to a ClusterIP Service in front of it (DNATed by kite's nftables rules in the output hook); rounds
// alternate so drift on the shared cores hits both alike, and medians are reported. Needs root, nginx and wrk;
// traffic stays on the node (the pod bridge and the service CIDR routed to it).
//
//   node dist/bench/clusterip.js    (env: BENCH_SVC_SECONDS=5, BENCH_SVC_ROUNDS=3, BENCH_SVC_CONNECTIONS=32)

import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, symlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/proc.js';
import { fmt, median } from './lib/stats.js';
import { renderTable } from './lib/report.js';

const SECONDS = Number(process.env.BENCH_SVC_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_SVC_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_SVC_CONNECTIONS ?? 32);
const KITE = process.env.KITE_BIN ?? fileURLToPath(new URL('../../bin/kite', import.meta.url));
const log = (m: string) => process.stderr.write(`${m}\n`);

interface WrkResult {
  rps: number;
  p99ms: number;
  errors: number;
}

function wrk(url: string): Promise<WrkResult> {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (SECONDS + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(new Error(`wrk ${args.join(' ')}: ${err.message}`));
      const out = String(stdout);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
      if (!rps || !p99) return reject(new Error(`cannot read wrk's output:\n${out}`));
      const unit = p99[2];
      const p99ms = Number(p99[1]) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
      resolve({ rps: Number(rps[1]), p99ms, errors: Number(non2xx?.[1] ?? 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) });
    });
  });
}

/** Debian's nginx and the libraries it links, as an image context directory. */
function nginxContext(dir: string): void {
  const files = ['/usr/sbin/nginx', ...execFileSync('ldd', ['/usr/sbin/nginx'], { encoding: 'utf8' }).match(/\/\S+/g)!];
  for (const f of files) {
    const to = join(dir, f);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f, to);
  }
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(
    join(dir, 'etc', 'nginx.conf'),
    'daemon off; user root; worker_processes 1; pid /tmp/nginx.pid; error_log stderr warn;\n' +
      'events { worker_connections 4096; }\n' +
      'http { access_log off; client_body_temp_path /tmp; proxy_temp_path /tmp; fastcgi_temp_path /tmp; uwsgi_temp_path /tmp; scgi_temp_path /tmp;\n' +
      '  server { listen 80; location / { return 200 "ok\\n"; } } }\n',
  );
  if (!existsSync(join(dir, 'lib64'))) symlinkSync('usr/lib64', join(dir, 'lib64'));
}

function kite(args: string[]): string {
  return execFileSync(process.execPath, [KITE, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/clusterip needs root (it runs real containers)');
  const dataDir = mkdtempSync(join(tmpdir(), 'kite-bench-svc-'));
  const port = await freePort();
  // The bench's own bridge, pod network, service range and cgroup parent, so it never meets a real node's.
  const args = ['server', '--data-dir', dataDir, '--https-listen-port', String(port), '--bind-address', '127.0.0.1', '--service-cidr', '10.89.8.0/24', '--cluster-dns', '10.89.8.10',
    '--cni-bridge', 'kitesvc0', '--pod-cidr', '10.88.9.0/24', '--cgroup-parent', '/kite-bench-svc', '--kubelet-port', String(await freePort()), '--dns-port', String(await freePort()), '--disable', 'ingress'];
  const server = spawn(process.execPath, [KITE, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KITE_AGENT_KILL_PODS_ON_EXIT: '1' } });
  let serverLog = '';
  server.stderr.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-20_000)));
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const kubectl = (...a: string[]) => execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: join(dataDir, 'kubecache') } });
  const ctx = mkdtempSync(join(tmpdir(), 'kite-bench-svc-img-'));
  try {
    await until('the node to be Ready', () => (/kite agent: node \S+ Ready/.test(serverLog) ? true : undefined), 60_000);
    log('building the backend image (Debian nginx, one worker)');
    nginxContext(ctx);
    kite(['image', 'build', ctx, '-t', 'bench-nginx:v1', '--entrypoint', '/usr/sbin/nginx', '--cmd', '-e', '--cmd', 'stderr', '--cmd', '-c', '--cmd', '/etc/nginx.conf', '--data-dir', dataDir]);
    kubectl('run', 'backend', '--image=bench-nginx:v1', '--port', '80');
    kubectl('expose', 'pod', 'backend', '--port', '80');
    const podIP = await until('the pod to be Running', () => {
      const p = JSON.parse(kubectl('get', 'pod', 'backend', '-o', 'json')) as { status?: { phase?: string; podIP?: string } };
      return p.status?.phase === 'Running' && p.status.podIP ? p.status.podIP : undefined;
    }, 60_000);
    const clusterIP = kubectl('get', 'service', 'backend', '-o', 'jsonpath={.spec.clusterIP}').trim();
    await until('the ClusterIP to answer', () => (execFileSync('wrk', ['-t1', '-c1', '-d1s', `http://${clusterIP}/`], { encoding: 'utf8' }).includes('Requests/sec') ? true : undefined), 30_000);
    log(`pod IP ${podIP}, ClusterIP ${clusterIP}; ${ROUNDS} rounds of ${SECONDS}s, ${CONNECTIONS} connections`);
    const direct: WrkResult[] = [];
    const viaService: WrkResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      direct.push(await wrk(`http://${podIP}/`));
      viaService.push(await wrk(`http://${clusterIP}/`));
      log(`round ${i + 1}: direct ${fmt.rate(direct[i]!.rps)}, ClusterIP ${fmt.rate(viaService[i]!.rps)}`);
    }
    const d = median(direct.map((r) => r.rps));
    const s = median(viaService.map((r) => r.rps));
    const errors = [...direct, ...viaService].reduce((a, r) => a + r.errors, 0);
    console.log(
      renderTable([
        { backend: 'service proxy', figure: 'requests/s', kite: `ClusterIP ${fmt.rate(s)}`, baselines: [{ name: 'pod IP', value: fmt.rate(d), ratio: s / d }], target: '≥ 0.9× direct', met: s >= 0.9 * d },
        { backend: 'service proxy', figure: 'p99', kite: `ClusterIP ${median(viaService.map((r) => r.p99ms)).toFixed(2)} ms`, baselines: [{ name: 'pod IP', value: `${median(direct.map((r) => r.p99ms)).toFixed(2)} ms`, ratio: NaN }], target: '' },
        { backend: 'service proxy', figure: 'failed requests', kite: String(errors), baselines: [], target: '' },
      ]),
    );
    console.log(`\nload average at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()} (2 cores shared with wrk, nginx and kite)`);
  } finally {
    server.kill('SIGTERM');
    await new Promise<void>((r) => (server.exitCode !== null ? r() : server.once('exit', () => r())));
    rmSync(ctx, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    removeNodeLeftovers('kitesvc0', '/kite-bench-svc');
  }
}

/** A node keeps its bridge and cgroup parent across restarts; the bench's own are removed when it ends. */
function removeNodeLeftovers(bridge: string, cgroupParent: string): void {
  try {
    execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  for (const h of readdirSync('/sys/fs/cgroup')) {
    try {
      rmdirSync(`/sys/fs/cgroup/${h}${cgroupParent}`);
    } catch {
      // absent, or not a hierarchy
    }
  }
}

main().catch((e: unknown) => {
  console.error(`bench/clusterip: ${(e as Error).message}`);
  process.exit(1);
});

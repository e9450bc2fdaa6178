import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { buildImage } from '../helpers/images.js';
import { httpGet, isRunning, waitPod } from '../helpers/node.js';

// Issue 4's acceptance, part 3: what kubectl does with a running container — logs -f, exec (also with a tty),
// port-forward, cp and top — through the API server's proxies to the node's streaming endpoint.

let c: Cluster;
let tmp: string;

before(async () => {
  c = await startCluster({ agent: true });
  tmp = mkdtempSync(join(tmpdir(), 'kite-streams-'));
  await buildImage(c.dataDir, 'web:v1', { files: { 'www/index.html': 'forwarded page\n' }, entrypoint: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'] });
  await buildImage(c.dataDir, 'tools:v1', { cmd: ['sh'] });
  await c.k('create', 'secret', 'generic', 'tls-certs', '--from-literal=cert.pem=PEM-DATA');
  const r = await c.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'box' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'web', image: 'web:v1' },
          { name: 'shell', image: 'tools:v1', command: ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done'], volumeMounts: [{ name: 'tls', mountPath: '/etc/tls' }] },
        ],
        volumes: [{ name: 'tls', secret: { secretName: 'tls-certs' } }],
      },
    }),
  });
  assert.equal(r.code, 0, r.stderr);
  await waitPod(c, 'box', 'Running', isRunning);
});

after(async () => {
  await c?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('kubectl logs -f follows a container', async () => {
  const follow = c.watch(['logs', '-f', 'box', '-c', 'shell']);
  try {
    await follow.waitFor(/tick 3\n/, 30_000);
  } finally {
    follow.stop();
  }
  assert.match(await c.k('logs', 'box', '-c', 'shell', '--tail=1'), /^tick \d+\n$/);
});

test('kubectl exec runs a command in the container and propagates its exit code', async () => {
  assert.equal(await c.k('exec', 'box', '-c', 'shell', '--', 'cat', '/etc/tls/cert.pem'), 'PEM-DATA');
  const r = await c.kubectl(['exec', 'box', '-c', 'shell', '--', 'sh', '-c', 'exit 3']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /command terminated with exit code 3/);
  const piped = await c.kubectl(['exec', '-i', 'box', '-c', 'shell', '--', 'cat'], { input: 'through stdin\n' });
  assert.equal(piped.stdout, 'through stdin\n');
});

test('kubectl exec -it gives an interactive shell through a pty', async () => {
  // script(1) gives kubectl a terminal, as a user's would be.
  const child = spawn('script', ['-qfec', `kubectl --kubeconfig ${c.kubeconfig} exec -it box -c shell -- sh`, '/dev/null'], {
    env: { ...process.env, KUBECONFIG: c.kubeconfig, KUBECACHEDIR: join(c.dataDir, 'kubecache'), TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  try {
    await waitFor('a shell prompt', async () => /[#$] /.test(out), 30_000, 100);
    child.stdin.write('echo $((6*7)) $(tty)\r');
    await waitFor('the answer from the shell', async () => /42 \/dev\/pts\/\d+/.test(out), 20_000, 100);
    child.stdin.write('exit 0\r');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('kubectl port-forward reaches a port of the pod', async () => {
  const local = await freePort();
  const pf = c.watch(['port-forward', 'pod/box', `${local}:8080`]);
  try {
    await pf.waitFor(/Forwarding from 127\.0\.0\.1:\d+ -> 8080/, 30_000);
    const page = await waitFor('a page through the forward', async () => httpGet(`http://127.0.0.1:${local}/`).catch(() => undefined), 20_000, 200);
    assert.equal(page.body, 'forwarded page\n');
  } finally {
    pf.stop();
  }
});

test('kubectl cp copies files into and out of the container', async () => {
  const src = join(tmp, 'in.txt');
  writeFileSync(src, 'copied in\n');
  await c.k('cp', src, 'default/box:/tmp/in.txt', '-c', 'shell');
  assert.equal(await c.k('exec', 'box', '-c', 'shell', '--', 'cat', '/tmp/in.txt'), 'copied in\n');
  const dst = join(tmp, 'out.txt');
  await c.k('cp', 'default/box:/tmp/in.txt', dst, '-c', 'shell');
  assert.equal(readFileSync(dst, 'utf8'), 'copied in\n');
});

test('kubectl top pod and top node report usage', async () => {
  const pods = await waitFor('pod metrics', async () => {
    const r = await c.kubectl(['top', 'pod', 'box']);
    return r.code === 0 ? r.stdout : undefined;
  }, 60_000, 1000);
  assert.match(pods, /NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*\nbox\s+\d+m\s+\d+Mi/);
  const nodes = await waitFor('node metrics', async () => {
    const r = await c.kubectl(['top', 'node']);
    return r.code === 0 ? r.stdout : undefined;
  }, 60_000, 1000);
  assert.match(nodes, /NAME\s+CPU\(cores\)\s+CPU(%)?.*MEMORY/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, get as httpGet, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, waitFor, freePort, type Cluster } from '../helpers/cluster.js';
import { apiClient } from '../helpers/api.js';
import { startStreamingServer, type ContainerLocator, type StreamingServer } from '../../src/agent/streaming/server.js';
import { servingCertificate } from '../../src/agent/tls.js';
import type { ContainerStats, RuntimeService, StreamOptions, StreamSession } from '../../src/runtime/interface.js';

// Logs, exec, attach, port-forward, cp and top through a real `kite server`, driven by the real kubectl.
// There are no containers: the node agent's streaming server runs in this process over a fake runtime whose
// "containers" are host processes in a temp dir, whose logs are CRI files this test writes, and whose pod
// ports are TCP servers on 127.0.0.1. The Node and Pod objects are written through the API as an agent would.

const NODE = 'stream-node';
const T = () => new Date().toISOString().replace('Z', '000000+00:00');

interface FakeContainer {
  id: string;
  logPath: string;
  running: boolean;
  previous?: { id: string; logPath: string };
}

class FakeRuntime {
  readonly containers = new Map<string, FakeContainer>(); // "ns/pod/container"
  readonly pods = new Map<string, { uid: string; containers: string[] }>(); // "ns/pod"
  readonly children = new Set<ChildProcess>();
  readonly resizes: Array<[number, number]> = [];
  readonly started = Date.now();

  constructor(readonly root: string) {}

  private session(child: ChildProcess, opts: StreamOptions): StreamSession {
    this.children.add(child);
    if (!opts.stdin) child.stdin?.end();
    const exited = new Promise<number>((resolve) => {
      child.once('error', () => resolve(127));
      child.once('close', (code, signal) => {
        this.children.delete(child);
        resolve(code ?? (signal ? 128 + 9 : 1));
      });
    });
    return {
      stdin: opts.stdin ? child.stdin! : undefined,
      stdout: child.stdout!,
      stderr: opts.tty ? undefined : child.stderr!,
      resize: (w, h) => void this.resizes.push([w, h]),
      wait: () => exited,
      close: () => void child.kill('SIGKILL'),
    };
  }

  private spawnFor(argv: string[], opts: StreamOptions): ChildProcess {
    const env = { PATH: '/usr/bin:/bin', HOME: this.root, TERM: 'xterm' };
    if (opts.tty) {
      // A terminal for the command: script(1) runs it on a pty of its own.
      const line = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      return spawn('script', ['-qfec', line, '/dev/null'], { cwd: this.root, env, stdio: 'pipe' });
    }
    return spawn(argv[0]!, argv.slice(1), { cwd: this.root, env, stdio: 'pipe' });
  }

  runtime(): RuntimeService {
    const notHere = async (): Promise<never> => {
      throw new Error('not part of the streaming fake');
    };
    let cpu = 0;
    return {
      version: () => ({ runtimeName: 'fake', runtimeVersion: '0', runtimeApiVersion: 'v1' }),
      runPodSandbox: notHere,
      stopPodSandbox: notHere,
      removePodSandbox: notHere,
      podSandboxStatus: notHere,
      listPodSandboxes: notHere,
      createContainer: notHere,
      startContainer: notHere,
      stopContainer: notHere,
      removeContainer: notHere,
      containerStatus: notHere,
      listContainers: notHere,
      execSync: notHere,
      exec: async (_id, argv, opts) => this.session(this.spawnFor(argv, opts), opts),
      // Attaching to the container's main process: here, a shell started for the occasion.
      attach: async (_id, opts) => this.session(this.spawnFor(['sh'], opts), opts),
      portForward: async (_sandbox, port) =>
        new Promise((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
      // A steady quarter of a CPU and 10 MiB: cumulative CPU grows with the clock.
      containerStats: async (): Promise<ContainerStats> => {
        const now = Date.now();
        cpu = Math.max(cpu, (now - this.started) * 250_000);
        return { timestamp: now, cpuUsageNanos: String(cpu), memoryWorkingSetBytes: 10 * 1024 * 1024, memoryUsageBytes: 12 * 1024 * 1024 };
      },
      onEvent: () => () => undefined,
      close: async () => undefined,
    };
  }

  locator(): ContainerLocator {
    return {
      container: async (ns, pod, c) => {
        const f = this.containers.get(`${ns}/${pod}/${c}`);
        return f && { current: { id: f.id, logPath: f.logPath, running: f.running }, previous: f.previous };
      },
      sandbox: async (ns, pod) => (this.pods.has(`${ns}/${pod}`) ? { id: `sandbox-${pod}` } : undefined),
      pods: async () =>
        [...this.pods.entries()].map(([key, p]) => {
          const [namespace, name] = key.split('/') as [string, string];
          return { namespace, name, uid: p.uid, containers: p.containers.filter((c) => this.containers.get(`${key}/${c}`)?.running).map((c) => ({ name: c, id: this.containers.get(`${key}/${c}`)!.id })) };
        }),
    };
  }

  killAll(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }
}

function criLine(stream: 'stdout' | 'stderr', text: string, tag: 'F' | 'P' = 'F'): string {
  return `${T()} ${stream} ${tag} ${text}\n`;
}

async function applyJson(c: Cluster, obj: unknown): Promise<void> {
  const r = await c.kubectl(['create', '-f', '-'], { input: JSON.stringify(obj) });
  if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
}

async function patchStatus(c: Cluster, kind: string, name: string, status: unknown): Promise<void> {
  await c.k('patch', kind, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
}

const running = (name: string) => ({ name, ready: true, restartCount: 0, image: 'busybox', imageID: 'sha256:0', containerID: `fake://${name}`, started: true, state: { running: { startedAt: new Date().toISOString() } } });

/** A process run to completion with a deadline; for kubectl under script(1) and `logs -f`. */
function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: (child: ChildProcess) => void, timeoutMs = 30_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: 'pipe' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
    input?.(child);
  });
}

test('pod logs, exec, attach, port-forward, cp and top through the API server', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kite-streams-e2e-'));
  const fake = new FakeRuntime(join(root, 'rootfs'));
  mkdirSync(fake.root);
  mkdirSync(join(root, 'logs'));
  let cluster: Cluster | undefined;
  let agent: StreamingServer | undefined = undefined;
  const agentLog: string[] = [];
  let web: Server | undefined;
  t.after(async () => {
    fake.killAll();
    await agent?.close();
    await new Promise<void>((r) => (web ? web.close(() => r()) : r()));
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  // Node Ready for as long as the test runs, without a Lease heartbeat.
  const c = (cluster = await startCluster({ extraArgs: ['--node-monitor-grace-period', '1h', '--disable-controllers', 'scheduler'] }));
  const api = apiClient(c);
  const env = { ...process.env, KUBECONFIG: c.kubeconfig, KUBECACHEDIR: join(c.dataDir, 'kubecache') };
  agent = await startStreamingServer({
    port: 0,
    bindAddress: '127.0.0.1',
    tls: await servingCertificate(join(root, 'pki'), [NODE, '127.0.0.1']),
    authenticate: (req) => req.headers.authorization === `Bearer ${api.token}`,
    runtime: fake.runtime(),
    locator: fake.locator(),
    log: (m) => void agentLog.push(m),
    nodeName: NODE,
  });

  await applyJson(c, { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } } });
  await patchStatus(c, 'node', NODE, {
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: NODE }],
    daemonEndpoints: { kubeletEndpoint: { Port: agent.port } },
    capacity: { cpu: '2', memory: '4Gi', pods: '110' },
    allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kite agent is posting ready status', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
  });

  const pod = (name: string, containers: string[], nodeName = NODE) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { ...(nodeName ? { nodeName } : {}), containers: containers.map((n) => ({ name: n, image: 'busybox', command: ['sleep', '3600'] })) },
  });
  const addContainer = (podName: string, container: string, uid: string) => {
    const logPath = join(root, 'logs', `${podName}-${container}.log`);
    writeFileSync(logPath, '');
    fake.containers.set(`default/${podName}/${container}`, { id: `${podName}-${container}-1`, logPath, running: true });
    const p = fake.pods.get(`default/${podName}`) ?? { uid, containers: [] };
    p.containers.push(container);
    fake.pods.set(`default/${podName}`, p);
    return logPath;
  };
  const uidOf = async (name: string) => (await c.k('get', 'pod', name, '-o', 'jsonpath={.metadata.uid}')).trim();

  // "web": one running container; "multi": two; "waiting": not started; "unbound": no node.
  await applyJson(c, pod('web', ['main']));
  await applyJson(c, pod('multi', ['a', 'b']));
  await applyJson(c, pod('waiting', ['main']));
  await applyJson(c, pod('unbound', ['main'], ''));
  await patchStatus(c, 'pod', 'web', { phase: 'Running', podIP: '127.0.0.1', containerStatuses: [running('main')] });
  await patchStatus(c, 'pod', 'multi', { phase: 'Running', containerStatuses: [running('a'), running('b')] });
  await patchStatus(c, 'pod', 'waiting', { phase: 'Pending', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: 'busybox', imageID: '', started: false, state: { waiting: { reason: 'ContainerCreating' } } }] });
  const webLog = addContainer('web', 'main', await uidOf('web'));
  addContainer('multi', 'a', await uidOf('multi'));
  addContainer('multi', 'b', await uidOf('multi'));
  appendFileSync(webLog, criLine('stdout', 'line one') + criLine('stderr', 'line two') + criLine('stdout', 'line ', 'P') + criLine('stdout', 'three'));

  await t.test('kubectl logs prints the container log, its tail and timestamps', async () => {
    assert.equal(await c.k('logs', 'web'), 'line one\nline two\nline three\n');
    assert.equal(await c.k('logs', 'web', '--tail=1'), 'line three\n');
    assert.match(await c.k('logs', 'web', '--tail=2', '--timestamps'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line two\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line three\n$/);
    assert.equal(await c.k('logs', 'web', '--limit-bytes=12'), 'line one\nlin');
    assert.equal(await c.k('logs', 'web', '--since=1h'), 'line one\nline two\nline three\n');
  });

  await t.test('kubectl logs explains what it cannot show', async () => {
    const previous = await c.kubectl(['logs', 'web', '--previous']);
    assert.equal(previous.code, 1);
    assert.equal(previous.stderr.trim(), 'Error from server (BadRequest): previous terminated container "main" in pod "web" not found');
    const waiting = await c.kubectl(['logs', 'waiting']);
    assert.equal(waiting.stderr.trim(), 'Error from server (BadRequest): container "main" in pod "waiting" is waiting to start: ContainerCreating');
    // kubectl checks container names itself; the server says the same to a raw request.
    const unknown = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/web/log?container=nope']);
    assert.equal(unknown.stderr.trim(), 'Error from server (BadRequest): container nope is not valid for pod web');
    // kubectl picks a default container itself; the server's own defaulting shows on a raw request.
    const raw = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/multi/log']);
    assert.equal(raw.stderr.trim(), 'Error from server (BadRequest): a container name must be specified for pod multi, choose one of: [a b]');
    const unbound = await c.kubectl(['logs', 'unbound']);
    assert.equal(unbound.stderr.trim(), 'Error from server (BadRequest): pod unbound does not have a host assigned');
  });

  await t.test('kubectl logs -f follows appended lines and ends when the container stops', async () => {
    const follow = spawn('kubectl', ['logs', '-f', 'web', '--tail=1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    follow.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => follow.once('close', (code) => resolve(code)));
    const f = fake.containers.get('default/web/main')!;
    try {
      await waitFor(`the tail (got ${JSON.stringify(out)}, ${err})`, async () => out === 'line three\n');
      appendFileSync(webLog, criLine('stdout', 'appended ', 'P') + criLine('stdout', 'while following'));
      await waitFor(`the appended line (got ${JSON.stringify(out)})`, async () => out === 'line three\nappended while following\n');
      appendFileSync(webLog, criLine('stderr', 'last words'));
      f.running = false;
      assert.equal(await exited, 0, err);
      assert.equal(out, 'line three\nappended while following\nlast words\n');
    } finally {
      follow.kill('SIGKILL');
      f.running = true;
    }
  });

  // kubectl 1.32 speaks WebSocket first; these switches make it use SPDY/3.1, its fallback.
  const spdyEnv = { ...env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };
  for (const [transport, tenv] of [['WebSocket', env], ['SPDY', spdyEnv]] as const) {
  const kubectl = (args: string[], input?: string) => runChild('kubectl', args, tenv, (child) => child.stdin!.end(input ?? ''));
  await t.test(`kubectl exec runs a command and passes its output, stdin and exit code (${transport})`, async () => {
    agentLog.length = 0;
    writeFileSync(join(fake.root, 'greeting.txt'), 'hello from the pod\n');
    const cat = await kubectl(['exec', 'web', '--', 'cat', 'greeting.txt']);
    assert.equal(cat.out, 'hello from the pod\n', cat.err);
    const failed = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(failed.code, 3);
    assert.equal(failed.out, 'out\n');
    assert.equal(failed.err, 'err\ncommand terminated with exit code 3\n');
    const piped = await kubectl(['exec', '-i', 'web', '--', 'sh', '-c', 'tr a-z A-Z; echo done'], 'some input\nmore\n');
    assert.equal(piped.code, 0, piped.err);
    assert.equal(piped.out, 'SOME INPUT\nMORE\ndone\n');
    assert.deepEqual(new Set(agentLog.map((m) => /over (\S+)/.exec(m)?.[1])), new Set([transport === 'SPDY' ? 'SPDY/3.1' : 'WebSocket']));
  });

  await t.test(`kubectl exec -it drives a shell on a terminal (${transport})`, async () => {
    const cmd = `kubectl --kubeconfig ${c.kubeconfig} exec -it web -- sh`;
    const r = await runChild('script', ['-qfec', cmd, '/dev/null'], tenv, (child) => {
      child.stdin!.write('echo tty-$((6*7)); test -t 0 && echo on-a-tty\n');
      child.stdin!.write('exit 7\n');
    });
    assert.match(r.out, /tty-42/);
    assert.match(r.out, /on-a-tty/);
    assert.match(r.out, /command terminated with exit code 7/);
    assert.equal(r.code, 7);
  });

  await t.test(`kubectl attach connects to the container process (${transport})`, async () => {
    const r = await kubectl(['attach', '-i', 'web'], 'echo attached-$((1+1))\nexit 0\n');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /attached-2/);
  });

  await t.test(`kubectl port-forward carries HTTP to a port inside the pod (${transport})`, async () => {
    if (!web) {
      web = createHttpServer((req, res) => res.end(`pod says hi to ${req.url}`));
      await new Promise<void>((r) => web!.listen(0, '127.0.0.1', () => r()));
    }
    const remote = (web.address() as AddressInfo).port;
    const local = await freePort();
    const pf = spawn('kubectl', ['port-forward', 'pod/web', `${local}:${remote}`], { env: tenv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
    pf.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(`port-forward to listen (output: ${out})`, async () => out.includes(`Forwarding from 127.0.0.1:${local}`));
      const get = (path: string) =>
        new Promise<string>((resolve, reject) => {
          httpGet({ host: '127.0.0.1', port: local, path, agent: false }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          }).on('error', reject);
        });
      assert.equal(await get('/first'), 'pod says hi to /first');
      assert.equal(await get('/second'), 'pod says hi to /second');
      assert.match(out, /Handling connection for \d+/);
      assert.ok(agentLog.includes(`port-forward default/web over ${transport === 'SPDY' ? 'SPDY/3.1 (portforward.k8s.io)' : 'WebSocket (SPDY/3.1+portforward.k8s.io)'}`), agentLog.join('\n'));
    } finally {
      pf.kill('SIGTERM');
    }
  });

  await t.test(`kubectl cp copies files into and out of the pod (${transport})`, async () => {
    const local = mkdtempSync(join(root, 'local-'));
    const inbox = mkdtempSync(join(fake.root, 'inbox-'));
    writeFileSync(join(local, 'up.txt'), 'uploaded contents\n'.repeat(5000));
    const up = await runChild('kubectl', ['cp', join(local, 'up.txt'), `web:${join(inbox, 'up.txt')}`], tenv);
    assert.equal(up.code, 0, up.err);
    assert.equal(readFileSync(join(inbox, 'up.txt'), 'utf8'), 'uploaded contents\n'.repeat(5000));
    writeFileSync(join(inbox, 'down.txt'), 'downloaded contents\n');
    const down = await runChild('kubectl', ['cp', `web:${join(inbox, 'down.txt')}`, join(local, 'down.txt')], tenv);
    assert.equal(down.code, 0, down.err);
    assert.equal(readFileSync(join(local, 'down.txt'), 'utf8'), 'downloaded contents\n');
  });
  }

  await t.test('exec and attach refuse pods and containers that are not running, over both protocols', async () => {
    const waiting = await c.kubectl(['exec', 'waiting', '--', 'true']);
    assert.notEqual(waiting.code, 0);
    assert.match(waiting.stderr, /pod waiting is not running \(phase Pending\)/);
    const unknown = await c.kubectl(['exec', 'multi', '-c', 'c', '--', 'true']);
    assert.match(unknown.stderr, /container c is not valid for pod multi|container c not found in pod multi/);
    fake.containers.get('default/multi/b')!.running = false;
    await patchStatus(c, 'pod', 'multi', { containerStatuses: [running('a'), { ...running('b'), ready: false, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() } } }] });
    const stopped = await c.kubectl(['exec', 'multi', '-c', 'b', '--', 'true']);
    assert.match(stopped.stderr, /container "b" in pod "multi" is not running/);
    // The same Status whichever protocol asks: the WebSocket GET and the SPDY POST.
    const ws = await api.call('GET', '/api/v1/namespaces/default/pods/multi/exec?command=true&container=b&stdout=true', undefined, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io' });
    const spdy = await api.call('POST', '/api/v1/namespaces/default/pods/multi/exec?command=true&container=b&stdout=true', undefined, { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
    assert.equal(ws.status, 400);
    assert.equal(ws.body, spdy.body);
    assert.equal(ws.json<{ message: string }>().message, 'container "b" in pod "multi" is not running');
  });

  await t.test('kubectl top shows pod and node usage from the agents', async () => {
    const pods = await waitFor('pod metrics', async () => {
      const r = await c.kubectl(['top', 'pod']);
      return r.code === 0 && /\nweb\s/.test(r.stdout) ? r.stdout : undefined;
    });
    assert.match(pods, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*\n/);
    assert.match(pods, /\nweb\s+2[45]\dm\s+10Mi\s*\n/);
    const containers = await c.k('top', 'pod', 'web', '--containers');
    assert.match(containers, /\nweb\s+main\s+2[45]\dm\s+10Mi\s*\n/);
    const nodes = await c.k('top', 'node');
    assert.match(nodes, /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*\n/);
    assert.match(nodes, new RegExp(`\\n${NODE}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%\\s*\\n`));
    const raw = JSON.parse(await c.k('get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web')) as { kind: string; containers: Array<{ name: string; usage: { memory: string } }>; window: string };
    assert.equal(raw.kind, 'PodMetrics');
    assert.deepEqual(raw.containers.map((x) => [x.name, x.usage.memory]), [['main', '10Mi']]);
    assert.match(raw.window, /^[\d.]+s$/);
    const missing = await c.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes/nope']);
    assert.equal(missing.stderr.trim(), 'Error from server (NotFound): nodemetrics.metrics.k8s.io "nope" not found');
  });

  await t.test('the CA certificate is served without credentials at /cacerts', async () => {
    const r = await api.call('GET', '/cacerts', undefined, {}, false);
    assert.equal(r.status, 200);
    assert.equal(r.body, readFileSync(join(c.dataDir, 'server', 'tls', 'ca.crt'), 'utf8'));
  });

});

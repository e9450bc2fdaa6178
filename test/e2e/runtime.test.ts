import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { removeIdleHostportChains } from '../../src/runtime/cni/hostports.js';
import type { ContainerConfig, ImageInfo, PodSandboxConfig, RuntimeService, StreamSession } from '../../src/runtime/interface.js';
import { cgroupHierarchies } from '../../src/runtime/runc/cgroups.js';
import { mountsUnder, unmountAll } from '../../src/runtime/runc/mounts.js';
import { createRuncRuntime, type RuncRuntimeOptions } from '../../src/runtime/runc/runtime.js';
import { freePort, waitFor } from '../helpers/cluster.js';

// The runc runtime against the real runc, conmon, catatonit and CNI plugins (needs root).
// Resources assigned to this test: bridge kiteb0, pod CIDR 10.88.1.0/24, cgroup parent /kite-test-runc.

const BRIDGE = 'kiteb0';
const CIDR = '10.88.1.0/24';
const CGROUP_PARENT = '/kite-test-runc';
const isRoot = process.getuid?.() === 0;
const haveTools = ['/usr/sbin/runc', '/usr/bin/conmon', '/usr/bin/catatonit', '/usr/bin/busybox', '/usr/lib/cni/bridge'].every((p) => existsSync(p));
const skip = !isRoot || !haveTools ? 'needs root, runc, conmon, catatonit, busybox and the CNI plugins' : false;

let work = '';
let dataDir = '';
let rootfs = '';
let rt: RuntimeService | undefined;
let opts: RuncRuntimeOptions;
const logs: string[] = [];

const image: ImageInfo = {
  id: 'sha256:0000000000000000000000000000000000000000000000000000000000000001',
  repoTags: ['test.local/busybox:1.35'],
  repoDigests: [],
  size: 0,
  config: { entrypoint: [], cmd: ['sh'], env: ['PATH=/bin'], workingDir: '/', user: '', exposedPorts: [], labels: {} },
  layers: [],
};

function buildRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'));
  mkdirSync(join(dir, 'www'));
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  copyFileSync('/usr/bin/busybox', join(dir, 'bin', 'busybox'));
  for (const applet of execFileSync('/usr/bin/busybox', ['--list']).toString().split('\n').filter(Boolean)) {
    if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  }
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n');
  writeFileSync(join(dir, 'www', 'index.html'), 'hello from the pod\n');
}

let podSeq = 0;
function sandboxConfig(name: string, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  podSeq++;
  return {
    podUid: `00000000-0000-4000-8000-${String(podSeq).padStart(12, '0')}`,
    name,
    namespace: 'default',
    attempt: 0,
    hostname: name,
    dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
    hostAliases: [{ ip: '10.1.2.3', hostnames: ['alias.example'] }],
    portMappings: [],
    hostNetwork: false,
    shareProcessNamespace: false,
    labels: {},
    annotations: {},
    ...extra,
  };
}

function containerConfig(name: string, argv: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    name,
    attempt: 0,
    image,
    argv,
    env: [{ name: 'PATH', value: '/bin' }],
    workingDir: '/',
    mounts: [],
    logPath: join(work, 'logs', `${name}-${podSeq}.log`),
    stdin: false,
    stdinOnce: false,
    tty: false,
    resources: {},
    security: {},
    labels: {},
    annotations: {},
    ...extra,
  };
}

function runtime(): RuntimeService {
  assert.ok(rt, 'runtime not started');
  return rt;
}

async function runContainer(sandboxId: string, cfg: ContainerConfig): Promise<string> {
  const id = await runtime().createContainer(sandboxId, cfg);
  await runtime().startContainer(id);
  return id;
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function exited(id: string): Promise<{ exitCode?: number; reason?: string }> {
  return waitFor(`container ${id.slice(0, 12)} to exit`, async () => {
    const s = await runtime().containerStatus(id);
    return s?.state === 'Exited' ? s : undefined;
  });
}

function collect(s: NodeJS.ReadableStream | undefined): { text(): string } {
  let text = '';
  s?.on('data', (b: Buffer) => (text += b.toString()));
  return { text: () => text };
}

async function removeSandboxes(): Promise<void> {
  if (!rt) return;
  for (const s of await rt.listPodSandboxes()) await rt.removePodSandbox(s.id);
}

describe('runc runtime', { skip }, () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kite-rt-'));
    dataDir = join(work, 'data');
    rootfs = join(work, 'rootfs');
    buildRootfs(rootfs);
    opts = {
      dataDir,
      images: { layerDirs: () => [rootfs] },
      network: { bridge: BRIDGE, podCidr: CIDR },
      cgroupParent: CGROUP_PARENT,
      nodeIP: '127.0.0.1',
      log: (m) => logs.push(m),
    };
    rt = await createRuncRuntime(opts);
  });

  after(async () => {
    try {
      await removeSandboxes();
    } finally {
      await rt?.close();
      if (dataDir) await unmountAll(dataDir);
      for (const h of await cgroupHierarchies()) {
        try {
          execFileSync('rmdir', [join(h.mountPoint, CGROUP_PARENT)], { stdio: 'ignore' });
        } catch {
          // not there
        }
      }
      try {
        execFileSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
      } catch {
        // never created
      }
      await removeIdleHostportChains();
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  test('a pod: two containers share localhost, the host and a hostPort reach it, exec, logs, port-forward, attach', async () => {
    const hostPort = await freePort();
    const sb = await runtime().runPodSandbox(sandboxConfig('web', { portMappings: [{ containerPort: 8080, hostPort, protocol: 'TCP' }] }));
    try {
      assert.equal(sb.state, 'Ready');
      assert.match(sb.ip ?? '', /^10\.88\.1\.\d+$/);
      const web = await runContainer(sb.id, containerConfig('httpd', ['httpd', '-f', '-p', '8080', '-h', '/www']));
      const client = await runContainer(
        sb.id,
        containerConfig('client', ['sh', '-c', 'until timeout 5 wget -qO- http://127.0.0.1:8080/; do sleep 0.2; done; echo oops >&2; sleep 3600']),
      );
      const clientLog = (await runtime().containerStatus(client))!.logPath;
      await waitFor('the second container to fetch from localhost:8080', async () => readFileSync(clientLog, 'utf8').includes('hello from the pod'));
      // CRI log format: "<RFC3339Nano> <stream> <F|P> <line>".
      const lines = readFileSync(clientLog, 'utf8').trim().split('\n');
      assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d stdout F hello from the pod$/);
      await waitFor('stderr line in the log', async () => /stderr F oops$/m.test(readFileSync(clientLog, 'utf8')));

      assert.equal(await waitFor('the host to reach the pod IP', () => httpGet(`http://${sb.ip}:8080/`)), 'hello from the pod\n');
      assert.equal(await waitFor('the hostPort on 127.0.0.1', () => httpGet(`http://127.0.0.1:${hostPort}/`)), 'hello from the pod\n');

      // Pod files: hostname, /etc/hosts, /etc/resolv.conf.
      const hn = await runtime().execSync(web, ['hostname'], 10_000);
      assert.equal(hn.stdout.toString().trim(), 'web');
      const hosts = await runtime().execSync(web, ['cat', '/etc/hosts', '/etc/resolv.conf'], 10_000);
      assert.match(hosts.stdout.toString(), new RegExp(`${sb.ip!.replace(/\./g, '\\.')}\\tweb`));
      assert.match(hosts.stdout.toString(), /10\.1\.2\.3\talias\.example/);
      assert.match(hosts.stdout.toString(), /nameserver 10\.96\.0\.10/);

      // execSync: output, exit code, timeout.
      const r = await runtime().execSync(web, ['sh', '-c', 'echo out; echo err >&2; exit 4'], 10_000);
      assert.deepEqual([r.exitCode, r.stdout.toString(), r.stderr.toString(), r.timedOut], [4, 'out\n', 'err\n', false]);
      const slow = await runtime().execSync(web, ['sleep', '30'], 300);
      assert.equal(slow.timedOut, true);
      assert.notEqual(slow.exitCode, 0);

      // Streaming exec without a tty: stdin to the process, stdout back, the exit code.
      const plain = await runtime().exec(web, ['sh', '-c', 'cat; echo " done"; exit 2'], { stdin: true, stdout: true, stderr: true, tty: false });
      const plainOut = collect(plain.stdout);
      plain.stdin!.end('abc');
      assert.equal(await plain.wait(), 2);
      await waitFor('exec output', async () => plainOut.text() === 'abc done\n');

      // Streaming exec with a tty: an interactive shell, resize, exit code.
      const tty: StreamSession = await runtime().exec(web, ['sh'], { stdin: true, stdout: true, stderr: false, tty: true });
      assert.equal(tty.stderr, undefined);
      const ttyOut = collect(tty.stdout);
      tty.resize(100, 40);
      tty.stdin!.write('echo $((6*7))\r');
      await waitFor('tty output', async () => ttyOut.text().includes('42'));
      tty.stdin!.write('stty size\r');
      await waitFor('the resized terminal', async () => ttyOut.text().includes('40 100'));
      tty.stdin!.write('exit 5\r');
      assert.equal(await tty.wait(), 5);
      const missing = await runtime().exec(web, ['no-such-command'], { stdin: false, stdout: true, stderr: false, tty: true });
      const missingOut = collect(missing.stdout);
      assert.notEqual(await missing.wait(), 0);
      await waitFor('the error in the terminal', async () => missingOut.text().includes('executable file not found'));

      // Port-forward: pod localhost, from the host.
      const pf = await runtime().portForward(sb.id, 8080);
      const pfOut = collect(pf);
      pf.end('GET / HTTP/1.0\r\n\r\n');
      await waitFor('a port-forwarded response', async () => pfOut.text().includes('hello from the pod'));
      pf.destroy();

      // Attach: output from now on; stdin is refused with an explanation.
      const ticker = await runContainer(sb.id, containerConfig('ticker', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']));
      const att = await runtime().attach(ticker, { stdin: true, stdout: true, stderr: true, tty: false });
      const attOut = collect(att.stdout);
      await waitFor('attached output', async () => /tick \d+\n/.test(attOut.text()));
      const stdinErr = await new Promise<Error | null | undefined>((resolve) => att.stdin!.write('x', resolve));
      assert.match(String(stdinErr), /not supported/);
      await runtime().stopContainer(ticker, 0);
      assert.equal(await att.wait(), 137);

      // Stats from the container's cgroup.
      const stats = await runtime().containerStats(web);
      assert.ok(stats);
      assert.match(stats.cpuUsageNanos, /^\d+$/);
      assert.ok(stats.memoryUsageBytes > 0 && stats.memoryWorkingSetBytes > 0);
      assert.ok((stats.pids ?? 0) >= 1);

      // Restart safety: a new runtime over the same data dir adopts the running containers.
      const before = await runtime().containerStatus(web);
      await runtime().close();
      rt = await createRuncRuntime(opts);
      const adopted = await runtime().containerStatus(web);
      assert.equal(adopted?.state, 'Running');
      assert.equal(adopted?.pid, before?.pid);
      assert.equal((await runtime().listPodSandboxes()).find((s) => s.id === sb.id)?.ip, sb.ip);
      assert.equal(await httpGet(`http://${sb.ip}:8080/`), 'hello from the pod\n');
      await runtime().stopContainer(web, 1);
      assert.equal((await runtime().containerStatus(web))?.state, 'Exited');
      await runtime().removeContainer(web);
      assert.equal(await runtime().containerStatus(web), undefined);
    } finally {
      await runtime().removePodSandbox(sb.id);
    }
    assert.equal(await runtime().podSandboxStatus(sb.id), undefined);
    await runtime().removePodSandbox(sb.id); // idempotent
  });

  test('exit codes and reasons: 3 is Error, 0 is Completed, a memory hog over its limit is OOMKilled', async () => {
    const sb = await runtime().runPodSandbox(sandboxConfig('exits'));
    try {
      const events: string[] = [];
      const off = runtime().onEvent((e) => events.push(`${e.type}:${e.containerId}`));
      const fail = await runContainer(sb.id, containerConfig('fail', ['sh', '-c', 'exit 3']));
      const ok = await runContainer(sb.id, containerConfig('ok', ['true']));
      const hog = await runContainer(sb.id, containerConfig('hog', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], { resources: { memoryLimitBytes: 32 * 1024 * 1024 } }));
      assert.deepEqual(await exited(fail).then((s) => [s.exitCode, s.reason]), [3, 'Error']);
      assert.deepEqual(await exited(ok).then((s) => [s.exitCode, s.reason]), [0, 'Completed']);
      assert.deepEqual(await exited(hog).then((s) => [s.exitCode, s.reason]), [137, 'OOMKilled']);
      await waitFor('exit events', async () => [fail, ok, hog].every((id) => events.includes(`ContainerExited:${id}`)));
      off();
      assert.equal((await runtime().listContainers({ sandboxId: sb.id })).length, 3);
    } finally {
      await runtime().removePodSandbox(sb.id);
    }
  });

  test('stop: a process handling SIGTERM exits in the grace period, one ignoring it is killed after it', async () => {
    const sb = await runtime().runPodSandbox(sandboxConfig('stopper'));
    try {
      const polite = await runContainer(sb.id, containerConfig('polite', ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo ready; while true; do sleep 0.1; done']));
      const stubborn = await runContainer(sb.id, containerConfig('stubborn', ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done']));
      for (const id of [polite, stubborn]) {
        const log = (await runtime().containerStatus(id))!.logPath;
        await waitFor('the trap to be set', async () => readFileSync(log, 'utf8').includes('ready'));
      }
      await runtime().stopContainer(polite, 30);
      assert.deepEqual(await runtime().containerStatus(polite).then((s) => [s?.state, s?.exitCode, s?.reason]), ['Exited', 0, 'Completed']);
      await runtime().stopContainer(stubborn, 1);
      assert.deepEqual(await runtime().containerStatus(stubborn).then((s) => [s?.state, s?.exitCode, s?.reason]), ['Exited', 137, 'Error']);
      await runtime().stopContainer(stubborn, 1); // idempotent
    } finally {
      await runtime().removePodSandbox(sb.id);
    }
  });

  test('shareProcessNamespace: containers see each other, the pause process is PID 1; users from the image', async () => {
    const sb = await runtime().runPodSandbox(sandboxConfig('shared', { shareProcessNamespace: true }));
    try {
      await runContainer(sb.id, containerConfig('sleeper', ['sleep', '4242']));
      const other = await runContainer(sb.id, containerConfig('other', ['sleep', '3600'], { imageUser: 'app', security: { supplementalGroups: [3000] } }));
      const ps = await waitFor('the other container in ps', async () => {
        const r = await runtime().execSync(other, ['ps', '-o', 'pid,args'], 10_000);
        const out = r.stdout.toString();
        return out.includes('sleep 4242') ? out : undefined;
      });
      assert.match(ps, /^\s*1 \S*catatonit -P/m);
      const id = await runtime().execSync(other, ['id'], 10_000);
      assert.equal(id.stdout.toString().trim(), 'uid=1000(app) gid=1000(app) groups=1000(app),2000(extra),3000');
      await runtime().stopPodSandbox(sb.id);
      assert.equal((await runtime().podSandboxStatus(sb.id))?.state, 'NotReady');
      assert.ok((await runtime().listContainers({ sandboxId: sb.id })).every((c) => c.state === 'Exited'));
    } finally {
      await runtime().removePodSandbox(sb.id);
    }
  });

  test('security context, env and volumes; hostNetwork pods use the node network', async () => {
    const vol = join(work, 'vol');
    mkdirSync(vol, { recursive: true });
    writeFileSync(join(vol, 'key'), 'v1');
    const sb = await runtime().runPodSandbox(sandboxConfig('secure'));
    const hostSb = await runtime().runPodSandbox(sandboxConfig('hostnet', { hostNetwork: true }));
    try {
      const locked = await runContainer(
        sb.id,
        containerConfig('locked', ['sleep', '3600'], {
          env: [{ name: 'PATH', value: '/bin' }, { name: 'FOO', value: 'bar baz' }],
          mounts: [{ hostPath: vol, containerPath: '/data', readOnly: true }],
          security: { readOnlyRootFilesystem: true, capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'], allowPrivilegeEscalation: false, runAsUser: 65534 },
        }),
      );
      const sh = (id: string, script: string): Promise<string> => runtime().execSync(id, ['sh', '-c', script], 10_000).then((r) => r.stdout.toString() + r.stderr.toString());
      // Exactly the given env; runc adds only HOME (from the image's passwd), as every container runtime does.
      assert.equal(await sh(locked, 'tr "\\0" "\\n" < /proc/1/environ'), 'PATH=/bin\nFOO=bar baz\nHOME=/\n');
      assert.match(await sh(locked, 'grep -E "^(CapBnd|NoNewPrivs)" /proc/1/status'), /CapBnd:\s+0000000000000400\nNoNewPrivs:\s+1/);
      assert.match(await sh(locked, 'id -u; cat /data/key; touch /data/x; touch /x'), /^65534\nv1.*Read-only file system.*Read-only file system/s);

      const priv = await runContainer(sb.id, containerConfig('priv', ['sleep', '3600'], { security: { privileged: true } }));
      // Privileged = every capability the runtime itself holds, and the host's devices.
      const ownBounding = /^CapBnd:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
      const privOut = await sh(priv, 'grep CapEff /proc/1/status; ls /dev');
      assert.match(privOut, new RegExp(`CapEff:\\s+${ownBounding}`));
      assert.match(privOut, /\bvda\b/);

      const hostStatus = await runtime().podSandboxStatus(hostSb.id);
      assert.equal(hostStatus?.ip, '127.0.0.1');
      assert.equal(hostStatus?.netnsPath, undefined);
      const onHost = await runContainer(hostSb.id, containerConfig('onhost', ['sleep', '3600']));
      const hostLinks = execFileSync('ip', ['-o', 'link']).toString().split('\n').length;
      assert.equal((await sh(onHost, 'ip -o link')).split('\n').length, hostLinks);
      assert.equal((await sh(onHost, 'hostname')).trim(), execFileSync('hostname').toString().trim());
    } finally {
      await runtime().removePodSandbox(sb.id);
      await runtime().removePodSandbox(hostSb.id);
    }
  });

  test('after removal nothing is left: no mounts, namespace files, cgroups, veths or IP reservations', async () => {
    await removeSandboxes();
    await runtime().close();
    rt = undefined;
    assert.deepEqual(await mountsUnder(dataDir), []);
    assert.deepEqual(readdirSync(join(dataDir, 'netns')), []);
    for (const h of await cgroupHierarchies()) {
      const dir = join(h.mountPoint, CGROUP_PARENT);
      const children = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
      assert.deepEqual(children, [], `cgroups left under ${dir}`);
    }
    assert.equal(execFileSync('ip', ['-o', 'link', 'show', 'master', BRIDGE]).toString().trim(), '');
    const ipam = join(dataDir, 'cni', 'ipam');
    const reserved = existsSync(ipam) ? readdirSync(ipam, { recursive: true }).map(String).filter((f) => /\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    assert.deepEqual(reserved, []);
    rt = await createRuncRuntime(opts);
  });
});

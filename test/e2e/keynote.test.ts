import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startCluster, run, waitFor, REPO, type Cluster } from '../helpers/cluster.js';
import { busyboxRootfs } from '../helpers/images.js';

// Issue 5's acceptance: the Kubernetes keynote, end to end, with real containers and the real kubectl.
// A blog ("ghost", a busybox httpd that reports its version) behind a front nginx in the same pod, config and
// certificates from a ConfigMap and a Secret, a NodePort Service, a TLS Ingress for *.example.com, scaling
// and a rolling update by editing a file while a load generator counts every failed request (there must be
// none), a canary taking its share of traffic, and service discovery from inside a pod.
// docs/walkthrough.md is the same story for users. KEYNOTE_TRANSCRIPT=<file> records the commands and their
// output, KEYNOTE_SERVER_LOG=<file> the server's log.

const KITE = process.env.KITE_BIN ?? join(REPO, 'bin', 'kite');
// Resources of this test alone, so it can run beside other agent tests on the same host.
const BRIDGE = 'kitek0';
const POD_CIDR = '10.88.11.0/24';
const CGROUP_PARENT = '/kite-test-keynote';
const SERVICE_CIDR = '10.47.0.0/16';
const CLUSTER_DNS = '10.47.0.10';
const NODE_PORT = 31380;
const HOST = 'blog.example.com';

let c: Cluster;
let work: string;
let caCert: string;
const transcript: string[] = [];
let load: { answers: Answer[]; stop(): Promise<Answer[]> } | undefined;

/** kubectl that must succeed, recorded for the walkthrough. */
async function kubectl(...args: string[]): Promise<string> {
  const r = await c.kubectl(args, { timeoutMs: 180_000 });
  transcript.push(`$ kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}\nserver log tail:\n${c.logs().slice(-4000)}`);
  return r.stdout;
}

/** `kite image build` of a busybox root filesystem plus text files and copies of host files (with their libraries). */
async function buildImage(tag: string, o: { files?: Record<string, string>; hostBinaries?: string[]; entrypoint: string[]; cmd?: string[] }): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), 'kite-keynote-build-'));
  try {
    busyboxRootfs(ctx);
    for (const [path, content] of Object.entries(o.files ?? {})) {
      const file = join(ctx, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, { mode: path.startsWith('bin/') ? 0o755 : 0o644 });
    }
    for (const bin of o.hostBinaries ?? []) {
      // The binary and every shared library ldd names, as platform notes §2 builds the node image.
      const libs = execFileSync('ldd', [bin], { encoding: 'utf8' }).match(/\/[^\s)]+/g) ?? [];
      for (const f of [bin, ...libs]) {
        mkdirSync(join(ctx, dirname(f)), { recursive: true });
        copyFileSync(f, join(ctx, f));
        chmodSync(join(ctx, f), 0o755);
      }
    }
    const args = [KITE, 'image', 'build', ctx, '-t', tag, '--data-dir', c.dataDir];
    for (const e of o.entrypoint) args.push('--entrypoint', e);
    for (const e of o.cmd ?? []) args.push('--cmd', e);
    const r = await run(process.execPath, args, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kite image build ${tag} failed (${r.code}): ${r.stderr}${r.stdout}`);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** The blog: writes its pages at start (the version, and the pod that serves it) and serves them on 2368. */
function ghostScript(version: string): string {
  return `#!/bin/sh
# ghost ${version}: a stand-in blog that reports its version and the pod serving it.
echo "ghost ${version} from $(hostname)" > /www/index.html
echo ok > /www/healthz
echo ready > /www/ready
exec httpd -f -p 2368 -h /www
`;
}

// The front proxy's configuration: TLS from the mounted Secret, everything forwarded to ghost on localhost.
const GHOST_CONF = `# ghost.conf: the front proxy of the ghost pod
user nobody nogroup;
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server {
        listen 80;
        listen 443 ssl;
        ssl_certificate /etc/ghost/tls/tls.crt;
        ssl_certificate_key /etc/ghost/tls/tls.key;
        location / {
            proxy_pass http://127.0.0.1:2368;
            proxy_set_header Host $host;
        }
    }
}
`;

function deploymentYaml(o: { name?: string; replicas: number; image: string; track?: string }): string {
  const name = o.name ?? 'ghost';
  const track = o.track ?? 'stable';
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${o.replicas}
  selector:
    matchLabels:
      app: ghost
      track: ${track}
  template:
    metadata:
      labels:
        app: ghost
        track: ${track}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: nginx
        image: ghost-proxy:v1
        args: ["-c", "/etc/nginx/ghost/ghost.conf", "-e", "stderr", "-g", "daemon off;"]
        ports:
        - containerPort: 80
        - containerPort: 443
        readinessProbe:
          httpGet:
            path: /ready
            port: 80
          periodSeconds: 1
        lifecycle:
          preStop:
            exec:
              command: ["/bin/sh", "-c", "sleep 4"]
        volumeMounts:
        - name: config
          mountPath: /etc/nginx/ghost
        - name: tls
          mountPath: /etc/ghost/tls
          readOnly: true
      - name: ghost
        image: ${o.image}
        ports:
        - containerPort: 2368
        livenessProbe:
          httpGet:
            path: /healthz
            port: 2368
          periodSeconds: 5
        lifecycle:
          preStop:
            sleep:
              seconds: 5
      volumes:
      - name: config
        configMap:
          name: nginx-ghost
      - name: tls
        secret:
          secretName: ghost-tls
`;
}

const SERVICE_YAML = `apiVersion: v1
kind: Service
metadata:
  name: ghost
spec:
  type: NodePort
  selector:
    app: ghost
  ports:
  - name: http
    port: 80
    targetPort: 80
    nodePort: ${NODE_PORT}
`;

const INGRESS_YAML = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ghost
spec:
  tls:
  - hosts: ["*.example.com"]
    secretName: example-tls
  rules:
  - host: "*.example.com"
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: ghost
            port:
              number: 80
`;

interface Answer {
  via: 'ingress' | 'nodeport';
  ok: boolean;
  body: string;
}

/** One GET on a fresh connection: through the Ingress (HTTPS, SNI blog.example.com, our CA) or the NodePort. */
function get(via: Answer['via']): Promise<Answer> {
  return new Promise((resolve) => {
    const done = (ok: boolean, body: string) => resolve({ via, ok, body });
    const onRes = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => done(res.statusCode === 200, res.statusCode === 200 ? body.trim() : `HTTP ${res.statusCode}: ${body.trim()}`));
      res.on('error', (e) => done(false, e.message));
    };
    const req =
      via === 'ingress'
        ? httpsRequest({ host: '127.0.0.1', port: c.ingress!.https, path: '/', servername: HOST, headers: { host: HOST }, ca: caCert, agent: false, timeout: 5000 }, onRes)
        : httpRequest({ host: '127.0.0.1', port: NODE_PORT, path: '/', agent: false, timeout: 5000 }, onRes);
    req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.on('error', (e) => done(false, e.message));
    req.end();
  });
}

/** A few concurrent clients sending requests, alternating Ingress and NodePort, until stopped. */
function loadGenerator(concurrency = 4): { answers: Answer[]; stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  let running = true;
  const workers = Array.from({ length: concurrency }, async (_, i) => {
    let n = i;
    while (running) {
      answers.push(await get(n++ % 2 === 0 ? 'ingress' : 'nodeport'));
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(workers);
      return answers;
    },
  };
}

function failures(answers: Answer[]): Answer[] {
  return answers.filter((a) => !a.ok);
}

async function podsOf(selector: string): Promise<Array<{ name: string; ready: boolean; deleting: boolean; image: string }>> {
  const list = JSON.parse(await c.k('get', 'pods', '-l', selector, '-o', 'json')) as {
    items: Array<{ metadata: { name: string; deletionTimestamp?: string }; spec: { containers: Array<{ name: string; image: string }> }; status?: { conditions?: Array<{ type: string; status: string }> } }>;
  };
  return list.items.map((p) => ({
    name: p.metadata.name,
    deleting: !!p.metadata.deletionTimestamp,
    ready: p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false,
    image: p.spec.containers.find((x) => x.name === 'ghost')?.image ?? '',
  }));
}

before(async () => {
  c = await startCluster({
    agent: true,
    agentArgs: ['--cni-bridge', BRIDGE, '--pod-cidr', POD_CIDR, '--cgroup-parent', CGROUP_PARENT, '--cluster-dns', CLUSTER_DNS],
    extraArgs: ['--service-cidr', SERVICE_CIDR],
  });
  work = mkdtempSync(join(tmpdir(), 'kite-keynote-'));
  await buildImage('ghost:v1', { files: { 'bin/ghost': ghostScript('v1') }, entrypoint: ['/bin/ghost'] });
  await buildImage('ghost:v2', { files: { 'bin/ghost': ghostScript('v2') }, entrypoint: ['/bin/ghost'] });
  await buildImage('ghost:v3', { files: { 'bin/ghost': ghostScript('v3') }, entrypoint: ['/bin/ghost'] });
  await buildImage('ghost-proxy:v1', { hostBinaries: ['/usr/sbin/nginx'], entrypoint: ['/usr/sbin/nginx'] });
});

after(async () => {
  await load?.stop();
  if (process.env.KEYNOTE_TRANSCRIPT) writeFileSync(process.env.KEYNOTE_TRANSCRIPT, transcript.join('\n'));
  if (process.env.KEYNOTE_SERVER_LOG && c) writeFileSync(process.env.KEYNOTE_SERVER_LOG, c.logs());
  if (work) rmSync(work, { recursive: true, force: true });
  // stop() removes the bridge and parent cgroup the agent keeps, and fails on anything else left behind
  // (the proxy's nft table included).
  await c?.stop();
});

test('config, certificates, a NodePort Service and a TLS Ingress', async () => {
  // A self-signed wildcard certificate, as a user would make one.
  mkdirSync(join(work, 'tls'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=*.example.com', '-addext', 'subjectAltName=DNS:*.example.com', '-keyout', join(work, 'tls', 'tls.key'), '-out', join(work, 'tls', 'tls.crt')], { stdio: 'ignore' });
  caCert = readFileSync(join(work, 'tls', 'tls.crt'), 'utf8');
  writeFileSync(join(work, 'ghost.conf'), GHOST_CONF);

  assert.match(await kubectl('create', 'configmap', 'nginx-ghost', `--from-file=${join(work, 'ghost.conf')}`), /configmap\/nginx-ghost created/);
  assert.match(await kubectl('create', 'secret', 'generic', 'ghost-tls', `--from-file=${join(work, 'tls')}/`), /secret\/ghost-tls created/);
  assert.match(await kubectl('create', 'secret', 'tls', 'example-tls', `--cert=${join(work, 'tls', 'tls.crt')}`, `--key=${join(work, 'tls', 'tls.key')}`), /secret\/example-tls created/);
  assert.match(await kubectl('get', 'secret', 'example-tls'), /example-tls\s+kubernetes\.io\/tls\s+2/);

  writeFileSync(join(work, 'service.yaml'), SERVICE_YAML);
  assert.match(await kubectl('apply', '-f', join(work, 'service.yaml')), /service\/ghost created/);
  // The service proxy's rules live in a table named after this node's bridge, beside any other node's "kite".
  const table = await run('nft', ['list', 'table', 'ip', `kite_${BRIDGE}`]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(await kubectl('get', 'service', 'ghost'), new RegExp(`ghost\\s+NodePort\\s+10\\.47\\.\\d+\\.\\d+\\s+<none>\\s+80:${NODE_PORT}/TCP`));

  // A second Service cannot take the same NodePort.
  writeFileSync(join(work, 'service-copy.yaml'), SERVICE_YAML.replace('name: ghost\nspec', 'name: ghost-copy\nspec'));
  const copy = await c.kubectl(['apply', '-f', join(work, 'service-copy.yaml')]);
  transcript.push(`$ kubectl apply -f service-copy.yaml\n${copy.stdout}${copy.stderr}`);
  assert.notEqual(copy.code, 0);
  assert.match(copy.stderr, new RegExp(`The Service "ghost-copy" is invalid: spec\\.ports\\[0\\]\\.nodePort: Invalid value: ${NODE_PORT}: provided port is already allocated`));

  writeFileSync(join(work, 'ingress.yaml'), INGRESS_YAML);
  assert.match(await kubectl('apply', '-f', join(work, 'ingress.yaml')), /ingress\.networking\.k8s\.io\/ghost created/);
  await waitFor('the Ingress to get an address', async () => /ghost\s+\S+\s+\*\.example\.com\s+\d+\.\d+\.\d+\.\d+/.test(await c.k('get', 'ingress', 'ghost')), 30_000, 250);
  transcript.push(`$ kubectl get ingress ghost\n${await c.k('get', 'ingress', 'ghost')}`);
});

test('a Deployment of front proxy + blog serves through the Ingress and the NodePort, scaled 1 → 5 by editing the file', async () => {
  const file = join(work, 'ghost.yaml');
  writeFileSync(file, deploymentYaml({ replicas: 1, image: 'ghost:v1' }));
  assert.match(await kubectl('apply', '-f', file), /deployment\.apps\/ghost created/);
  await kubectl('rollout', 'status', 'deployment/ghost', '--timeout=120s');

  const first = await waitFor('ghost v1 through the Ingress', async () => {
    const a = await get('ingress');
    return a.ok ? a : false;
  }, 30_000, 200);
  assert.match(first.body, /^ghost v1 from ghost-[a-z0-9]+-[a-z0-9]+$/);
  const np = await waitFor('ghost v1 through the NodePort', async () => {
    const a = await get('nodeport');
    return a.ok ? a : false;
  }, 30_000, 200);
  assert.match(np.body, /^ghost v1 from ghost-/);

  // From here on every request must succeed.
  load = loadGenerator();
  writeFileSync(file, deploymentYaml({ replicas: 5, image: 'ghost:v1' }));
  assert.match(await kubectl('apply', '-f', file), /deployment\.apps\/ghost configured/);
  await kubectl('rollout', 'status', 'deployment/ghost', '--timeout=120s');
  const out = await kubectl('get', 'deployment', 'ghost');
  assert.match(out, /ghost\s+5\/5\s+5\s+5/);
  // Every pod answers: requests reach all five.
  await waitFor('answers from all five pods', async () => new Set(load!.answers.filter((a) => a.ok).slice(-200).map((a) => a.body)).size >= 5, 30_000, 250);
  assert.deepEqual(failures(load.answers), []);
});

test('a rolling update v1 → v2 by kubectl apply: zero failed requests, answers move from v1 to v2', async () => {
  assert.ok(load, 'the load generator runs since the scale-up');
  const file = join(work, 'ghost.yaml');
  const before = load.answers.length;
  writeFileSync(file, deploymentYaml({ replicas: 5, image: 'ghost:v2' }));
  assert.match(await kubectl('apply', '-f', file), /deployment\.apps\/ghost configured/);
  await kubectl('rollout', 'status', 'deployment/ghost', '--timeout=180s');
  // The old pods leave once their preStop hooks ran: keep sending until they are gone.
  await waitFor('the v1 pods to be gone', async () => (await podsOf('app=ghost')).every((p) => p.image === 'ghost:v2' && !p.deleting), 90_000, 500);
  await waitFor('answers from v2 only', async () => {
    const recent = load!.answers.slice(-40);
    return recent.length === 40 && recent.every((a) => a.body.startsWith('ghost v2'));
  }, 30_000, 250);
  const answers = await load.stop();
  load = undefined;
  const during = answers.slice(before);
  const bad = failures(answers);
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${answers.length} requests failed`);
  assert.ok(during.some((a) => a.body.startsWith('ghost v1')), 'no v1 answer during the update');
  assert.ok(during.some((a) => a.body.startsWith('ghost v2')), 'no v2 answer after the update');
  for (const via of ['ingress', 'nodeport'] as const) assert.ok(during.filter((a) => a.via === via).length >= 20, `too few requests through the ${via}`);
  transcript.push(`# load generator: ${answers.length} requests, ${bad.length} failed, ${during.length} during the update`);
  assert.match(await kubectl('rollout', 'history', 'deployment/ghost'), /1\s+<none>\s+2\s+<none>/);
});

test('a canary Deployment sharing the app label gets a share of the traffic', async () => {
  const file = join(work, 'ghost-canary.yaml');
  writeFileSync(file, deploymentYaml({ name: 'ghost-canary', replicas: 1, image: 'ghost:v3', track: 'canary' }));
  assert.match(await kubectl('apply', '-f', file), /deployment\.apps\/ghost-canary created/);
  await kubectl('rollout', 'status', 'deployment/ghost-canary', '--timeout=120s');
  await waitFor('the canary in the Ingress and the NodePort', async () => {
    const [a, b] = await Promise.all([get('ingress'), get('nodeport')]);
    return a.body.startsWith('ghost v3') || b.body.startsWith('ghost v3');
  }, 30_000, 100);
  // Through both paths: the canary is 1 of 6 pods.
  const answers: Answer[] = [];
  for (let i = 0; i < 200; i++) answers.push(await get(i % 2 === 0 ? 'ingress' : 'nodeport'));
  assert.deepEqual(failures(answers), []);
  const canary = answers.filter((a) => a.body.startsWith('ghost v3')).length;
  transcript.push(`# canary: ${canary} of ${answers.length} answers from ghost v3`);
  assert.ok(canary >= 10 && canary <= 80, `canary got ${canary} of 200 requests (expected about 1 in 6)`);
});

test('from inside a pod: the service by DNS name, wget and nslookup', async () => {
  const page = await kubectl('exec', 'deploy/ghost', '-c', 'ghost', '--', 'timeout', '10', 'wget', '-qO-', 'http://ghost.default.svc.cluster.local');
  assert.match(page, /^ghost v[23] from ghost-/);
  // busybox nslookup asks every search domain at once and exits 1 because ghost.svc.cluster.local and
  // ghost.cluster.local do not exist (CoreDNS answers the same); the answer under default.svc.cluster.local counts.
  const r = await c.kubectl(['exec', 'deploy/ghost', '-c', 'ghost', '--', 'nslookup', 'ghost']);
  transcript.push(`$ kubectl exec deploy/ghost -c ghost -- nslookup ghost\n${r.stdout}${r.stderr}`);
  const ns = r.stdout;
  assert.match(ns, /Server:\s+10\.47\.0\.10/);
  const ip = (await c.k('get', 'service', 'ghost', '-o', 'jsonpath={.spec.clusterIP}')).trim();
  assert.match(ns, new RegExp(`Name:\\s+ghost\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${ip.replace(/\./g, '\\.')}`));
  // The front proxy serves TLS itself too, with the certificate mounted from the generic Secret.
  assert.match(await kubectl('exec', 'deploy/ghost', '-c', 'nginx', '--', 'ls', '/etc/ghost/tls', '/etc/nginx/ghost'), /tls\.crt[\s\S]*tls\.key[\s\S]*ghost\.conf/);
});

test('the last pod of the Service is replaced without a failed request: it serves through its preStop hook', async () => {
  // Only the canary is left; deleting its pod leaves no ready endpoint until the replacement is ready, so the
  // terminating pod, still serving in its preStop hook, must keep the traffic (as kube-proxy does, KEP-1669).
  await kubectl('scale', 'deployment', 'ghost', '--replicas=0');
  await waitFor('only the canary pod to be left', async () => {
    const pods = await podsOf('app=ghost');
    return pods.length === 1 && pods[0]!.ready;
  }, 60_000, 250);
  const [old] = await podsOf('app=ghost');
  const gen = loadGenerator();
  load = gen;
  await waitFor('answers from the canary', async () => gen.answers.filter((a) => a.ok).length >= 20, 10_000, 50);
  await kubectl('delete', 'pod', old!.name, '--wait=false');
  await waitFor('the replacement to serve and the old pod to be gone', async () => {
    const pods = await podsOf('app=ghost');
    return pods.length === 1 && pods[0]!.name !== old!.name && pods[0]!.ready;
  }, 60_000, 250);
  await waitFor('answers from the replacement', async () => gen.answers.slice(-8).every((a) => a.ok && !a.body.endsWith(old!.name)), 10_000, 100);
  const answers = await gen.stop();
  load = undefined;
  const bad = failures(answers);
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${answers.length} requests failed`);
  assert.ok(answers.some((a) => a.body.endsWith(old!.name)) && answers.some((a) => a.ok && !a.body.endsWith(old!.name)));
  transcript.push(`# last pod replaced: ${answers.length} requests, ${bad.length} failed`);
});

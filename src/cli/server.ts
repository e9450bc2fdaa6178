import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { openStore } from '../storage/open.js';
import { WatchCache } from '../storage/watchcache.js';
import { Compactor, parseDuration } from '../storage/compactor.js';
import { startControlPlaneThread } from './controlplanethread.js';
import { limitHeapGrowth } from './heap.js';
import { shutdown } from './shutdown.js';
import { ensurePki, adminKubeconfig } from '../apiserver/pki.js';
import { startApiServer } from '../apiserver/server.js';
import { agentUnsupportedReason, NODE_FLAG_OPTIONS, NODE_FLAGS_HELP, startNodeAgent, type NodeAgentHandle } from './agent.js';

// `kite server`: flags follow k3s' names so that users can carry their habits over.

const HELP = `Usage: kite server [flags]

  --data-dir DIR                   state, certificates and the SQLite database (default /var/lib/kite)
  --https-listen-port N            API server port (default 6443)
  --bind-address ADDR              address to listen on (default 0.0.0.0)
  --write-kubeconfig FILE          write an admin kubeconfig here (default <data-dir>/kubeconfig.yaml)
  --datastore-endpoint URL         empty: embedded SQLite; http://host:2379[,http://...]: etcd
  --disable-agent                  do not run a node agent in this process
  --service-cidr CIDR              ClusterIP range (default 10.43.0.0/16)
  --service-node-port-range A-B    NodePort range (default 30000-32767)
  --token TOKEN                    bearer token accepted as cluster admin (default: generated, in <data-dir>/server/tls/token)
  --disable-controllers a,b        do not run these controllers ("scheduler" included)
  --node-monitor-grace-period D    a node without heartbeats for this long becomes Unknown (default 40s)
  --default-unreachable-toleration-seconds N   how long pods stay on an unreachable node (default 300)
  --etcd-compaction-interval D     how often storage history is compacted, keeping at least one interval (default 5m; 0 = never)

The node agent in this process (unless --disable-agent; state in <data-dir>/agent):
${NODE_FLAGS_HELP}`;

export async function runServer(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string', default: '/var/lib/kite' },
      'https-listen-port': { type: 'string', default: '6443' },
      'bind-address': { type: 'string', default: '0.0.0.0' },
      'write-kubeconfig': { type: 'string' },
      'datastore-endpoint': { type: 'string', default: '' },
      'disable-agent': { type: 'boolean', default: false },
      'service-cidr': { type: 'string', default: '10.43.0.0/16' },
      'service-node-port-range': { type: 'string', default: '30000-32767' },
      token: { type: 'string' },
      'etcd-compaction-interval': { type: 'string', default: '5m' },
      'disable-controllers': { type: 'string', default: '' },
      'node-monitor-grace-period': { type: 'string', default: '40s' },
      'default-unreachable-toleration-seconds': { type: 'string', default: '300' },
      ...NODE_FLAG_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const started = Date.now();
  limitHeapGrowth();
  const dataDir = resolve(values['data-dir']!);
  mkdirSync(dataDir, { recursive: true });
  const port = Number(values['https-listen-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--https-listen-port must be a port number, not "${values['https-listen-port']}"`);
  const range = /^(\d+)-(\d+)$/.exec(values['service-node-port-range']!);
  if (!range || Number(range[1]) > Number(range[2])) throw new Error(`--service-node-port-range must look like 30000-32767, not "${values['service-node-port-range']}"`);

  const tolerationSeconds = Number(values['default-unreachable-toleration-seconds']);
  if (!Number.isInteger(tolerationSeconds) || tolerationSeconds < 0) throw new Error('--default-unreachable-toleration-seconds must be a whole number of seconds');
  const pki = await ensurePki(join(dataDir, 'server', 'tls'), { token: values.token });
  const compactEvery = values['etcd-compaction-interval'] === '0' ? 0 : parseDuration(values['etcd-compaction-interval']!);
  const backend = await openStore({ dataDir, datastoreEndpoint: values['datastore-endpoint'], sqlite: { compactIntervalMs: 0 } });
  const store = new WatchCache(backend);
  const compactor = new Compactor(store, compactEvery, (m) => console.error(`kite: ${m}`));
  compactor.start();
  const api = await startApiServer({
    store,
    pki,
    port,
    bindAddress: values['bind-address']!,
    serviceCidr: values['service-cidr']!,
    nodePortRange: { min: Number(range[1]), max: Number(range[2]) },
    defaultTolerationSeconds: tolerationSeconds,
  });
  const log = (m: string) => console.error(`kite: ${m}`);
  // This process's own components reach the API server through in-process connections (no TLS, no sockets).
  const inProcess = { server: api.url, caPem: pki.caCertPem, token: pki.token, connect: api.connect };
  // The controllers and the scheduler run on a thread of their own, still reaching the API only through HTTP.
  const controlPlane = startControlPlaneThread({
    config: inProcess,
    accept: api.accept,
    disabledControllers: new Set(values['disable-controllers']!.split(',').map((s) => s.trim()).filter(Boolean)),
    nodeMonitorGracePeriodMs: parseDuration(values['node-monitor-grace-period']!),
    defaultUnreachableTolerationSeconds: tolerationSeconds,
    rootCaPem: pki.caCertPem,
    log,
  });
  const kubeconfigPath = resolve(values['write-kubeconfig'] ?? join(dataDir, 'kubeconfig.yaml'));
  mkdirSync(dirname(kubeconfigPath), { recursive: true });
  writeFileSync(kubeconfigPath, adminKubeconfig(pki, api.url), { mode: 0o600 });
  console.error(`kite: API server ready at ${api.url} on ${backend.name} in ${Date.now() - started} ms`);
  console.error(`kite: use it with: kubectl --kubeconfig ${kubeconfigPath} get nodes   (or export KUBECONFIG=${kubeconfigPath})`);
  let agent: NodeAgentHandle | undefined;
  if (!values['disable-agent']) {
    const why = agentUnsupportedReason();
    if (why) console.error(`kite: warning: no node agent in this process: ${why}; pods stay Pending until an agent joins (--disable-agent silences this)`);
    else {
      try {
        agent = await startNodeAgent({
          server: inProcess,
          dataDir: join(dataDir, 'agent'),
          flags: values,
          controlPlane: true,
          log: (m) => console.error(`kite agent: ${m}`),
          progress: (m) => console.error(m),
        });
      } catch (e) {
        console.error(`kite: the node agent could not start: ${(e as Error).message}; the control plane keeps running without it`);
      }
    }
  }

  const exitCode = await new Promise<number>((resolveStop) => {
    const stop = (sig: string) => {
      console.error(`kite: ${sig} received, shutting down`);
      resolveStop(0);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // A server without its controllers would look healthy and do nothing: it exits, and its supervisor restarts it.
    void controlPlane.died.then((e) => {
      log(`the control plane stopped: ${e.message}; shutting down so that a supervisor restarts the server`);
      resolveStop(1);
    });
  });
  await shutdown(
    [
      { name: 'node agent', run: () => agent?.stop(), timeoutMs: 15_000 },
      { name: 'storage compactor', run: () => compactor.stop() },
      // Hands the leader Lease back through the API, so it goes before the API server.
      { name: 'controllers and scheduler', run: () => controlPlane.stop() },
      { name: 'API server', run: () => api.close() },
      { name: 'storage', run: () => store.close() },
    ],
    { log, exitCode },
  );
  return exitCode;
}

import { parseArgs } from 'node:util';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Taint } from 'kubernetes-types/core/v1.js';
import { configFromKubeconfig } from '../client/rest.js';
import { tryParseQuantity } from '../api/quantity.js';
import { parseDuration } from '../storage/compactor.js';
import { Simulator, DEFAULT_SIM_OPTIONS } from '../sim/simulator.js';
import { shutdown } from './shutdown.js';

// `kite sim`: simulated nodes for testing and measuring the control plane without containers.

const HELP = `Usage: kite sim --nodes N [flags]

Registers N simulated nodes with the cluster in $KUBECONFIG. They heartbeat through Leases, run the pods
bound to them at once (Running and Ready), let pods with restartPolicy Never or OnFailure succeed, and
remove deleted pods. Stopping the process stops the heartbeats; the nodes stay registered.

  --nodes N                        how many nodes (required)
  --name-prefix P                  node names are P0, P1, ... (default sim-)
  --cpu Q                          cpu capacity of each node (default 4)
  --memory Q                       memory capacity of each node (default 16Gi)
  --pods N                         pod capacity of each node (default 110)
  --ephemeral-storage Q            ephemeral-storage capacity of each node (default 100Gi)
  --extended-resources k=Q,...     extra capacity, e.g. example.com/gpu=2
  --node-labels k=v,...            extra node labels
  --register-with-taints k=v:E,... taints to register the nodes with (E: NoSchedule, PreferNoSchedule, NoExecute)
  --pod-run-seconds S              how long run-to-completion pods run before they succeed (default 1)
  --heartbeat-interval D           lease renewal period of each node (default 10s)
  --status-report-interval D       how often an unchanged node status is re-posted (default 5m)
  --max-requests N                 API requests in flight for heartbeats, and for pods (default 32)
  --kubeconfig FILE                default: $KUBECONFIG, then ~/.kube/config`;

function parseMap(text: string, flag: string, check?: (k: string, v: string) => void): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`${flag}: "${part}" is not key=value`);
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    check?.(k, v);
    out[k] = v;
  }
  return out;
}

export function parseTaints(text: string): Taint[] {
  const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(.+)$/.exec(part);
      if (!m || !effects.includes(m[3]!)) throw new Error(`--register-with-taints: "${part}" is not key[=value]:${effects.join('|')}`);
      return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3]! };
    });
}

function quantity(v: string, flag: string): string {
  if (!tryParseQuantity(v)) throw new Error(`${flag}: "${v}" is not a quantity`);
  return v;
}

function wholeNumber(v: string, flag: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be a whole number of at least ${min}, not "${v}"`);
  return n;
}

export async function runSim(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      'name-prefix': { type: 'string', default: DEFAULT_SIM_OPTIONS.namePrefix },
      cpu: { type: 'string', default: DEFAULT_SIM_OPTIONS.cpu },
      memory: { type: 'string', default: DEFAULT_SIM_OPTIONS.memory },
      pods: { type: 'string', default: String(DEFAULT_SIM_OPTIONS.pods) },
      'ephemeral-storage': { type: 'string', default: DEFAULT_SIM_OPTIONS.ephemeralStorage },
      'extended-resources': { type: 'string', default: '' },
      'node-labels': { type: 'string', default: '' },
      'register-with-taints': { type: 'string', default: '' },
      'pod-run-seconds': { type: 'string', default: String(DEFAULT_SIM_OPTIONS.podRunSeconds) },
      'heartbeat-interval': { type: 'string', default: '10s' },
      'status-report-interval': { type: 'string', default: '5m' },
      'max-requests': { type: 'string', default: String(DEFAULT_SIM_OPTIONS.maxInFlight) },
      kubeconfig: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.nodes === undefined) {
    console.error(`kite sim: --nodes is required\n\n${HELP}`);
    return 2;
  }
  const podRunSeconds = Number(values['pod-run-seconds']);
  if (!Number.isFinite(podRunSeconds) || podRunSeconds < 0) throw new Error(`--pod-run-seconds must be a number of seconds, not "${values['pod-run-seconds']}"`);
  const heartbeatIntervalMs = parseDuration(values['heartbeat-interval']!);
  if (heartbeatIntervalMs < 10) throw new Error('--heartbeat-interval must be at least 10ms');
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG?.split(':').find(Boolean) ?? join(homedir(), '.kube', 'config');

  const sim = new Simulator(configFromKubeconfig(kubeconfig), {
    nodes: wholeNumber(values.nodes, '--nodes', 1),
    namePrefix: values['name-prefix']!,
    cpu: quantity(values.cpu!, '--cpu'),
    memory: quantity(values.memory!, '--memory'),
    pods: wholeNumber(values.pods!, '--pods', 0),
    ephemeralStorage: quantity(values['ephemeral-storage']!, '--ephemeral-storage'),
    extendedResources: parseMap(values['extended-resources']!, '--extended-resources', (k, v) => void quantity(v, `--extended-resources ${k}`)),
    labels: parseMap(values['node-labels']!, '--node-labels'),
    taints: parseTaints(values['register-with-taints']!),
    podRunSeconds,
    heartbeatIntervalMs,
    statusReportIntervalMs: parseDuration(values['status-report-interval']!),
    maxInFlight: wholeNumber(values['max-requests']!, '--max-requests', 1),
    progress: (m) => console.log(`kite sim: ${m}`),
    log: (m) => console.error(`kite sim: ${m}`),
  });

  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const started = sim.start();
  const first = await Promise.race([started.then(() => undefined), stopped]);
  const signal = first ?? (await stopped);
  console.error(`kite sim: ${signal} received: heartbeats stop, the nodes stay registered`);
  await shutdown(
    [
      { name: 'simulated nodes', run: () => sim.stop() },
      { name: 'node registration', run: () => started.catch(() => undefined) },
    ],
    { log: (m) => console.error(`kite sim: ${m}`) },
  );
  return 0;
}

// Pods: the READY / STATUS / RESTARTS summary kubectl users read most, and pod templates.

import type { Container, ContainerStatus, Pod, PodTemplate } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../object.js';
import { humanDuration, parseTimestamp } from '../duration.js';
import { AGE_COLUMN, NAME_COLUMN, age, col, containerCells, labelsOrNone } from './format.js';
import type { PrintContext, PrintedRow, Printer, TableRowCondition } from './types.js';

const COMPLETED: Record<string, TableRowCondition[]> = {
  Succeeded: [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'All containers of the pod exited successfully.' }],
  Failed: [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod terminated in failure.' }],
};

function isRestartableInit(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function conditionTrue(pod: Pod, type: string): boolean {
  const c = (pod.status?.conditions ?? []).find((x) => x.type === type);
  return c?.status === 'True';
}

/** Tracks the latest `lastState.terminated.finishedAt` seen, for the "(5m ago)" suffix. */
class LastRestart {
  at: number | undefined;
  note(s: ContainerStatus): void {
    const t = parseTimestamp(s.lastState?.terminated?.finishedAt);
    if (t !== undefined && (this.at === undefined || t > this.at)) this.at = t;
  }
}

function terminatedReason(prefix: string, t: { reason?: string; signal?: number; exitCode: number }): string {
  if (t.reason) return prefix + t.reason;
  return t.signal ? `${prefix}Signal:${t.signal}` : `${prefix}ExitCode:${t.exitCode}`;
}

function podRow(o: KubeObject, ctx: PrintContext): PrintedRow {
  const pod = o as unknown as Pod;
  const spec = pod.spec;
  const status = pod.status ?? {};
  const phase = status.phase ?? '';
  let reason = status.reason || phase;
  if ((status.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  const initSpecs = new Map<string, Container>((spec?.initContainers ?? []).map((c) => [c.name, c]));
  const total = (spec?.containers ?? []).length + (spec?.initContainers ?? []).filter(isRestartableInit).length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let last = new LastRestart();
  const sidecarLast = new LastRestart();

  // Init containers run in order: stop at the first one that has not completed and report it.
  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += c.restartCount ?? 0;
    last.note(c);
    const sidecar = isRestartableInit(initSpecs.get(c.name));
    if (sidecar) {
      sidecarRestarts += c.restartCount ?? 0;
      sidecarLast.note(c);
    }
    const term = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (sidecar && c.started === true) {
      if (c.ready) ready++;
      continue;
    }
    if (term) reason = terminatedReason('Init:', term);
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${(spec?.initContainers ?? []).length}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    last = sidecarLast;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // The last container with something to say wins, so walk backwards and let earlier ones overwrite.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount ?? 0;
      last.note(c);
      const waiting = c.state?.waiting;
      const term = c.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = terminatedReason('', term);
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  if (pod.metadata?.deletionTimestamp) {
    if (status.reason === 'NodeLost') reason = 'Unknown';
    else if (phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  }

  let restartsCell = String(restarts);
  if (restarts !== 0 && last.at !== undefined) restartsCell = `${restarts} (${humanDuration(ctx.now - last.at)} ago)`;

  const podIP = status.podIPs?.[0]?.ip || status.podIP || '<none>';
  const gates = spec?.readinessGates ?? [];
  let gatesCell = '<none>';
  if (gates.length > 0) {
    const conds = status.conditions ?? [];
    const trueCount = gates.filter((g) => conds.find((c) => c.type === g.conditionType)?.status === 'True').length;
    gatesCell = `${trueCount}/${gates.length}`;
  }

  const row: PrintedRow = {
    cells: [
      pod.metadata?.name ?? '',
      `${ready}/${total}`,
      reason,
      restartsCell,
      age(pod.metadata?.creationTimestamp, ctx.now),
      podIP,
      spec?.nodeName || '<none>',
      status.nominatedNodeName || '<none>',
      gatesCell,
    ],
  };
  const conditions = COMPLETED[phase];
  if (conditions) row.conditions = conditions.map((c) => ({ ...c }));
  return row;
}

export const podPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Ready', 'string', 'Ready containers out of all containers (sidecars included).'),
    col('Status', 'string', 'Summary of the pod phase and container states.'),
    col('Restarts', 'string', 'Container restarts, with the time since the latest one.'),
    AGE_COLUMN,
    col('IP', 'string', 'First IP address allocated to the pod.', 1),
    col('Node', 'string', 'Node the pod is bound to.', 1),
    col('Nominated Node', 'string', 'Node the scheduler nominated while preempting.', 1),
    col('Readiness Gates', 'string', 'Readiness gates satisfied out of those declared.', 1),
  ],
  row: podRow,
};

export const podTemplatePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Containers', 'string', 'Container names in the template.'),
    col('Images', 'string', 'Container images in the template.'),
    col('Pod Labels', 'string', 'Labels of the templated pods.'),
  ],
  row(o) {
    const pt = o as unknown as PodTemplate;
    const [names, images] = containerCells(pt.template?.spec?.containers);
    return { cells: [pt.metadata?.name ?? '', names, images, labelsOrNone(pt.template?.metadata?.labels)] };
  },
};

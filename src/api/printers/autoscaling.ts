// HorizontalPodAutoscalers, read from either the autoscaling/v2 shape (metrics lists) or the v1 shape
// (a single CPU utilisation target), since both versions are served.

import type { MetricSpec, MetricStatus } from 'kubernetes-types/autoscaling/v2.js';
import type { KubeObject } from '../object.js';
import { AGE_COLUMN, NAME_COLUMN, age, col, int, scalar } from './format.js';
import type { Printer } from './types.js';

interface HpaView {
  name: string;
  creationTimestamp?: string;
  refKind: string;
  refName: string;
  minReplicas?: number;
  maxReplicas: number;
  currentReplicas: number;
  metrics: MetricSpec[];
  statuses: MetricStatus[];
}

type Loose = {
  metadata?: { name?: string; creationTimestamp?: string };
  spec?: {
    scaleTargetRef?: { kind?: string; name?: string };
    minReplicas?: number;
    maxReplicas?: number;
    metrics?: MetricSpec[];
    targetCPUUtilizationPercentage?: number;
  };
  status?: { currentReplicas?: number; currentMetrics?: MetricStatus[]; currentCPUUtilizationPercentage?: number };
};

function view(o: KubeObject): HpaView {
  const h = o as unknown as Loose;
  const spec = h.spec ?? {};
  const status = h.status ?? {};
  let metrics = spec.metrics ?? [];
  let statuses = status.currentMetrics ?? [];
  if (!spec.metrics && typeof spec.targetCPUUtilizationPercentage === 'number') {
    metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
  }
  if (!status.currentMetrics && typeof status.currentCPUUtilizationPercentage === 'number') {
    statuses = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }];
  }
  return {
    name: h.metadata?.name ?? '',
    creationTimestamp: h.metadata?.creationTimestamp,
    refKind: spec.scaleTargetRef?.kind ?? '',
    refName: spec.scaleTargetRef?.name ?? '',
    minReplicas: spec.minReplicas,
    maxReplicas: int(spec.maxReplicas),
    currentReplicas: int(status.currentReplicas),
    metrics,
    statuses,
  };
}

const UNKNOWN = '<unknown>';

function percent(v: number | undefined): string | undefined {
  return typeof v === 'number' ? `${v}%` : undefined;
}

function q(v: string | number | undefined): string | undefined {
  return v === undefined ? undefined : scalar(v);
}

/** One TARGETS entry; statuses are matched to specs by position, as the HPA controller writes them. */
function formatMetric(spec: MetricSpec, st: MetricStatus | undefined): string {
  switch (spec.type) {
    case 'External': {
      const target = spec.external?.target;
      if (target?.averageValue !== undefined) return `${q(st?.external?.current?.averageValue) ?? UNKNOWN}/${q(target.averageValue)} (avg)`;
      return `${q(st?.external?.current?.value) ?? UNKNOWN}/${q(target?.value) ?? ''}`;
    }
    case 'Pods':
      return `${q(st?.pods?.current?.averageValue) ?? UNKNOWN}/${q(spec.pods?.target?.averageValue) ?? ''}`;
    case 'Object': {
      const target = spec.object?.target;
      if (target?.averageValue !== undefined) return `${q(st?.object?.current?.averageValue) ?? UNKNOWN}/${q(target.averageValue)} (avg)`;
      return `${q(st?.object?.current?.value) ?? UNKNOWN}/${q(target?.value) ?? ''}`;
    }
    case 'Resource': {
      const name = spec.resource?.name ?? '';
      const target = spec.resource?.target;
      if (target?.averageValue !== undefined) return `${name}: ${q(st?.resource?.current?.averageValue) ?? UNKNOWN}/${q(target.averageValue)}`;
      return `${name}: ${percent(st?.resource?.current?.averageUtilization) ?? UNKNOWN}/${percent(target?.averageUtilization) ?? '<auto>'}`;
    }
    case 'ContainerResource': {
      const name = spec.containerResource?.name ?? '';
      const target = spec.containerResource?.target;
      if (target?.averageValue !== undefined) {
        return `${name}: ${q(st?.containerResource?.current?.averageValue) ?? UNKNOWN}/${q(target.averageValue)}`;
      }
      return `${name}: ${percent(st?.containerResource?.current?.averageUtilization) ?? UNKNOWN}/${percent(target?.averageUtilization) ?? '<auto>'}`;
    }
    default:
      return '<unknown type>';
  }
}

export function formatHpaTargets(metrics: MetricSpec[], statuses: MetricStatus[]): string {
  if (metrics.length === 0) return '<none>';
  const max = 2;
  const list = metrics.map((m, i) => formatMetric(m, statuses[i]));
  if (list.length > max) return `${list.slice(0, max).join(', ')} + ${list.length - max} more...`;
  return list.join(', ');
}

export const hpaPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Reference', 'string', 'Kind and name of the scaled object.'),
    col('Targets', 'string', 'Current and target values of each metric.'),
    col('MinPods', 'string', 'Lower bound on replicas.'),
    col('MaxPods', 'string', 'Upper bound on replicas.'),
    col('Replicas', 'string', 'Replicas the autoscaler last saw.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const h = view(o);
    return {
      cells: [
        h.name,
        `${h.refKind}/${h.refName}`,
        formatHpaTargets(h.metrics, h.statuses),
        typeof h.minReplicas === 'number' ? String(h.minReplicas) : '<unset>',
        h.maxReplicas,
        h.currentReplicas,
        age(h.creationTimestamp, ctx.now),
      ],
    };
  },
};

// Events, in both their core/v1 and events.k8s.io/v1 spellings; both print the same columns.

import type { Event as CoreEvent } from 'kubernetes-types/core/v1.js';
import type { Event as NewEvent } from 'kubernetes-types/events/v1.js';
import type { KubeObject } from '../object.js';
import { age, col } from './format.js';
import type { Printer, PrintContext, PrintedRow } from './types.js';

/** The fields the columns need, whichever API group the event came from. */
interface EventView {
  name: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
  count?: number;
  kind: string;
  objectName: string;
  fieldPath: string;
  component: string;
  host: string;
  reportingController: string;
  reportingInstance: string;
  type: string;
  reason: string;
  message: string;
}

function coreView(o: KubeObject): EventView {
  const e = o as unknown as CoreEvent;
  return {
    name: e.metadata?.name ?? '',
    firstTimestamp: e.firstTimestamp,
    lastTimestamp: e.lastTimestamp,
    eventTime: e.eventTime,
    series: e.series,
    count: e.count,
    kind: e.involvedObject?.kind ?? '',
    objectName: e.involvedObject?.name ?? '',
    fieldPath: e.involvedObject?.fieldPath ?? '',
    component: e.source?.component ?? '',
    host: e.source?.host ?? '',
    reportingController: e.reportingComponent ?? '',
    reportingInstance: e.reportingInstance ?? '',
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: e.message ?? '',
  };
}

function newView(o: KubeObject): EventView {
  const e = o as unknown as NewEvent;
  return {
    name: e.metadata?.name ?? '',
    firstTimestamp: e.deprecatedFirstTimestamp,
    lastTimestamp: e.deprecatedLastTimestamp,
    eventTime: e.eventTime,
    series: e.series,
    count: e.deprecatedCount,
    kind: e.regarding?.kind ?? '',
    objectName: e.regarding?.name ?? '',
    fieldPath: e.regarding?.fieldPath ?? '',
    component: e.deprecatedSource?.component ?? '',
    host: e.deprecatedSource?.host ?? '',
    reportingController: e.reportingController ?? '',
    reportingInstance: e.reportingInstance ?? '',
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: e.note ?? '',
  };
}

function eventRow(e: EventView, ctx: PrintContext): PrintedRow {
  const firstSeen = e.firstTimestamp ? age(e.firstTimestamp, ctx.now) : age(e.eventTime, ctx.now);
  let lastSeen = e.lastTimestamp ? age(e.lastTimestamp, ctx.now) : firstSeen;
  let count = e.count ?? 0;
  if (e.series) {
    lastSeen = age(e.series.lastObservedTime, ctx.now);
    count = e.series.count ?? 0;
  } else if (count === 0) {
    // Events written through events.k8s.io carry no count when they happened once.
    count = 1;
  }
  const object = e.objectName ? `${e.kind.toLowerCase()}/${e.objectName}` : e.kind.toLowerCase();
  const component = e.component || e.reportingController;
  const host = e.host || e.reportingInstance;
  const source = host ? `${component}, ${host}` : component;
  return { cells: [lastSeen, e.type, e.reason, object, e.fieldPath, source, e.message.trim(), firstSeen, count, e.name] };
}

const EVENT_COLUMNS = [
  col('Last Seen', 'string', 'Time since the event was last observed.'),
  col('Type', 'string', 'Normal or Warning.'),
  col('Reason', 'string', 'Short machine-readable cause.'),
  col('Object', 'string', 'Object the event is about.'),
  col('Subobject', 'string', 'Part of the object the event is about.', 1),
  col('Source', 'string', 'Component and host that reported the event.', 1),
  col('Message', 'string', 'Human-readable description.'),
  col('First Seen', 'string', 'Time since the event was first observed.', 1),
  col('Count', 'string', 'Times the event has been observed.', 1),
  col('Name', 'string', 'Name of the event object.', 1, 'name'),
];

export const coreEventPrinter: Printer = { columns: EVENT_COLUMNS, row: (o, ctx) => eventRow(coreView(o), ctx) };
export const eventsV1Printer: Printer = { columns: EVENT_COLUMNS, row: (o, ctx) => eventRow(newView(o), ctx) };

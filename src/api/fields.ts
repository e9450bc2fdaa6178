// Field selectors: the `?fieldSelector=` syntax, the fields each kind exposes to it, and the check that a
// selector names only supported fields. kubectl relies on a handful of these (A5 in shared/kubectl-compat.md):
// metadata.name for single-object watches, spec.nodeName and status.phase for drain and describe node,
// involvedObject.* for the events section of describe.

import { badRequest } from './errors.js';
import type { KubeObject } from './object.js';
import type { ResourceInfo } from './resources.js';

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
}

const OPERATORS: FieldOperator[] = ['!=', '==', '='];

/** Splits on commas not escaped by a backslash. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** The first operator occurrence splits the term: `a!=b=c` is field `a`, value `b=c` (which then fails unescaping). */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** Values may escape `\`, `,` and `=` with a backslash; bare `,` or `=` are errors. */
function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      escaped = false;
      continue;
    }
    if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') throw badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (escaped) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

/**
 * Parses `a=b,c!=d,e==f`. Values may be empty (`involvedObject.namespace=`). Throws a 400 StatusError
 * with kube-apiserver's message for malformed terms.
 */
export function parseFieldSelector(s: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(s).sort()) {
    if (term === '') continue;
    const parts = splitTerm(term);
    if (!parts) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const [field, operator, raw] = parts;
    requirements.push({ field, operator, value: unescapeValue(raw) });
  }
  return { requirements };
}

/** A missing field reads as '' so `spec.nodeName=` finds unscheduled pods. */
export function matchesFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  return sel.requirements.every((r) => {
    const v = fields[r.field] ?? '';
    return r.operator === '!=' ? v !== r.value : v === r.value;
  });
}

/** The value a selector pins `field` to (`metadata.name=x`), if it does. */
export function requiredFieldValue(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.operator !== '!=')?.value;
}

export function fieldSelectorString(sel: FieldSelector): string {
  const esc = (v: string) => v.replace(/[\\,=]/g, (c) => `\\${c}`);
  return sel.requirements.map((r) => `${r.field}${r.operator}${esc(r.value)}`).join(',');
}

// ---------------------------------------------------------------------------------------------------------
// Selectable fields per kind.

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : String(v);
}

function num(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v === 'string' && v !== '' ? v : '0';
}

type FieldsFn = (o: KubeObject) => Record<string, string>;

interface KindFields {
  /** Labels the selector may name; `metadata.*` ones included explicitly because some kinds restrict them. */
  labels: readonly string[];
  /** Label renames applied before matching (old client spellings). */
  aliases?: Readonly<Record<string, string>>;
  values?: FieldsFn;
}

function podFields(o: KubeObject): Record<string, string> {
  const spec = obj(o.spec);
  const status = obj(o.status);
  const podIPs = Array.isArray(status.podIPs) ? status.podIPs : [];
  const podIP = podIPs.length > 0 ? str(obj(podIPs[0]).ip) : str(status.podIP);
  return {
    'spec.nodeName': str(spec.nodeName),
    'spec.restartPolicy': str(spec.restartPolicy),
    'spec.schedulerName': str(spec.schedulerName),
    'spec.serviceAccountName': str(spec.serviceAccountName),
    'spec.hostNetwork': spec.hostNetwork === true ? 'true' : 'false',
    'status.phase': str(status.phase),
    'status.podIP': podIP,
    'status.nominatedNodeName': str(status.nominatedNodeName),
  };
}

function coreEventFields(o: KubeObject): Record<string, string> {
  const io = obj(o.involvedObject);
  const source = obj(o.source);
  return {
    'involvedObject.kind': str(io.kind),
    'involvedObject.namespace': str(io.namespace),
    'involvedObject.name': str(io.name),
    'involvedObject.uid': str(io.uid),
    'involvedObject.apiVersion': str(io.apiVersion),
    'involvedObject.resourceVersion': str(io.resourceVersion),
    'involvedObject.fieldPath': str(io.fieldPath),
    reason: str(o.reason),
    reportingComponent: str(o.reportingComponent),
    source: str(source.component) || str(o.reportingComponent),
    type: str(o.type),
  };
}

/** events.k8s.io/v1 objects are the same events under other field names. */
function newEventFields(o: KubeObject): Record<string, string> {
  const reg = obj(o.regarding);
  const source = obj(o.deprecatedSource);
  return {
    'involvedObject.kind': str(reg.kind),
    'involvedObject.namespace': str(reg.namespace),
    'involvedObject.name': str(reg.name),
    'involvedObject.uid': str(reg.uid),
    'involvedObject.apiVersion': str(reg.apiVersion),
    'involvedObject.resourceVersion': str(reg.resourceVersion),
    'involvedObject.fieldPath': str(reg.fieldPath),
    reason: str(o.reason),
    reportingComponent: str(o.reportingController),
    source: str(source.component) || str(o.reportingController),
    type: str(o.type),
  };
}

const META = ['metadata.name', 'metadata.namespace'] as const;
const EVENT_LABELS = [
  ...META,
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

const KINDS: Readonly<Record<string, KindFields>> = {
  '/pods': {
    labels: [...META, 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
    aliases: { 'spec.host': 'spec.nodeName' },
    values: podFields,
  },
  '/events': { labels: EVENT_LABELS, values: coreEventFields },
  'events.k8s.io/events': {
    labels: EVENT_LABELS,
    aliases: {
      'regarding.kind': 'involvedObject.kind',
      'regarding.namespace': 'involvedObject.namespace',
      'regarding.name': 'involvedObject.name',
      'regarding.uid': 'involvedObject.uid',
      'regarding.apiVersion': 'involvedObject.apiVersion',
      'regarding.resourceVersion': 'involvedObject.resourceVersion',
      'regarding.fieldPath': 'involvedObject.fieldPath',
      reportingController: 'reportingComponent',
    },
    values: newEventFields,
  },
  '/nodes': { labels: ['metadata.name', 'spec.unschedulable'], values: (o) => ({ 'spec.unschedulable': obj(o.spec).unschedulable === true ? 'true' : 'false' }) },
  '/namespaces': { labels: ['metadata.name', 'status.phase'], values: (o) => ({ 'status.phase': str(obj(o.status).phase) }) },
  '/secrets': { labels: [...META, 'type'], values: (o) => ({ type: str(o.type) }) },
  '/services': { labels: [...META, 'spec.clusterIP', 'spec.type'], values: (o) => ({ 'spec.clusterIP': str(obj(o.spec).clusterIP), 'spec.type': str(obj(o.spec).type) }) },
  '/replicationcontrollers': { labels: [...META, 'status.replicas'], values: (o) => ({ 'status.replicas': num(obj(o.status).replicas) }) },
  'apps/replicasets': { labels: [...META, 'status.replicas'], values: (o) => ({ 'status.replicas': num(obj(o.status).replicas) }) },
  'batch/jobs': { labels: [...META, 'status.successful'], values: (o) => ({ 'status.successful': num(obj(o.status).succeeded) }) },
};

const DEFAULT_KIND: KindFields = { labels: META };

function kindFields(resource: ResourceInfo): KindFields {
  return KINDS[`${resource.group}/${resource.resource}`] ?? DEFAULT_KIND;
}

/** The field labels a field selector may use for this resource. */
export function selectableFields(resource: ResourceInfo): readonly string[] {
  const k = kindFields(resource);
  return [...k.labels, ...Object.keys(k.aliases ?? {})];
}

/**
 * The selectable field values of an object. metadata.namespace is present only for namespaced kinds, so
 * `metadata.namespace=` matches cluster-scoped objects as it does on kube-apiserver.
 */
export function fieldsOf(resource: ResourceInfo, o: KubeObject): Record<string, string> {
  const base: Record<string, string> = { 'metadata.name': str(o.metadata?.name) };
  if (resource.namespaced) base['metadata.namespace'] = str(o.metadata?.namespace);
  const extra = kindFields(resource).values?.(o) ?? {};
  return { ...extra, ...base };
}

/**
 * Checks every field the selector names against what the resource supports, rewriting old spellings
 * (`spec.host`). Throws a 400 StatusError `field label not supported: <field>` otherwise.
 */
export function validateFieldSelector(resource: ResourceInfo, sel: FieldSelector): FieldSelector {
  const k = kindFields(resource);
  const requirements = sel.requirements.map((r) => {
    const field = k.aliases?.[r.field] ?? r.field;
    if (!k.labels.includes(field)) throw badRequest(`field label not supported: ${r.field}`);
    return field === r.field ? r : { ...r, field };
  });
  return { requirements };
}

/** Parse and validate in one step: what a list or watch handler needs. */
export function fieldSelectorFor(resource: ResourceInfo, s: string | undefined | null): FieldSelector {
  return s ? validateFieldSelector(resource, parseFieldSelector(s)) : { requirements: [] };
}

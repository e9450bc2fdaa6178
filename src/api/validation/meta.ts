// ObjectMeta, labels, annotations, selectors and the name rules each kind uses.

import type { StatusCause } from '../errors.js';
import { duplicate, FieldPath, forbidden, goStringSlice, GoLiteral, goQuote, invalid, required, tooLong, type BadValue } from './field.js';
import { arr, isObj, isSet, items, num, obj, sortedKeys, str, strMap, type Obj } from './json.js';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isPathSegmentName, isQualifiedName, isValidLabelValue } from './names.js';

/** A name rule: returns problems; `prefix` is true when validating generateName. */
export type NameFn = (name: string, prefix: boolean) => string[];

// generateName gets a random suffix, so a trailing dash is fine there.
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? name.slice(0, -2) + 'a' : name;
}

export const nameIsDNSSubdomain: NameFn = (n, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(n) : n);
export const nameIsDNSLabel: NameFn = (n, prefix) => isDNS1123Label(prefix ? maskTrailingDash(n) : n);
export const nameIsDNS1035Label: NameFn = (n, prefix) => isDNS1035Label(prefix ? maskTrailingDash(n) : n);
export const nameIsPathSegment: NameFn = (n) => isPathSegmentName(n);

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
export const IMMUTABLE = 'field is immutable';
export const NEGATIVE = 'must be greater than or equal to 0';

export function validateNonnegative(value: unknown, p: FieldPath): StatusCause[] {
  const n = num(value);
  return n !== undefined && n < 0 ? [invalid(p, n, NEGATIVE)] : [];
}

export function validateLabelName(key: string, p: FieldPath): StatusCause[] {
  return isQualifiedName(key).map((m) => invalid(p, key, m));
}

export function validateLabels(labels: unknown, p: FieldPath): StatusCause[] {
  const m = strMap(labels);
  const out: StatusCause[] = [];
  for (const k of sortedKeys(m)) {
    out.push(...validateLabelName(k, p));
    for (const msg of isValidLabelValue(m![k]!)) out.push(invalid(p, m![k]!, msg));
  }
  return out;
}

export function validateAnnotations(annotations: unknown, p: FieldPath): StatusCause[] {
  const m = strMap(annotations);
  const out: StatusCause[] = [];
  let size = 0;
  for (const k of sortedKeys(m)) {
    // Annotation keys are case-insensitive qualified names.
    for (const msg of isQualifiedName(k.toLowerCase())) out.push(invalid(p, k, msg));
    size += Buffer.byteLength(k) + Buffer.byteLength(m![k]!);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) out.push(tooLong(p, TOTAL_ANNOTATION_SIZE_LIMIT));
  return out;
}

export interface SelectorOptions {
  allowInvalidLabelValue?: boolean;
}

export function validateLabelSelector(sel: unknown, p: FieldPath, opts: SelectorOptions = {}): StatusCause[] {
  const s = obj(sel);
  if (!s) return [];
  const out = validateLabels(s.matchLabels, p.child('matchLabels'));
  items(s.matchExpressions).forEach((e, i) => {
    const ep = p.child('matchExpressions').index(i);
    const op = str(e.operator);
    const values = arr(e.values);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) out.push(required(ep.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) out.push(forbidden(ep.child('values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      out.push(invalid(ep.child('operator'), op, 'not a valid selector operator'));
    }
    out.push(...validateLabelName(str(e.key), ep.child('key')));
    if (!opts.allowInvalidLabelValue)
      values.forEach((v, j) => {
        for (const msg of isValidLabelValue(str(v))) out.push(invalid(ep.child('values').index(j), str(v), msg));
      });
  });
  return out;
}

/** Does a LabelSelector (matchLabels + matchExpressions) select these labels? Empty selects everything. */
export function selectorMatches(sel: unknown, labels: Record<string, string> | undefined): boolean {
  const s = obj(sel);
  if (!s) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(strMap(s.matchLabels) ?? {})) if (l[k] !== v) return false;
  for (const e of items(s.matchExpressions)) {
    const k = str(e.key);
    const values = arr(e.values).map(str);
    const has = Object.prototype.hasOwnProperty.call(l, k);
    switch (str(e.operator)) {
      case 'In':
        if (!has || !values.includes(l[k]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[k]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function selectorIsEmpty(sel: unknown): boolean {
  const s = obj(sel);
  return !s || (Object.keys(strMap(s.matchLabels) ?? {}).length === 0 && arr(s.matchExpressions).length === 0);
}

// Finalizer names without a domain prefix must be one of the built-in ones.
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export function validateFinalizerName(name: string, p: FieldPath): StatusCause[] {
  const out = isQualifiedName(name).map((m) => invalid(p, name, m));
  if (!name.includes('/') && !STANDARD_FINALIZERS.has(name)) out.push(invalid(p, name, 'name is neither a standard finalizer name nor is it fully qualified'));
  return out;
}

function validateFinalizers(finalizers: unknown, p: FieldPath): StatusCause[] {
  const list = arr(finalizers).map(str);
  const out: StatusCause[] = [];
  for (const f of list) out.push(...isQualifiedName(f).map((m) => invalid(p, f, m)));
  if (list.includes('orphan') && list.includes('foregroundDeletion'))
    out.push(invalid(p, goStringSlice(list), 'finalizer orphan and foregroundDeletion cannot be both set'));
  list.forEach((f, i) => {
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f)) out.push(invalid(p.index(i), f, 'name is neither a standard finalizer name nor is it fully qualified'));
  });
  return out;
}

function validateOwnerReferences(refs: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  let firstController = '';
  for (const r of items(refs)) {
    const apiVersion = str(r.apiVersion);
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (!version) out.push(invalid(p.child('apiVersion'), apiVersion, 'version must not be empty'));
    if (!str(r.kind)) out.push(invalid(p.child('kind'), str(r.kind), 'must not be empty'));
    if (!str(r.name)) out.push(invalid(p.child('name'), str(r.name), 'must not be empty'));
    if (!str(r.uid)) out.push(invalid(p.child('uid'), str(r.uid), 'must not be empty'));
    if (apiVersion === 'v1' && str(r.kind) === 'Event') out.push(invalid(p, new GoLiteral('v1.OwnerReference{...}'), '/v1, Kind=Event is disallowed from being an owner'));
    if (r.controller === true) {
      const cur = `${str(r.kind)}/${str(r.name)}`;
      if (firstController)
        out.push(invalid(p, new GoLiteral('[]v1.OwnerReference{...}'), `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`));
      else firstController = cur;
    }
  }
  return out;
}

function validateManagedFields(list: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  items(list).forEach((f, i) => {
    const fp = p.index(i);
    const op = str(f.operation);
    if (op !== 'Apply' && op !== 'Update') out.push(invalid(fp.child('operation'), op, 'must be `Apply` or `Update`'));
    const ft = str(f.fieldsType);
    if (ft && ft !== 'FieldsV1') out.push(invalid(fp.child('fieldsType'), ft, 'must be `FieldsV1`'));
    const manager = str(f.manager);
    if (manager.length > 128) out.push(tooLong(fp.child('manager'), 128));
    if (str(f.subresource).length > 256) out.push(tooLong(fp.child('subresource'), 256));
  });
  return out;
}

function validateCommonMeta(meta: Obj, namespaced: boolean, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const ns = str(meta.namespace);
  if (namespaced) {
    if (!ns) out.push(required(p.child('namespace')));
    else for (const msg of nameIsDNSLabel(ns, false)) out.push(invalid(p.child('namespace'), ns, msg));
  } else if (ns) {
    out.push(forbidden(p.child('namespace'), 'not allowed on this type'));
  }
  out.push(...validateNonnegative(meta.generation, p.child('generation')));
  out.push(...validateLabels(meta.labels, p.child('labels')));
  out.push(...validateAnnotations(meta.annotations, p.child('annotations')));
  out.push(...validateOwnerReferences(meta.ownerReferences, p.child('ownerReferences')));
  out.push(...validateFinalizers(meta.finalizers, p.child('finalizers')));
  out.push(...validateManagedFields(meta.managedFields, p.child('managedFields')));
  return out;
}

export interface MetaOptions {
  namespaced: boolean;
  nameFn: NameFn;
}

/** ObjectMeta on create: name (or generateName) per the kind's rule, namespace presence, labels, annotations,
 *  owner references, finalizers. Expects name generation to have happened already. */
export function validateObjectMeta(metaValue: unknown, opts: MetaOptions, p: FieldPath = FieldPath.root('metadata')): StatusCause[] {
  const meta = obj(metaValue) ?? {};
  const out: StatusCause[] = [];
  const gen = str(meta.generateName);
  if (gen) for (const msg of opts.nameFn(gen, true)) out.push(invalid(p.child('generateName'), gen, msg));
  const name = str(meta.name);
  if (!name) out.push(required(p.child('name'), 'name or generateName is required'));
  else for (const msg of opts.nameFn(name, false)) out.push(invalid(p.child('name'), name, msg));
  out.push(...validateCommonMeta(meta, opts.namespaced, p));
  return out;
}

function immutableMeta(newV: unknown, oldV: unknown, p: FieldPath): StatusCause[] {
  const a = isSet(newV) ? newV : '';
  const b = isSet(oldV) ? oldV : '';
  return a === b ? [] : [invalid(p, metaValue(newV), IMMUTABLE)];
}

function metaValue(v: unknown): BadValue {
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (!isSet(v)) return '';
  return new GoLiteral(String(v));
}

/** ObjectMeta on update: identity fields are immutable, resourceVersion must be sent, and no finalizers may
 *  be added to an object that is being deleted. */
export function validateObjectMetaUpdate(newValue: unknown, oldValue: unknown, p: FieldPath = FieldPath.root('metadata')): StatusCause[] {
  const nm = obj(newValue) ?? {};
  const om = obj(oldValue) ?? {};
  const out: StatusCause[] = [];
  if (isSet(om.deletionTimestamp)) {
    const oldF = new Set(arr(om.finalizers).map(str));
    const extra = [...new Set(arr(nm.finalizers).map(str))].filter((f) => !oldF.has(f)).sort();
    if (extra.length)
      out.push(forbidden(p.child('finalizers'), `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra).text}`));
  }
  if (!str(nm.resourceVersion)) out.push(invalid(p.child('resourceVersion'), str(nm.resourceVersion), 'must be specified for an update'));
  const ng = num(nm.generation) ?? 0;
  const og = num(om.generation) ?? 0;
  if (ng < og) out.push(invalid(p.child('generation'), ng, 'must not be decremented'));
  out.push(...immutableMeta(nm.name, om.name, p.child('name')));
  out.push(...immutableMeta(nm.namespace, om.namespace, p.child('namespace')));
  out.push(...immutableMeta(nm.uid, om.uid, p.child('uid')));
  if (isSet(nm.creationTimestamp) && isSet(om.creationTimestamp)) out.push(...immutableMeta(nm.creationTimestamp, om.creationTimestamp, p.child('creationTimestamp')));
  out.push(...immutableMeta(nm.deletionTimestamp, om.deletionTimestamp, p.child('deletionTimestamp')));
  out.push(...immutableMeta(nm.deletionGracePeriodSeconds, om.deletionGracePeriodSeconds, p.child('deletionGracePeriodSeconds')));
  out.push(...validateLabels(nm.labels, p.child('labels')));
  out.push(...validateAnnotations(nm.annotations, p.child('annotations')));
  out.push(...validateOwnerReferences(nm.ownerReferences, p.child('ownerReferences')));
  out.push(...validateFinalizers(nm.finalizers, p.child('finalizers')));
  out.push(...validateManagedFields(nm.managedFields, p.child('managedFields')));
  return out;
}

/** Only labels and annotations may be set on embedded template metadata (e.g. PVC templates). */
export function validateTemplateObjectMeta(metaValue: unknown, p: FieldPath): StatusCause[] {
  const meta = obj(metaValue) ?? {};
  const out = [...validateAnnotations(meta.annotations, p.child('annotations')), ...validateLabels(meta.labels, p.child('labels'))];
  for (const k of Object.keys(meta))
    if (k !== 'labels' && k !== 'annotations' && k !== 'creationTimestamp' && isSet(meta[k]) && meta[k] !== '') out.push(forbidden(p.child(k), 'cannot be set'));
  return out;
}

export function validateQualifiedName(v: string, p: FieldPath): StatusCause[] {
  return isQualifiedName(v).map((m) => invalid(p, v, m));
}

export function validateDNS1123Label(v: string, p: FieldPath): StatusCause[] {
  return isDNS1123Label(v).map((m) => invalid(p, v, m));
}

export function validateDNS1123Subdomain(v: string, p: FieldPath): StatusCause[] {
  return isDNS1123Subdomain(v).map((m) => invalid(p, v, m));
}

/** A uniqueness helper: reports Duplicate for the second and later occurrence of a key. */
export function duplicateTracker(): (key: string, p: FieldPath, shown?: BadValue) => StatusCause[] {
  const seen = new Set<string>();
  return (key, p, shown) => {
    if (seen.has(key)) return [duplicate(p, shown ?? key)];
    seen.add(key);
    return [];
  };
}

export function isObjectValue(v: unknown): boolean {
  return isObj(v);
}

export { goQuote };

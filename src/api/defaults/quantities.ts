// Where each kind keeps resource.Quantity values, and their normalization: JSON numbers become canonical
// strings (0.2 → "200m"), ResourceList values are rounded up to milli-units as kube-apiserver does.

import { parseQuantity, QuantityParseError, quantityString, roundUpQuantity } from '../quantity.js';
import { isObj, items, obj, type Obj } from '../validation/json.js';
import { podSpecsOf } from './podspecs.js';

/** Visits a quantity-valued property: holder[key] is the value; `resourceList` when it is a ResourceList entry. */
export type QuantityVisitor = (holder: Obj, key: string, fieldPath: string, resourceList: boolean) => void;

function list(holder: unknown, path: string, visit: QuantityVisitor): void {
  const o = obj(holder);
  if (!o) return;
  for (const k of Object.keys(o)) visit(o, k, `${path}[${k}]`, true);
}

function single(holder: Obj | undefined, key: string, path: string, visit: QuantityVisitor): void {
  if (holder && holder[key] !== undefined && holder[key] !== null) visit(holder, key, `${path}.${key}`, false);
}

function requirements(r: unknown, path: string, visit: QuantityVisitor): void {
  const o = obj(r);
  if (!o) return;
  list(o.limits, `${path}.limits`, visit);
  list(o.requests, `${path}.requests`, visit);
}

function fieldRefDivisor(ref: unknown, path: string, visit: QuantityVisitor): void {
  single(obj(ref), 'divisor', path, visit);
}

function pvcSpec(spec: unknown, path: string, visit: QuantityVisitor): void {
  const s = obj(spec);
  if (s) requirements(s.resources, `${path}.resources`, visit);
}

function podSpec(spec: Obj, path: string, visit: QuantityVisitor): void {
  for (const kind of ['containers', 'initContainers', 'ephemeralContainers'])
    items(spec[kind]).forEach((c, i) => {
      const cp = `${path}.${kind}[${i}]`;
      requirements(c.resources, `${cp}.resources`, visit);
      items(c.env).forEach((e, j) => fieldRefDivisor(obj(e.valueFrom)?.resourceFieldRef, `${cp}.env[${j}].valueFrom.resourceFieldRef`, visit));
    });
  list(spec.overhead, `${path}.overhead`, visit);
  requirements(spec.resources, `${path}.resources`, visit);
  items(spec.volumes).forEach((v, i) => {
    const vp = `${path}.volumes[${i}]`;
    single(obj(v.emptyDir), 'sizeLimit', `${vp}.emptyDir`, visit);
    items(obj(v.downwardAPI)?.items).forEach((it, j) => fieldRefDivisor(it.resourceFieldRef, `${vp}.downwardAPI.items[${j}].resourceFieldRef`, visit));
    items(obj(v.projected)?.sources).forEach((s, j) =>
      items(obj(s.downwardAPI)?.items).forEach((it, k) => fieldRefDivisor(it.resourceFieldRef, `${vp}.projected.sources[${j}].downwardAPI.items[${k}].resourceFieldRef`, visit)),
    );
    pvcSpec(obj(obj(v.ephemeral)?.volumeClaimTemplate)?.spec, `${vp}.ephemeral.volumeClaimTemplate.spec`, visit);
  });
}

function metricTargets(metrics: unknown, path: string, visit: QuantityVisitor): void {
  items(metrics).forEach((m, i) => {
    for (const src of ['resource', 'containerResource', 'pods', 'object', 'external']) {
      const s = obj(m[src]);
      if (!s) continue;
      const base = `${path}[${i}].${src}`;
      for (const holder of ['target', 'current']) {
        const t = obj(s[holder]);
        single(t, 'value', `${base}.${holder}`, visit);
        single(t, 'averageValue', `${base}.${holder}`, visit);
      }
    }
  });
}

/** Calls `visit` for every quantity the kind holds. */
export function forEachQuantity(group: string, kind: string, o: Obj, visit: QuantityVisitor): void {
  for (const { spec, path } of podSpecsOf(group, kind, o)) podSpec(spec, path, visit);
  const spec = obj(o.spec);
  const status = obj(o.status);
  switch (`${group}/${kind}`) {
    case '/PersistentVolumeClaim':
      pvcSpec(spec, 'spec', visit);
      list(status?.capacity, 'status.capacity', visit);
      list(status?.allocatedResources, 'status.allocatedResources', visit);
      break;
    case '/PersistentVolume':
      list(spec?.capacity, 'spec.capacity', visit);
      break;
    case '/Node':
      list(status?.capacity, 'status.capacity', visit);
      list(status?.allocatable, 'status.allocatable', visit);
      break;
    case '/LimitRange':
      items(spec?.limits).forEach((l, i) => {
        for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) list(l[f], `spec.limits[${i}].${f}`, visit);
      });
      break;
    case '/ResourceQuota':
      list(spec?.hard, 'spec.hard', visit);
      list(status?.hard, 'status.hard', visit);
      list(status?.used, 'status.used', visit);
      break;
    case 'apps/StatefulSet':
      items(spec?.volumeClaimTemplates).forEach((t, i) => pvcSpec(t.spec, `spec.volumeClaimTemplates[${i}].spec`, visit));
      break;
    case 'autoscaling/HorizontalPodAutoscaler':
      metricTargets(spec?.metrics, 'spec.metrics', visit);
      metricTargets(status?.currentMetrics, 'status.currentMetrics', visit);
      break;
    default:
      break;
  }
}

/** Canonicalizes every parsable quantity (ResourceList entries also rounded up to milli-units, as the
 *  API server's defaulting does); unparsable values are left for validation to report. */
export function canonicalizeQuantities(group: string, kind: string, o: Obj): void {
  forEachQuantity(group, kind, o, (holder, key, _path, resourceList) => {
    const v = holder[key];
    if (typeof v !== 'string' && typeof v !== 'number') return;
    try {
      let q = parseQuantity(v);
      if (resourceList) q = roundUpQuantity(q, -3);
      holder[key] = quantityString(q);
    } catch {
      // Left as sent; validation reports it.
    }
  });
}

export interface QuantityProblem {
  path: string;
  value: unknown;
  message: string;
}

/** The first quantity the decoder would reject (kube-apiserver answers 400 BadRequest for these, with
 *  `<Kind> in version "<v>" cannot be handled as a <Kind>: <message>`). */
export function findInvalidQuantity(group: string, kind: string, o: Obj): QuantityProblem | undefined {
  let found: QuantityProblem | undefined;
  forEachQuantity(group, kind, o, (holder, key, path) => {
    if (found) return;
    const v = holder[key];
    if (isObj(v) || Array.isArray(v) || typeof v === 'boolean') {
      found = { path, value: v, message: `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : 'object'} into Go value of type string` };
      return;
    }
    if (typeof v !== 'string' && typeof v !== 'number') return;
    try {
      parseQuantity(v);
    } catch (e) {
      found = { path, value: v, message: e instanceof QuantityParseError ? e.message : String(e) };
    }
  });
  return found;
}

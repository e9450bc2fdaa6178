// Resource names and quantities (ResourceList values) as used by containers, claims, quotas and limit ranges.

import type { StatusCause } from '../errors.js';
import { compareQuantities, parseQuantity, QuantityParseError, quantityMilliValue, quantitySign, quantityString, type Quantity } from '../quantity.js';
import { FieldPath, GoLiteral, goQuote, invalid, required } from './field.js';
import { isObj, obj, sortedKeys, type Obj } from './json.js';
import { isQualifiedName } from './names.js';

const STANDARD_CONTAINER = new Set(['cpu', 'memory', 'ephemeral-storage']);
const STANDARD = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'services',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'storage',
  'requests.storage',
  'services.nodeports',
  'services.loadbalancers',
]);
const QUOTA_STANDARD = new Set([...STANDARD].filter((r) => r !== 'storage'));
const INTEGER_RESOURCES = new Set(['pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers']);

export function isHugePageResource(name: string): boolean {
  return name.startsWith('hugepages-');
}

export function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

export function isExtendedResource(name: string): boolean {
  if (isNativeResource(name) || name.startsWith('requests.')) return false;
  return isQualifiedName('requests.' + name).length === 0;
}

export function isOvercommitAllowed(name: string): boolean {
  return isNativeResource(name) && !isHugePageResource(name);
}

function isIntegerResource(name: string): boolean {
  return INTEGER_RESOURCES.has(name) || name.startsWith('count/') || isExtendedResource(name);
}

function isStandardResourceName(name: string): boolean {
  return STANDARD.has(name) || name.startsWith('hugepages-') || name.startsWith('requests.hugepages-');
}

export function validateResourceName(name: string, p: FieldPath): StatusCause[] {
  const out = isQualifiedName(name).map((m) => invalid(p, name, m));
  if (out.length) return out;
  if (!name.includes('/') && !isStandardResourceName(name)) out.push(invalid(p, name, 'must be a standard resource type or fully qualified'));
  return out;
}

export function validateContainerResourceName(name: string, p: FieldPath): StatusCause[] {
  const out = validateResourceName(name, p);
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER.has(name) && !isHugePageResource(name)) return [...out, invalid(p, name, 'must be a standard resource for containers')];
  } else if (!isNativeResource(name) && !isExtendedResource(name)) {
    return [...out, invalid(p, name, "doesn't follow extended resource name standard")];
  }
  return out;
}

export function validateQuotaResourceName(name: string, p: FieldPath): StatusCause[] {
  const out = validateResourceName(name, p);
  if (!name.includes('/') && !QUOTA_STANDARD.has(name) && !name.startsWith('count/') && !name.startsWith('hugepages-') && !name.startsWith('requests.hugepages-'))
    out.push(invalid(p, name, 'must be a standard resource for quota'));
  return out;
}

/** A %#v-ish rendering of a resource.Quantity value struct, for the messages that print one. */
export function goQuantity(q: Quantity): GoLiteral {
  return new GoLiteral(
    `resource.Quantity{i:resource.int64Amount{value:${q.unscaled}, scale:${q.scale}}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:${goQuote(q.cached ?? '')}, Format:${goQuote(q.format)}}`,
  );
}

/** Parses a ResourceList value; reports a cause (instead of the decoder's 400) when it is not a quantity. */
export function quantityAt(v: unknown, p: FieldPath, out: StatusCause[]): Quantity | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') {
    out.push(invalid(p, v === null || v === undefined ? null : String(v), 'must be a valid resource quantity'));
    return undefined;
  }
  try {
    return parseQuantity(v);
  } catch (e) {
    out.push(invalid(p, String(v), e instanceof QuantityParseError ? e.message : 'must be a valid resource quantity'));
    return undefined;
  }
}

export function validateResourceQuantityValue(name: string, q: Quantity, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (quantitySign(q) < 0) out.push(invalid(p, quantityString(q), 'must be greater than or equal to 0'));
  if (isIntegerResource(name) && quantityMilliValue(q) % 1000n !== 0n) out.push(invalid(p, goQuantity(q), 'must be an integer'));
  return out;
}

export function validatePositiveQuantity(q: Quantity, p: FieldPath): StatusCause[] {
  return quantitySign(q) <= 0 ? [invalid(p, quantityString(q), 'must be greater than zero')] : [];
}

export function resourceList(v: unknown): Obj {
  return obj(v) ?? {};
}

/** Container (or pod overhead) resource requirements: names, quantities, requests ≤ limits, hugepages. */
export function validateResourceRequirements(value: unknown, p: FieldPath, claimNames?: Set<string>): StatusCause[] {
  const r = obj(value) ?? {};
  const out: StatusCause[] = [];
  const limPath = p.child('limits');
  const reqPath = p.child('requests');
  const limits = new Map<string, Quantity>();
  let limCPUMem = false;
  let reqCPUMem = false;
  let hugePages = false;
  const lim = resourceList(r.limits);
  for (const name of sortedKeys(lim)) {
    const fp = limPath.key(name);
    out.push(...validateContainerResourceName(name, fp));
    const q = quantityAt(lim[name], fp, out);
    if (!q) continue;
    limits.set(name, q);
    out.push(...validateResourceQuantityValue(name, q, fp));
    if (isHugePageResource(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') limCPUMem = true;
  }
  const req = resourceList(r.requests);
  for (const name of sortedKeys(req)) {
    const fp = reqPath.key(name);
    out.push(...validateContainerResourceName(name, fp));
    const q = quantityAt(req[name], fp, out);
    if (!q) continue;
    out.push(...validateResourceQuantityValue(name, q, fp));
    const l = limits.get(name);
    if (l) {
      if (compareQuantities(q, l) !== 0 && !isOvercommitAllowed(name))
        out.push(invalid(reqPath, quantityString(q), `must be equal to ${name} limit of ${quantityString(l)}`));
      else if (compareQuantities(q, l) > 0) out.push(invalid(reqPath, quantityString(q), `must be less than or equal to ${name} limit of ${quantityString(l)}`));
    } else if (!isOvercommitAllowed(name)) {
      out.push(required(limPath, 'Limit must be set for non overcommitable resources'));
    }
    if (isHugePageResource(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') reqCPUMem = true;
  }
  if (!limCPUMem && !reqCPUMem && hugePages) out.push({ reason: 'FieldValueForbidden', message: 'Forbidden: HugePages require cpu or memory', field: p.toString() });
  if (Array.isArray(r.claims)) {
    const seen = new Set<string>();
    r.claims.forEach((c, i) => {
      const name = isObj(c) && typeof c.name === 'string' ? c.name : '';
      if (!name) out.push(required(p.child('claims').index(i)));
      else if (seen.has(name)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goQuote(name)}`, field: p.child('claims').index(i).toString() });
      else {
        seen.add(name);
        if (claimNames && !claimNames.has(name)) {
          const list = [...claimNames].sort();
          out.push({
            reason: 'FieldValueNotFound',
            message: `Not found: ${goQuote(name)}: must be one of the names in pod.spec.resourceClaims` + (list.length ? `: ${list.join(', ')}` : ' which is empty'),
            field: p.child('claims').index(i).toString(),
          });
        }
      }
    });
  }
  return out;
}

export function validateStorageRequest(v: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const q = quantityAt(v, p, out);
  if (!q) return out;
  if (quantitySign(q) <= 0) return [invalid(p, quantityString(q), 'must be greater than zero')];
  return validateResourceQuantityValue('storage', q, p);
}


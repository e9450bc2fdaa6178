// autoscaling/v2 (and v1) HorizontalPodAutoscaler.

import type { StatusCause } from '../errors.js';
import { tryParseQuantity, quantitySign, quantityString } from '../quantity.js';
import { FieldPath, forbidden, invalid, notSupported, path, required } from './field.js';
import { isSet, items, num, obj, str, sub, type Obj } from './json.js';
import { nameIsDNSSubdomain, validateLabelSelector } from './meta.js';
import { isPathSegmentName } from './names.js';
import { validateContainerResourceName } from './resources.js';
import type { KindRules } from './types.js';

export function validateCrossVersionObjectReference(refValue: unknown, p: FieldPath): StatusCause[] {
  const ref = obj(refValue) ?? {};
  const out: StatusCause[] = [];
  for (const f of ['kind', 'name']) {
    const v = str(ref[f]);
    if (!v) out.push(required(p.child(f)));
    else out.push(...isPathSegmentName(v).map((m) => invalid(p.child(f), v, m)));
  }
  return out;
}

function positive(v: unknown, p: FieldPath): StatusCause[] {
  if (!isSet(v)) return [];
  const q = tryParseQuantity(v);
  if (!q) return [invalid(p, String(v), 'must be a valid resource quantity')];
  return quantitySign(q) !== 1 ? [invalid(p, quantityString(q), 'must be positive')] : [];
}

function metricTarget(t: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const type = str(t.type);
  if (!type) out.push(required(p.child('type'), 'must specify a metric target type'));
  if (type !== 'Utilization' && type !== 'Value' && type !== 'AverageValue') out.push(invalid(p.child('type'), type, 'must be either Utilization, Value, or AverageValue'));
  out.push(...positive(t.value, p.child('value')));
  out.push(...positive(t.averageValue, p.child('averageValue')));
  const au = num(t.averageUtilization);
  if (au !== undefined && au < 1) out.push(invalid(p.child('averageUtilization'), au, 'must be greater than 0'));
  return out;
}

function metricIdentifier(m: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (!str(m.name)) out.push(required(p.child('name'), 'must specify a metric name'));
  if (isSet(m.selector)) out.push(...validateLabelSelector(m.selector, p.child('selector')));
  return out;
}

const SOURCE_FIELDS: Record<string, string> = { Object: 'object', Pods: 'pods', Resource: 'resource', External: 'external', ContainerResource: 'containerResource' };

function metricSpec(m: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const type = str(m.type);
  if (!type) out.push(required(p.child('type'), 'must specify a metric source type'));
  if (!(type in SOURCE_FIELDS)) out.push(notSupported(p.child('type'), type, Object.keys(SOURCE_FIELDS).sort()));
  const present: string[] = [];
  for (const f of ['object', 'pods', 'resource', 'containerResource', 'external']) {
    const s = obj(m[f]);
    if (!s) continue;
    present.push(f);
    if (present.length > 1) continue;
    const sp = p.child(f);
    const target = sub(s, 'target');
    const tp = sp.child('target');
    if (f === 'resource' || f === 'containerResource') {
      const name = str(s.name);
      if (!name) out.push(required(sp.child('name'), 'must specify a resource name'));
      else out.push(...validateContainerResourceName(name, sp.child('name')));
      if (f === 'containerResource' && !str(s.container)) out.push(required(sp.child('container'), 'must specify a container'));
      if (!isSet(target.averageUtilization) && !isSet(target.averageValue)) out.push(required(tp.child('averageUtilization'), 'must set either a target raw value or a target utilization'));
      out.push(...metricTarget(target, tp));
      if (isSet(target.averageUtilization) && isSet(target.averageValue)) out.push(forbidden(tp.child('averageValue'), 'may not set both a target raw value and a target utilization'));
    } else if (f === 'pods') {
      out.push(...metricIdentifier(sub(s, 'metric'), sp.child('metric')));
      out.push(...metricTarget(target, tp));
      if (!isSet(target.averageValue)) out.push(required(tp.child('averageValue'), 'must specify a positive target averageValue'));
    } else if (f === 'object') {
      out.push(...validateCrossVersionObjectReference(s.describedObject, sp.child('describedObject')));
      out.push(...metricIdentifier(sub(s, 'metric'), sp.child('metric')));
      out.push(...metricTarget(target, tp));
      if (!isSet(target.value) && !isSet(target.averageValue)) out.push(required(tp.child('averageValue'), 'must set either a target value or averageValue'));
    } else {
      out.push(...metricIdentifier(sub(s, 'metric'), sp.child('metric')));
      out.push(...metricTarget(target, tp));
      if (!isSet(target.value) && !isSet(target.averageValue)) out.push(required(tp.child('value'), 'must set either a target value for metric or a per-pod target'));
      if (isSet(target.value) && isSet(target.averageValue)) out.push(forbidden(tp.child('value'), 'may not set both a target value for metric and a per-pod target'));
    }
  }
  const expected = SOURCE_FIELDS[type] ?? type.toLowerCase();
  if (!present.includes(expected)) out.push(required(p.child(expected), 'must populate information for the given metric source'));
  if (present.length !== 1) for (const f of present.filter((x) => x !== expected)) out.push(forbidden(p.child(f), 'must populate the given metric source only'));
  return out;
}

function scalingRules(rulesValue: unknown, p: FieldPath): StatusCause[] {
  const rules = obj(rulesValue);
  if (!rules) return [];
  const out: StatusCause[] = [];
  const sw = num(rules.stabilizationWindowSeconds);
  if (sw !== undefined && sw < 0) out.push(invalid(p.child('stabilizationWindowSeconds'), sw, 'must be greater than or equal to zero'));
  if (sw !== undefined && sw > 3600) out.push(invalid(p.child('stabilizationWindowSeconds'), sw, 'must be less than or equal to 3600'));
  if (isSet(rules.selectPolicy) && !['Disabled', 'Max', 'Min'].includes(str(rules.selectPolicy)))
    out.push(notSupported(p.child('selectPolicy'), str(rules.selectPolicy), ['Disabled', 'Max', 'Min']));
  const policies = items(rules.policies);
  if (policies.length === 0) out.push(required(p.child('policies'), 'must specify at least one Policy'));
  policies.forEach((pol, i) => {
    const pp = p.child('policies').index(i);
    const t = str(pol.type);
    if (t !== 'Pods' && t !== 'Percent') out.push(notSupported(pp.child('type'), t, ['Percent', 'Pods']));
    const v = num(pol.value) ?? 0;
    if (v <= 0) out.push(invalid(pp.child('value'), v, 'must be greater than zero'));
    const ps = num(pol.periodSeconds) ?? 0;
    if (ps <= 0) out.push(invalid(pp.child('periodSeconds'), ps, 'must be greater than zero'));
    if (ps > 1800) out.push(invalid(pp.child('periodSeconds'), ps, 'must be less than or equal to 1800'));
  });
  return out;
}

function hpaSpec(o: Obj): StatusCause[] {
  const spec = sub(o, 'spec');
  const p = path('spec');
  const out: StatusCause[] = [];
  const min = num(spec.minReplicas);
  const max = num(spec.maxReplicas) ?? 0;
  if (min !== undefined && min < 1) out.push(invalid(p.child('minReplicas'), min, 'must be greater than or equal to 1'));
  if (max < 1) out.push(invalid(p.child('maxReplicas'), max, 'must be greater than 0'));
  if (min !== undefined && max < min) out.push(invalid(p.child('maxReplicas'), max, 'must be greater than or equal to `minReplicas`'));
  out.push(...validateCrossVersionObjectReference(spec.scaleTargetRef, p.child('scaleTargetRef')));
  items(spec.metrics).forEach((m, i) => out.push(...metricSpec(m, p.child('metrics').index(i))));
  const b = obj(spec.behavior);
  if (b) {
    out.push(...scalingRules(b.scaleUp, p.child('behavior', 'scaleUp')));
    out.push(...scalingRules(b.scaleDown, p.child('behavior', 'scaleDown')));
  }
  const cpu = num(spec.targetCPUUtilizationPercentage);
  if (cpu !== undefined && cpu < 1) out.push(invalid(p.child('metrics').index(0).child('resource', 'target', 'averageUtilization'), cpu, 'must be greater than 0'));
  return out;
}

export const horizontalPodAutoscaler: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec: hpaSpec,
};

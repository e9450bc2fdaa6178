// apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision.

import type { StatusCause } from '../errors.js';
import { FieldPath, forbidden, goIntOrString, goLabelSelector, goStringMap, GoLiteral, invalid, notSupported, path, required } from './field.js';
import { isSet, num, obj, str, strMap, sub, type Obj } from './json.js';
import {
  IMMUTABLE,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  selectorIsEmpty,
  selectorMatches,
  validateAnnotations,
  validateLabels,
  validateLabelSelector,
  validateNonnegative,
} from './meta.js';
import { isValidPercent } from './names.js';
import { validatePodTemplateSpec } from './podspec.js';
import { semanticEqual } from './json.js';
import type { KindRules } from './types.js';

/** Template labels must be selected by the controller's selector (a missing selector selects nothing). */
export function templateMatchesSelector(selector: unknown, template: Obj, p: FieldPath): StatusCause[] {
  const labels = strMap(sub(template, 'metadata').labels);
  if (!isSet(selector)) return [invalid(p.child('metadata', 'labels'), goStringMap(labels), '`selector` does not match template `labels`')];
  if (selectorIsEmpty(selector)) return [];
  return selectorMatches(selector, labels) ? [] : [invalid(p.child('metadata', 'labels'), goStringMap(labels), '`selector` does not match template `labels`')];
}

function selectorErrors(spec: Obj, p: FieldPath, what: string): StatusCause[] {
  if (!isSet(spec.selector)) return [required(p.child('selector'))];
  const out = validateLabelSelector(spec.selector, p.child('selector'));
  if (selectorIsEmpty(spec.selector)) out.push(invalid(p.child('selector'), goLabelSelector(spec.selector), `empty selector is invalid for ${what}`));
  return out;
}

function selectorUsable(spec: Obj): boolean {
  return validateLabelSelector(spec.selector, path('x')).filter((c) => c.field?.includes('operator')).length === 0;
}

function templateForReplicaSet(spec: Obj, p: FieldPath, kind: string): StatusCause[] {
  const tp = p.child('template');
  const tmpl = obj(spec.template);
  if (!tmpl) return [required(tp)];
  const out: StatusCause[] = [];
  if (selectorUsable(spec)) out.push(...templateMatchesSelector(spec.selector, tmpl, tp));
  out.push(...validatePodTemplateSpec(tmpl, tp));
  const ps = sub(tmpl, 'spec');
  if (str(ps.restartPolicy) !== 'Always') out.push(notSupported(tp.child('spec', 'restartPolicy'), str(ps.restartPolicy), ['Always']));
  if (isSet(ps.activeDeadlineSeconds)) out.push(forbidden(tp.child('spec', 'activeDeadlineSeconds'), `activeDeadlineSeconds in ${kind} is not Supported`));
  return out;
}

function percentValue(v: unknown): number | undefined {
  if (typeof v !== 'string' || isValidPercent(v).length) return undefined;
  return Number(v.slice(0, -1));
}

function intOrPercentValue(v: unknown): number {
  const pct = percentValue(v);
  if (pct !== undefined) return pct;
  if (typeof v === 'number') return v;
  // IntOrString.IntValue() parses the string and yields 0 when it is not a number.
  const n = typeof v === 'string' ? Number.parseInt(v, 10) : NaN;
  return Number.isNaN(n) ? 0 : n;
}

export function validatePositiveIntOrPercent(v: unknown, p: FieldPath): StatusCause[] {
  if (typeof v === 'string') return isValidPercent(v).map((m) => invalid(p, goIntOrString(v), m));
  if (typeof v === 'number') return validateNonnegative(v, p);
  return [invalid(p, goIntOrString(v), "must be an integer or percentage (e.g '5%')")];
}

export function isNotMoreThan100Percent(v: unknown, p: FieldPath): StatusCause[] {
  const pct = percentValue(v);
  return pct !== undefined && pct > 100 ? [invalid(p, goIntOrString(v), 'must not be greater than 100%')] : [];
}

function deploymentStrategy(st: Obj, p: FieldPath): StatusCause[] {
  const t = str(st.type);
  if (t === 'Recreate') return isSet(st.rollingUpdate) ? [forbidden(p.child('rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'")] : [];
  if (t === 'RollingUpdate') {
    const ru = obj(st.rollingUpdate);
    if (!ru) return [required(p.child('rollingUpdate'), 'this should be defaulted and never be nil')];
    const rp = p.child('rollingUpdate');
    const out = [...validatePositiveIntOrPercent(ru.maxUnavailable ?? 0, rp.child('maxUnavailable')), ...validatePositiveIntOrPercent(ru.maxSurge ?? 0, rp.child('maxSurge'))];
    if (intOrPercentValue(ru.maxUnavailable ?? 0) === 0 && intOrPercentValue(ru.maxSurge ?? 0) === 0)
      out.push(invalid(rp.child('maxUnavailable'), goIntOrString(ru.maxUnavailable ?? 0), 'may not be 0 when `maxSurge` is 0'));
    out.push(...isNotMoreThan100Percent(ru.maxUnavailable, rp.child('maxUnavailable')));
    return out;
  }
  return [notSupported(p, new GoLiteral(`apps.DeploymentStrategy{Type:${JSON.stringify(t)}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}`), ['Recreate', 'RollingUpdate'])];
}

function selectorImmutable(n: Obj, o: Obj): StatusCause[] {
  const ns = sub(n, 'spec').selector;
  const os = sub(o, 'spec').selector;
  return semanticEqual(ns, os) ? [] : [invalid(path('spec', 'selector'), goLabelSelector(ns), IMMUTABLE)];
}

export const deployment: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const p = path('spec');
    const out = [...validateNonnegative(spec.replicas, p.child('replicas')), ...selectorErrors(spec, p, 'deployment')];
    out.push(...templateForReplicaSet(spec, p, 'Deployment'));
    out.push(...deploymentStrategy(sub(spec, 'strategy'), p.child('strategy')));
    out.push(...validateNonnegative(spec.minReadySeconds, p.child('minReadySeconds')));
    if (isSet(spec.revisionHistoryLimit)) out.push(...validateNonnegative(spec.revisionHistoryLimit, p.child('revisionHistoryLimit')));
    const pds = num(spec.progressDeadlineSeconds);
    if (pds !== undefined) {
      out.push(...validateNonnegative(pds, p.child('progressDeadlineSeconds')));
      if (pds <= (num(spec.minReadySeconds) ?? 0)) out.push(invalid(p.child('progressDeadlineSeconds'), pds, 'must be greater than minReadySeconds'));
    }
    return out;
  },
  update: selectorImmutable,
};

export const replicaSet: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const p = path('spec');
    return [
      ...validateNonnegative(spec.replicas, p.child('replicas')),
      ...validateNonnegative(spec.minReadySeconds, p.child('minReadySeconds')),
      ...selectorErrors(spec, p, 'deployment'),
      ...templateForReplicaSet(spec, p, 'ReplicaSet'),
    ];
  },
  update: selectorImmutable,
};

function retentionPolicy(v: unknown, p: FieldPath): StatusCause[] {
  const pol = obj(v);
  if (!pol) return [];
  const out: StatusCause[] = [];
  for (const f of ['whenDeleted', 'whenScaled']) {
    const s = str(pol[f]);
    if (s !== 'Retain' && s !== 'Delete') out.push(notSupported(p.child(f), s, ['Retain', 'Delete']));
  }
  return out;
}

export const statefulSet: KindRules = {
  nameFn: nameIsDNSLabel,
  spec(o) {
    const spec = sub(o, 'spec');
    const p = path('spec');
    const out: StatusCause[] = [];
    const pmp = str(spec.podManagementPolicy);
    if (!pmp) out.push(required(p.child('podManagementPolicy')));
    else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') out.push(invalid(p.child('podManagementPolicy'), pmp, "must be 'OrderedReady' or 'Parallel'"));
    const us = sub(spec, 'updateStrategy');
    const ut = str(us.type);
    const up = p.child('updateStrategy');
    if (!ut) out.push(required(up));
    else if (ut === 'OnDelete') {
      if (isSet(us.rollingUpdate)) out.push(invalid(up.child('rollingUpdate'), new GoLiteral('&apps.RollingUpdateStatefulSetStrategy{...}'), "only allowed for updateStrategy 'RollingUpdate'"));
    } else if (ut === 'RollingUpdate') {
      const ru = obj(us.rollingUpdate);
      if (ru) {
        out.push(...validateNonnegative(ru.partition, up.child('rollingUpdate', 'partition')));
        if (isSet(ru.maxUnavailable)) {
          const mp = up.child('rollingUpdate', 'maxUnavailable');
          out.push(...validatePositiveIntOrPercent(ru.maxUnavailable, mp));
          if (intOrPercentValue(ru.maxUnavailable) === 0) out.push(invalid(mp, goIntOrString(ru.maxUnavailable), 'cannot be 0'));
          out.push(...isNotMoreThan100Percent(ru.maxUnavailable, mp));
        }
      }
    } else out.push(invalid(up, new GoLiteral(`apps.StatefulSetUpdateStrategy{Type:${JSON.stringify(ut)}}`), "must be 'RollingUpdate' or 'OnDelete'"));
    out.push(...retentionPolicy(spec.persistentVolumeClaimRetentionPolicy, p.child('persistentVolumeClaimRetentionPolicy')));
    out.push(...validateNonnegative(spec.replicas, p.child('replicas')));
    out.push(...validateNonnegative(spec.minReadySeconds, p.child('minReadySeconds')));
    if (isSet(spec.ordinals)) out.push(...validateNonnegative(sub(spec, 'ordinals').start, p.child('ordinals.start')));
    if (!isSet(spec.selector)) out.push(required(p.child('selector')));
    else {
      out.push(...validateLabelSelector(spec.selector, p.child('selector')));
      if (selectorIsEmpty(spec.selector)) out.push(invalid(p.child('selector'), goLabelSelector(spec.selector), 'empty selector is invalid for statefulset'));
    }
    const tmpl = sub(spec, 'template');
    const tp = p.child('template');
    if (selectorUsable(spec)) out.push(...templateMatchesSelector(spec.selector, tmpl, tp));
    // Only template metadata is validated here; the pod spec is checked when pods are created.
    out.push(...validateLabels(sub(tmpl, 'metadata').labels, tp.child('labels')));
    out.push(...validateAnnotations(sub(tmpl, 'metadata').annotations, tp.child('annotations')));
    const ps = sub(tmpl, 'spec');
    if (str(ps.restartPolicy) !== 'Always') out.push(notSupported(tp.child('spec', 'restartPolicy'), str(ps.restartPolicy), ['Always']));
    if (isSet(ps.activeDeadlineSeconds)) out.push(forbidden(tp.child('spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in StatefulSet is not Supported'));
    return out;
  },
  update(n, o) {
    const ns = { ...sub(n, 'spec') };
    const os = sub(o, 'spec');
    for (const f of ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy']) ns[f] = os[f];
    if (semanticEqual(ns, os)) return [];
    return [
      forbidden(
        path('spec'),
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    ];
  },
};

export const daemonSet: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const p = path('spec');
    const out = validateLabelSelector(spec.selector, p.child('selector'));
    const tmpl = sub(spec, 'template');
    const tp = p.child('template');
    if (selectorUsable(spec)) {
      const labels = strMap(sub(tmpl, 'metadata').labels);
      if (!isSet(spec.selector) || !selectorMatches(spec.selector, labels))
        out.push(invalid(tp.child('metadata', 'labels'), goStringMap(labels), '`selector` does not match template `labels`'));
    }
    if (isSet(spec.selector) && selectorIsEmpty(spec.selector)) out.push(invalid(p.child('selector'), goLabelSelector(spec.selector), 'empty selector is invalid for daemonset'));
    out.push(...validatePodTemplateSpec(tmpl, tp));
    const ps = sub(tmpl, 'spec');
    if (str(ps.restartPolicy) !== 'Always') out.push(notSupported(tp.child('spec', 'restartPolicy'), str(ps.restartPolicy), ['Always']));
    if (isSet(ps.activeDeadlineSeconds)) out.push(forbidden(tp.child('spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in DaemonSet is not Supported'));
    out.push(...validateNonnegative(spec.minReadySeconds, p.child('minReadySeconds')));
    const us = sub(spec, 'updateStrategy');
    const up = p.child('updateStrategy');
    const t = str(us.type);
    if (t === 'RollingUpdate') {
      const ru = obj(us.rollingUpdate);
      if (!ru) out.push(required(up.child('rollingUpdate')));
      else {
        const rp = up.child('rollingUpdate');
        out.push(...validatePositiveIntOrPercent(ru.maxUnavailable ?? 0, rp.child('maxUnavailable')));
        out.push(...validatePositiveIntOrPercent(ru.maxSurge ?? 0, rp.child('maxSurge')));
        out.push(...isNotMoreThan100Percent(ru.maxUnavailable, rp.child('maxUnavailable')));
        out.push(...isNotMoreThan100Percent(ru.maxSurge, rp.child('maxSurge')));
        const hasU = intOrPercentValue(ru.maxUnavailable ?? 0) !== 0;
        const hasS = intOrPercentValue(ru.maxSurge ?? 0) !== 0;
        if (hasU && hasS) out.push(invalid(rp.child('maxSurge'), goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
        else if (!hasU && !hasS) out.push(required(rp.child('maxUnavailable'), 'cannot be 0 when maxSurge is 0'));
      }
    } else if (t !== 'OnDelete') {
      out.push(notSupported(up, new GoLiteral(`&apps.DaemonSetUpdateStrategy{Type:${JSON.stringify(t)}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}`), ['RollingUpdate', 'OnDelete']));
    }
    if (isSet(spec.revisionHistoryLimit)) out.push(...validateNonnegative(spec.revisionHistoryLimit, p.child('revisionHistoryLimit')));
    return out;
  },
  update: selectorImmutable,
};

export const controllerRevision: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    if (!isSet(o.data)) out.push(required(path('data'), 'data is mandatory'));
    out.push(...validateNonnegative(o.revision, path('revision')));
    return out;
  },
  update(n, o) {
    return semanticEqual(n.data, o.data) ? [] : [invalid(path('data'), new GoLiteral('runtime.RawExtension{...}'), IMMUTABLE)];
  },
};

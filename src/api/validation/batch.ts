// batch/v1: Job and CronJob.

import type { StatusCause } from '../errors.js';
import { FieldPath, goLabelSelector, goStringMap, GoLiteral, invalid, notSupported, path, required, tooMany } from './field.js';
import { arr, isSet, items, num, obj, semanticEqual, str, strMap, sub, type Obj } from './json.js';
import { IMMUTABLE, nameIsDNSSubdomain, selectorMatches, validateLabelSelector, validateNonnegative, validateQualifiedName } from './meta.js';
import { isDNS1123Label, isDNS1123Subdomain } from './names.js';
import { validatePodTemplateSpec } from './podspec.js';
import { cronScheduleError } from './cron.js';
import type { KindRules } from './types.js';

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

function hasLabel(tmplMeta: Obj, key: string, expected: string, p: FieldPath): StatusCause[] {
  const labels = strMap(tmplMeta.labels) ?? {};
  if (!(key in labels)) return [required(p.child('labels').key(key), `must be '${expected}'`)];
  if (labels[key] !== expected) return [invalid(p.child('labels').key(key), goStringMap(labels), `must be '${expected}'`)];
  return [];
}

/** When the selector was generated, the template must carry the generated labels and match it. */
function generatedSelector(o: Obj): StatusCause[] {
  const spec = sub(o, 'spec');
  if (spec.manualSelector === true || !isSet(spec.selector)) return [];
  const meta = sub(o, 'metadata');
  const uid = str(meta.uid);
  const name = str(meta.name);
  const out: StatusCause[] = [];
  if (!uid) out.push(required(path('metadata', 'uid')));
  const tm = sub(sub(spec, 'template'), 'metadata');
  const tp = path('spec', 'template', 'metadata');
  out.push(...hasLabel(tm, LEGACY_CONTROLLER_UID_LABEL, uid, tp));
  out.push(...hasLabel(tm, LEGACY_JOB_NAME_LABEL, name, tp));
  out.push(...hasLabel(tm, CONTROLLER_UID_LABEL, uid, tp));
  out.push(...hasLabel(tm, JOB_NAME_LABEL, name, tp));
  const expected = { [CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: name, [LEGACY_CONTROLLER_UID_LABEL]: uid, [LEGACY_JOB_NAME_LABEL]: name };
  if (validateLabelSelector(spec.selector, path('spec', 'selector')).length === 0 && !selectorMatches(spec.selector, expected))
    out.push(invalid(path('spec', 'selector'), goLabelSelector(spec.selector), '`selector` not auto-generated'));
  return out;
}

const POLICY_ACTIONS = ['Count', 'FailIndex', 'FailJob', 'Ignore'];

function podFailurePolicy(spec: Obj, p: FieldPath): StatusCause[] {
  const pol = sub(spec, 'podFailurePolicy');
  const rules = items(pol.rules);
  const rp = p.child('rules');
  const out: StatusCause[] = [];
  if (rules.length > 20) out.push(tooMany(rp, rules.length, 20));
  const ps = sub(sub(spec, 'template'), 'spec');
  const names = new Set([...items(ps.containers), ...items(ps.initContainers)].map((c) => str(c.name)));
  rules.forEach((rule, i) => {
    const ip = rp.index(i);
    const action = str(rule.action);
    if (!action) out.push(required(ip.child('action'), `valid values: ${JSON.stringify(POLICY_ACTIONS).replace(/,/g, ' ')}`));
    else if (action === 'FailIndex') {
      if (!isSet(spec.backoffLimitPerIndex)) out.push(invalid(ip.child('action'), action, 'requires the backoffLimitPerIndex to be set'));
    } else if (!POLICY_ACTIONS.includes(action)) out.push(notSupported(ip.child('action'), action, POLICY_ACTIONS));
    const oec = obj(rule.onExitCodes);
    const opc = arr(rule.onPodConditions);
    if (oec) {
      const ep = ip.child('onExitCodes');
      const op = str(oec.operator);
      if (!op) out.push(required(ep.child('operator'), 'valid values: ["In" "NotIn"]'));
      else if (op !== 'In' && op !== 'NotIn') out.push(notSupported(ep.child('operator'), op, ['In', 'NotIn']));
      if (isSet(oec.containerName) && !names.has(str(oec.containerName)))
        out.push(invalid(ep.child('containerName'), str(oec.containerName), 'must be one of the container or initContainer names in the pod template'));
      const values = arr(oec.values).map((v) => num(v) ?? 0);
      const vp = ep.child('values');
      if (values.length === 0) out.push(invalid(vp, new GoLiteral('[]int32(nil)'), 'at least one value is required'));
      else if (values.length > 255) out.push(tooMany(vp, values.length, 255));
      const seen = new Set<number>();
      let ordered = true;
      values.forEach((v, j) => {
        if (op === 'In' && v === 0) out.push(invalid(vp.index(j), v, 'must not be 0 for the In operator'));
        if (seen.has(v)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${v}`, field: vp.index(j).toString() });
        seen.add(v);
        if (j > 0 && values[j - 1]! > v) ordered = false;
      });
      if (!ordered) out.push(invalid(vp, new GoLiteral(`[]int32{${values.join(', ')}}`), 'must be ordered'));
    }
    items(opc).forEach((pat, j) => {
      const pp = ip.child('onPodConditions').index(j);
      out.push(...validateQualifiedName(str(pat.type), pp.child('type')));
      const st = str(pat.status);
      if (!st) out.push(required(pp.child('status'), 'valid values: ["False" "True" "Unknown"]'));
      else if (!['False', 'True', 'Unknown'].includes(st)) out.push(notSupported(pp.child('status'), st, ['False', 'True', 'Unknown']));
    });
    if (oec && opc.length > 0) out.push({ reason: 'FieldValueInvalid', message: 'Invalid value: specifying both OnExitCodes and OnPodConditions is not supported', field: ip.toString() });
    if (!oec && opc.length === 0) out.push({ reason: 'FieldValueInvalid', message: 'Invalid value: specifying one of OnExitCodes and OnPodConditions is required', field: ip.toString() });
  });
  return out;
}

/** JobSpec checks shared by Job and CronJob.spec.jobTemplate (selector handled by the callers). */
function jobSpecCommon(spec: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex']) out.push(...validateNonnegative(spec[f], p.child(f)));
  if (isSet(spec.maxFailedIndexes)) {
    out.push(...validateNonnegative(spec.maxFailedIndexes, p.child('maxFailedIndexes')));
    if (!isSet(spec.backoffLimitPerIndex)) out.push(required(p.child('backoffLimitPerIndex'), 'when maxFailedIndexes is specified'));
  }
  if (isSet(spec.managedBy)) {
    const mb = str(spec.managedBy);
    const parts = mb.split('/');
    const mp = p.child('managedBy');
    if (!mb) out.push(required(mp));
    else if (parts.length < 2 || !parts[0] || !parts.slice(1).join('/')) out.push(invalid(mp, mb, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    else {
      for (const m of isDNS1123Subdomain(parts[0]!)) out.push(invalid(mp, parts[0]!, m));
      if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(parts.slice(1).join('/')))
        out.push(invalid(mp, parts.slice(1).join('/'), "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"));
    }
    if (mb.length > 63) out.push({ reason: 'FieldValueTooLong', message: 'Too long: may not be more than 63 bytes', field: mp.toString() });
  }
  const mode = isSet(spec.completionMode) ? str(spec.completionMode) : undefined;
  if (mode !== undefined) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') out.push(notSupported(p.child('completionMode'), mode, ['NonIndexed', 'Indexed']));
    if (mode === 'Indexed') {
      if (!isSet(spec.completions)) out.push(required(p.child('completions'), 'when completion mode is Indexed'));
      const par = num(spec.parallelism);
      if (par !== undefined && par > 100000) out.push(invalid(p.child('parallelism'), par, 'must be less than or equal to 100000 when completion mode is Indexed'));
      const mfi = num(spec.maxFailedIndexes);
      const comp = num(spec.completions);
      if (mfi !== undefined && comp !== undefined && mfi > comp) out.push(invalid(p.child('maxFailedIndexes'), mfi, 'must be less than or equal to completions'));
      if (mfi !== undefined && mfi > 100000) out.push(invalid(p.child('maxFailedIndexes'), mfi, 'must be less than or equal to 100000'));
    }
  }
  if (mode === undefined || mode === 'NonIndexed') {
    if (isSet(spec.backoffLimitPerIndex)) out.push(invalid(p.child('backoffLimitPerIndex'), num(spec.backoffLimitPerIndex) ?? 0, 'requires indexed completion mode'));
    if (isSet(spec.maxFailedIndexes)) out.push(invalid(p.child('maxFailedIndexes'), num(spec.maxFailedIndexes) ?? 0, 'requires indexed completion mode'));
  }
  if (isSet(spec.podFailurePolicy)) out.push(...podFailurePolicy(spec, p.child('podFailurePolicy')));
  if (isSet(spec.successPolicy) && mode !== 'Indexed') out.push(invalid(p.child('successPolicy'), new GoLiteral('batch.SuccessPolicy{...}'), 'requires indexed completion mode'));
  if (isSet(spec.podReplacementPolicy)) {
    const prp = str(spec.podReplacementPolicy);
    if (isSet(spec.podFailurePolicy)) {
      if (prp !== 'Failed') out.push(notSupported(p.child('podReplacementPolicy'), prp, ['Failed']));
    } else if (prp !== 'Failed' && prp !== 'TerminatingOrFailed') out.push(notSupported(p.child('podReplacementPolicy'), prp, ['Failed', 'TerminatingOrFailed']));
  }
  out.push(...validatePodTemplateSpec(spec.template, p.child('template')));
  const rp = str(sub(sub(spec, 'template'), 'spec').restartPolicy);
  const rpp = p.child('template', 'spec', 'restartPolicy');
  if (rp === 'Always' || rp === '') out.push(required(rpp, 'valid values: "OnFailure", "Never"'));
  else if (rp !== 'OnFailure' && rp !== 'Never') out.push(notSupported(rpp, rp, ['OnFailure', 'Never']));
  else if (isSet(spec.podFailurePolicy) && rp !== 'Never') out.push(invalid(rpp, rp, 'only "Never" is supported when podFailurePolicy is specified'));
  return out;
}

function jobSpec(spec: Obj, p: FieldPath): StatusCause[] {
  const out = jobSpecCommon(spec, p);
  if (!isSet(spec.selector)) out.push(required(p.child('selector')));
  else out.push(...validateLabelSelector(spec.selector, p.child('selector')));
  const labels = strMap(sub(sub(spec, 'template'), 'metadata').labels);
  if (!isSet(spec.selector) || (validateLabelSelector(spec.selector, p).length === 0 && !selectorMatches(spec.selector, labels)))
    out.push(invalid(p.child('template', 'metadata', 'labels'), goStringMap(labels), '`selector` does not match template `labels`'));
  return out;
}

export const job: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const out = [...generatedSelector(o), ...jobSpec(spec, path('spec'))];
    const comp = num(spec.completions);
    if (str(spec.completionMode) === 'Indexed' && comp !== undefined && comp > 0) {
      const host = `${str(sub(o, 'metadata').name)}-${comp - 1}`;
      if (isDNS1123Label(host).length) out.push(invalid(path('metadata', 'name'), str(sub(o, 'metadata').name), `will not able to create pod with invalid DNS label: ${host}`));
    }
    return out;
  },
  update(n, o) {
    const ns = sub(n, 'spec');
    const os = sub(o, 'spec');
    const p = path('spec');
    const out: StatusCause[] = [];
    const indexed = str(ns.completionMode) === 'Indexed';
    if (!indexed && !semanticEqual(ns.completions, os.completions)) out.push(invalid(p.child('completions'), num(ns.completions) ?? null, IMMUTABLE));
    if (indexed && !semanticEqual(ns.completions, os.completions) && isSet(ns.completions) && num(ns.completions) !== num(ns.parallelism))
      out.push(invalid(p.child('completions'), num(ns.completions) ?? null, 'can only be modified in tandem with spec.parallelism'));
    if (!semanticEqual(ns.selector, os.selector)) out.push(invalid(p.child('selector'), goLabelSelector(ns.selector), IMMUTABLE));
    // A suspended job that never started may change its scheduling directives.
    const mutableScheduling = ns.suspend === true && !isSet(sub(o, 'status').startTime);
    const nt = structuredClone(sub(ns, 'template'));
    const ot = sub(os, 'template');
    if (mutableScheduling) {
      const nts = sub(nt, 'spec');
      const ots = sub(ot, 'spec');
      for (const f of ['nodeSelector', 'tolerations', 'schedulingGates']) nts[f] = ots[f];
      if (obj(nts.affinity) || obj(ots.affinity)) nts.affinity = { ...(obj(nts.affinity) ?? {}), nodeAffinity: obj(ots.affinity)?.nodeAffinity };
      nt.spec = nts;
      const ntm = { ...sub(nt, 'metadata') };
      ntm.labels = sub(ot, 'metadata').labels;
      ntm.annotations = sub(ot, 'metadata').annotations;
      nt.metadata = ntm;
    }
    if (!semanticEqual(nt, ot)) out.push(invalid(p.child('template'), new GoLiteral('core.PodTemplateSpec{...}'), IMMUTABLE));
    for (const f of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy'])
      if (!semanticEqual(ns[f], os[f])) out.push(invalid(p.child(f), typeof ns[f] === 'string' || typeof ns[f] === 'number' ? (ns[f] as string | number) : isSet(ns[f]) ? new GoLiteral('{...}') : null, IMMUTABLE));
    return out;
  },
};

const CONCURRENCY = ['Allow', 'Forbid', 'Replace'];

function cronJobSpec(o: Obj, old?: Obj): StatusCause[] {
  const spec = sub(o, 'spec');
  const p = path('spec');
  const out: StatusCause[] = [];
  const schedule = str(spec.schedule);
  if (!schedule) out.push(required(p.child('schedule')));
  else {
    const err = cronScheduleError(schedule);
    if (err) out.push(invalid(p.child('schedule'), schedule, err));
    const allowTZ = old ? str(sub(old, 'spec').schedule).includes('TZ') : false;
    if (allowTZ && schedule.includes('TZ') && isSet(spec.timeZone)) out.push(invalid(p.child('schedule'), schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
    else if (!allowTZ && schedule.includes('TZ')) out.push(invalid(p.child('schedule'), schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  }
  out.push(...validateNonnegative(spec.startingDeadlineSeconds, p.child('startingDeadlineSeconds')));
  if (!old || str(sub(old, 'spec').timeZone) !== str(spec.timeZone) || isSet(sub(old, 'spec').timeZone) !== isSet(spec.timeZone)) out.push(...timeZone(spec.timeZone, p.child('timeZone')));
  const cp = str(spec.concurrencyPolicy);
  if (!cp) out.push(required(p.child('concurrencyPolicy')));
  else if (!CONCURRENCY.includes(cp)) out.push(notSupported(p.child('concurrencyPolicy'), cp, CONCURRENCY));
  const jt = sub(spec, 'jobTemplate');
  const jp = p.child('jobTemplate');
  const js = sub(jt, 'spec');
  out.push(...jobSpecCommon(js, jp.child('spec')));
  if (isSet(js.selector)) out.push(invalid(jp.child('spec', 'selector'), goLabelSelector(js.selector), '`selector` will be auto-generated'));
  if (js.manualSelector === true) out.push(notSupported(jp.child('spec', 'manualSelector'), true, ['nil', 'false']));
  out.push(...validateNonnegative(spec.successfulJobsHistoryLimit, p.child('successfulJobsHistoryLimit')));
  out.push(...validateNonnegative(spec.failedJobsHistoryLimit, p.child('failedJobsHistoryLimit')));
  return out;
}

function timeZone(v: unknown, p: FieldPath): StatusCause[] {
  if (!isSet(v)) return [];
  const tz = str(v);
  if (!tz) return [invalid(p, tz, 'timeZone must be nil or non-empty string')];
  for (const part of tz.split('/'))
    if (part === '.' || part === '..' || part.startsWith('-') || !/^[A-Za-z.\-_0-9+]{1,14}$/.test(part)) return [invalid(p, tz, `unknown time zone ${tz}`)];
  if (tz.toLowerCase() === 'local') return [invalid(p, tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones')];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return [invalid(p, tz, `unknown time zone ${tz}`)];
  }
  return [];
}

export const cronJob: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec: (o) => cronJobSpec(o),
  createOnly(o) {
    const name = str(sub(o, 'metadata').name);
    return name.length > 52 ? [invalid(path('metadata', 'name'), name, 'must be no more than 52 characters')] : [];
  },
  specOnUpdate: (n, o) => cronJobSpec(n, o),
};

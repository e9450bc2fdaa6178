// Defaults for controllers that embed pod templates: apps/v1, batch/v1, ReplicationController, PodTemplate.

import { arr, defaultPtr, defaultStr, ensureObj, isObj, isSet, items, obj, str, strMap, type Obj } from '../validation/json.js';
import { defaultPodTemplate, defaultPVCSpec } from './pod.js';

function templates(o: Obj): Obj {
  return ensureObj(ensureObj(o, 'spec'), 'template');
}

export function defaultDeployment(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  defaultPtr(spec, 'replicas', 1);
  // Protobuf bodies always carry "strategy": {} (a non-pointer struct); an empty type means "unset".
  const st = ensureObj(spec, 'strategy');
  defaultStr(st, 'type', 'RollingUpdate');
  if (st.type === 'RollingUpdate') {
    const ru = ensureObj(st, 'rollingUpdate');
    defaultPtr(ru, 'maxUnavailable', '25%');
    defaultPtr(ru, 'maxSurge', '25%');
  }
  defaultPtr(spec, 'revisionHistoryLimit', 10);
  defaultPtr(spec, 'progressDeadlineSeconds', 600);
  defaultPodTemplate(templates(o));
}

export function defaultReplicaSet(o: Obj): void {
  defaultPtr(ensureObj(o, 'spec'), 'replicas', 1);
  defaultPodTemplate(templates(o));
}

export function defaultStatefulSet(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  defaultStr(spec, 'podManagementPolicy', 'OrderedReady');
  const us = ensureObj(spec, 'updateStrategy');
  if (!str(us.type)) {
    us.type = 'RollingUpdate';
    if (!isObj(us.rollingUpdate)) us.rollingUpdate = {};
  }
  const ru = obj(us.rollingUpdate);
  if (us.type === 'RollingUpdate' && ru) defaultPtr(ru, 'partition', 0);
  const pol = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
  defaultStr(pol, 'whenDeleted', 'Retain');
  defaultStr(pol, 'whenScaled', 'Retain');
  defaultPtr(spec, 'replicas', 1);
  defaultPtr(spec, 'revisionHistoryLimit', 10);
  for (const t of items(spec.volumeClaimTemplates)) {
    // Claim templates are whole PersistentVolumeClaims and are shown with their type and pending status.
    defaultStr(t, 'apiVersion', 'v1');
    defaultStr(t, 'kind', 'PersistentVolumeClaim');
    const meta = ensureObj(t, 'metadata');
    if (!('creationTimestamp' in meta)) meta.creationTimestamp = null;
    defaultPVCSpec(ensureObj(t, 'spec'));
    defaultStr(ensureObj(t, 'status'), 'phase', 'Pending');
  }
  defaultPodTemplate(templates(o));
}

export function defaultDaemonSet(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  const us = ensureObj(spec, 'updateStrategy');
  defaultStr(us, 'type', 'RollingUpdate');
  if (us.type === 'RollingUpdate') {
    const ru = ensureObj(us, 'rollingUpdate');
    defaultPtr(ru, 'maxUnavailable', 1);
    defaultPtr(ru, 'maxSurge', 0);
  }
  defaultPtr(spec, 'revisionHistoryLimit', 10);
  defaultPodTemplate(templates(o));
}

export function defaultJobSpec(spec: Obj): void {
  if (!isSet(spec.completions) && !isSet(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  defaultPtr(spec, 'parallelism', 1);
  if (!isSet(spec.backoffLimit)) spec.backoffLimit = isSet(spec.backoffLimitPerIndex) ? 2147483647 : 6;
  defaultPtr(spec, 'completionMode', 'NonIndexed');
  defaultPtr(spec, 'suspend', false);
  const pfp = obj(spec.podFailurePolicy);
  for (const rule of items(pfp?.rules)) for (const pat of items(rule.onPodConditions)) defaultStr(pat, 'status', 'True');
  defaultPtr(spec, 'podReplacementPolicy', pfp ? 'Failed' : 'TerminatingOrFailed');
}

export function defaultJob(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  defaultJobSpec(spec);
  const tmpl = templates(o);
  const meta = ensureObj(o, 'metadata');
  const tl = strMap(obj(tmpl.metadata)?.labels);
  if (tl && Object.keys(strMap(meta.labels) ?? {}).length === 0) meta.labels = { ...tl };
  defaultPodTemplate(tmpl);
}

export function defaultCronJob(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  defaultStr(spec, 'concurrencyPolicy', 'Allow');
  defaultPtr(spec, 'suspend', false);
  defaultPtr(spec, 'successfulJobsHistoryLimit', 3);
  defaultPtr(spec, 'failedJobsHistoryLimit', 1);
  const jt = ensureObj(spec, 'jobTemplate');
  const jm = ensureObj(jt, 'metadata');
  if (!('creationTimestamp' in jm)) jm.creationTimestamp = null;
  defaultPodTemplate(ensureObj(ensureObj(jt, 'spec'), 'template'));
}

export function defaultReplicationController(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  const tmpl = obj(spec.template);
  const labels = strMap(obj(tmpl?.metadata)?.labels);
  if (labels) {
    if (Object.keys(strMap(spec.selector) ?? {}).length === 0) spec.selector = { ...labels };
    const meta = ensureObj(o, 'metadata');
    if (Object.keys(strMap(meta.labels) ?? {}).length === 0) meta.labels = { ...labels };
  }
  defaultPtr(spec, 'replicas', 1);
  if (tmpl) defaultPodTemplate(tmpl);
}

export function defaultPodTemplateObject(o: Obj): void {
  defaultPodTemplate(ensureObj(o, 'template'));
}

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

/** The Job strategy's selector generation, run after the UID is assigned: unless spec.manualSelector is
 *  true, label the template with the job's name and UID (both legacy and batch.kubernetes.io/ keys, keeping
 *  labels the user set) and select on batch.kubernetes.io/controller-uid. */
export function setJobSelector(job: Obj): void {
  const spec = ensureObj(job, 'spec');
  if (spec.manualSelector === true) return;
  const meta = obj(job.metadata) ?? {};
  const name = str(meta.name);
  const uid = str(meta.uid);
  const tmeta = ensureObj(ensureObj(spec, 'template'), 'metadata');
  const labels = ensureObj(tmeta, 'labels');
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(k in labels)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(k in labels)) labels[k] = uid;
  const sel = ensureObj(spec, 'selector');
  const ml = ensureObj(sel, 'matchLabels');
  if (!(CONTROLLER_UID_LABEL in ml)) ml[CONTROLLER_UID_LABEL] = uid;
  if (arr(sel.matchExpressions).length === 0) delete sel.matchExpressions;
  // Reads of a stored Job re-run defaulting, which copies the (now generated) template labels onto a Job
  // that has none; doing it here makes the stored object look the way kube-apiserver serves it.
  if (Object.keys(strMap(meta.labels) ?? {}).length === 0 && isObj(job.metadata)) job.metadata.labels = { ...labels };
}

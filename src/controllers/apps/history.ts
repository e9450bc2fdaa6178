import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { resource } from '../../client/rest.js';
import { stableStringify } from './podutil.js';

// ControllerRevisions: the immutable snapshots of a DaemonSet's or StatefulSet's pod template that make
// rolling updates and `kubectl rollout history|undo` possible. The data is the patch that would restore
// the template: {"spec":{"template":{..., "$patch":"replace"}}}.

export const CONTROLLER_REVISIONS = resource('apps', 'v1', 'controllerrevisions');
export const REVISION_HASH_LABEL = 'controller-revision-hash';

export function asRevision(o: KubeObject): ControllerRevision {
  return o as unknown as ControllerRevision;
}

export interface TemplatePatch {
  spec: { template: Record<string, unknown> };
}

export function templatePatch(template: PodTemplateSpec | undefined): TemplatePatch {
  return { spec: { template: { ...(structuredClone(template ?? {}) as Record<string, unknown>), $patch: 'replace' } } };
}

/** The template a revision restores. */
export function templateOf(rev: ControllerRevision): PodTemplateSpec {
  const data = rev.data as TemplatePatch | undefined;
  const t = { ...(data?.spec?.template ?? {}) };
  delete t.$patch;
  return t as PodTemplateSpec;
}

export function sameData(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

/** Oldest first: by revision number, then name. */
export function sortRevisions(revs: ControllerRevision[]): ControllerRevision[] {
  return [...revs].sort((a, b) => a.revision - b.revision || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

export function maxRevision(revs: ControllerRevision[]): number {
  return revs.reduce((m, r) => Math.max(m, r.revision ?? 0), 0);
}

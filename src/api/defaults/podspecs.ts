// Where each kind embeds pod specs and pod templates.

import { obj, type Obj } from '../validation/json.js';

export interface PodSpecLocation {
  spec: Obj;
  path: string;
}

/** The template objects (PodTemplateSpec) a kind embeds, with their field paths. */
export function podTemplatesOf(group: string, kind: string, o: Obj): { template: Obj; path: string }[] {
  const spec = obj(o.spec);
  switch (`${group}/${kind}`) {
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet':
    case 'batch/Job':
    case '/ReplicationController': {
      const t = obj(spec?.template);
      return t ? [{ template: t, path: 'spec.template' }] : [];
    }
    case 'batch/CronJob': {
      const t = obj(obj(obj(spec?.jobTemplate)?.spec)?.template);
      return t ? [{ template: t, path: 'spec.jobTemplate.spec.template' }] : [];
    }
    case '/PodTemplate': {
      const t = obj(o.template);
      return t ? [{ template: t, path: 'template' }] : [];
    }
    default:
      return [];
  }
}

/** Every pod spec in the object: a Pod's own spec or its templates' specs. */
export function podSpecsOf(group: string, kind: string, o: Obj): PodSpecLocation[] {
  if (group === '' && kind === 'Pod') {
    const s = obj(o.spec);
    return s ? [{ spec: s, path: 'spec' }] : [];
  }
  return podTemplatesOf(group, kind, o).flatMap(({ template, path }) => {
    const s = obj(template.spec);
    return s ? [{ spec: s, path: `${path}.spec` }] : [];
  });
}

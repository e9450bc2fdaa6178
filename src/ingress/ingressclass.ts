import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { resource, type RestClient } from '../client/rest.js';

// Which Ingresses are kite's: those whose IngressClass names kite's controller, and those without a class
// when a class of kite's is the cluster default (the admission step that fills in the default class is not
// something every client went through, e.g. objects created before the class existed).

export const CONTROLLER_NAME = 'kite.io/ingress';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export const ingressClasses = resource('networking.k8s.io', 'v1', 'ingressclasses');

function isDefault(cls: KubeObject): boolean {
  return cls.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
}

function controllerOf(cls: KubeObject): string | undefined {
  return (cls.spec as { controller?: string } | undefined)?.controller;
}

/**
 * Create IngressClass `name` for kite's controller if it is missing, marked as the default class unless
 * another class already is. An existing class is left as its owner configured it.
 */
export async function ensureIngressClass(client: RestClient, name: string, log: (m: string) => void): Promise<void> {
  const existing = await client.list(ingressClasses);
  const mine = existing.items.find((c) => c.metadata.name === name);
  if (mine) {
    if (controllerOf(mine) !== CONTROLLER_NAME) log(`IngressClass ${name} exists with controller ${controllerOf(mine)}, not ${CONTROLLER_NAME}; Ingresses of that class are not served by kite`);
    return;
  }
  const otherDefault = existing.items.find(isDefault);
  const cls: KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, ...(otherDefault ? {} : { annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } }) },
    spec: { controller: CONTROLLER_NAME },
  };
  try {
    await client.create(ingressClasses, undefined, cls);
    log(`created IngressClass ${name}${otherDefault ? ` (not default: ${otherDefault.metadata.name} already is)` : ' as the default class'}`);
  } catch (e) {
    // Another node's controller made it first.
    if (!(e instanceof StatusError && e.code === 409)) throw e;
  }
}

/** Decides whether an Ingress is served, from the current IngressClasses. */
export class ClassFilter {
  private mine = new Set<string>();
  private defaultIsMine = false;

  /** Recompute from the IngressClass cache; returns true when the answer may have changed. */
  update(classes: KubeObject[]): boolean {
    const mine = new Set(classes.filter((c) => controllerOf(c) === CONTROLLER_NAME).map((c) => c.metadata.name!));
    const defaults = classes.filter(isDefault);
    // With several default classes Kubernetes refuses to pick one; so does kite.
    const defaultIsMine = defaults.length === 1 && mine.has(defaults[0]!.metadata.name!);
    const changed = defaultIsMine !== this.defaultIsMine || [...mine].sort().join(',') !== [...this.mine].sort().join(',');
    this.mine = mine;
    this.defaultIsMine = defaultIsMine;
    return changed;
  }

  serves(ing: KubeObject): boolean {
    const cls = (ing.spec as { ingressClassName?: string } | undefined)?.ingressClassName ?? ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
    return cls ? this.mine.has(cls) : this.defaultIsMine;
  }
}

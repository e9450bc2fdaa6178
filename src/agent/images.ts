import type { Container, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { defaultPullPolicy } from '../api/defaults/pod.js';
import { PullError, type ImageInfo, type ImageService, type RegistryAuth } from '../runtime/interface.js';
import { Backoff } from './backoff.js';
import { containerFieldPath } from './containerref.js';
import { errorMessage, goDuration } from './meta.js';

// Making a container's image present: imagePullPolicy (Always / IfNotPresent / Never), credentials from
// the pod's imagePullSecrets, the kubelet's events, and back-off after failed pulls (ImagePullBackOff).

/** The image cannot be made present; `reason` is the container's waiting reason. */
export class ImageError extends Error {
  constructor(
    readonly reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName',
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface PullerDeps {
  images: ImageService;
  /** A Secret of the pod's namespace, or undefined when it does not exist. */
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void;
  backoff: Backoff;
}

/** "https://index.docker.io/v1/" → "docker.io"; "127.0.0.1:5000/x" → "127.0.0.1:5000". */
export function registryHostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').split('/')[0]!.toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

/** Registry credentials from dockerconfigjson / dockercfg Secrets, by registry host. */
export function credentialsFromSecrets(secrets: Secret[]): Map<string, RegistryAuth> {
  const out = new Map<string, RegistryAuth>();
  for (const s of secrets) {
    let auths: Record<string, RegistryAuth> | undefined;
    try {
      if (s.data?.['.dockerconfigjson']) auths = (JSON.parse(Buffer.from(s.data['.dockerconfigjson'], 'base64').toString('utf8')) as { auths?: Record<string, RegistryAuth> }).auths;
      else if (s.data?.['.dockercfg']) auths = JSON.parse(Buffer.from(s.data['.dockercfg'], 'base64').toString('utf8')) as Record<string, RegistryAuth>;
    } catch {
      continue;
    }
    for (const [k, v] of Object.entries(auths ?? {})) {
      const host = registryHostOf(k);
      if (!out.has(host)) out.set(host, v);
    }
  }
  return out;
}

export class ImagePuller {
  constructor(private readonly deps: PullerDeps) {}

  async ensure(pod: Pod, c: Container): Promise<ImageInfo> {
    const { images } = this.deps;
    // Image events are about the container that needs the image, as the kubelet records them.
    const ref = containerFieldPath(pod, c.name ?? '');
    const event = (type: 'Normal' | 'Warning', reason: string, message: string) => this.deps.event(pod, type, reason, message, ref);
    const image = c.image ?? '';
    if (!image) throw new ImageError('InvalidImageName', `Failed to apply default image tag "": couldn't parse image name "": invalid reference format`);
    const policy = c.imagePullPolicy ?? defaultPullPolicy(image);
    if (policy !== 'Always') {
      const present = await images.imageStatus(image);
      if (present) {
        event('Normal', 'Pulled', `Container image "${image}" already present on machine`);
        return present;
      }
      if (policy === 'Never') {
        const msg = `Container image "${image}" is not present with pull policy of Never`;
        event('Warning', 'ErrImageNeverPull', msg);
        event('Warning', 'Failed', 'Error: ErrImageNeverPull');
        throw new ImageError('ErrImageNeverPull', msg);
      }
    }
    const key = `${pod.metadata?.uid}/${image}`;
    const failedAt = this.lastFailure.get(key) ?? 0;
    if (this.deps.backoff.remaining(key, failedAt) > 0) {
      const msg = `Back-off pulling image "${image}"`;
      event('Normal', 'BackOff', msg);
      event('Warning', 'Failed', 'Error: ImagePullBackOff');
      throw new ImageError('ImagePullBackOff', msg);
    }
    const creds = await this.credentials(pod);
    event('Normal', 'Pulling', `Pulling image "${image}"`);
    const started = Date.now();
    try {
      const info = await images.pullImage(image, { credentials: (host) => creds.get(registryHostOf(host)) });
      const took = goDuration(Date.now() - started);
      event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${info.size} bytes.`);
      this.deps.backoff.reset(key);
      this.lastFailure.delete(key);
      return info;
    } catch (e) {
      const msg = errorMessage(e);
      this.deps.backoff.next(key);
      this.lastFailure.set(key, Date.now());
      event('Warning', 'Failed', `Failed to pull image "${image}": ${msg}`);
      event('Warning', 'Failed', 'Error: ErrImagePull');
      throw new ImageError('ErrImagePull', e instanceof PullError ? msg : `failed to pull image "${image}": ${msg}`);
    }
  }

  /** When the image of `c` may next be pulled (ms from now), for requeueing. */
  retryInMs(pod: Pod, c: Container): number {
    const key = `${pod.metadata?.uid}/${c.image ?? ''}`;
    return this.deps.backoff.remaining(key, this.lastFailure.get(key) ?? 0);
  }

  forgetPod(uid: string): void {
    this.deps.backoff.forget(`${uid}/`);
    for (const k of [...this.lastFailure.keys()]) if (k.startsWith(`${uid}/`)) this.lastFailure.delete(k);
  }

  private readonly lastFailure = new Map<string, number>();

  private async credentials(pod: Pod): Promise<Map<string, RegistryAuth>> {
    const refs = pod.spec?.imagePullSecrets ?? [];
    if (refs.length === 0) return new Map();
    const found: Secret[] = [];
    const missing: string[] = [];
    for (const r of refs) {
      const s = r.name ? await this.deps.secret(pod.metadata?.namespace ?? 'default', r.name) : undefined;
      if (s) found.push(s);
      else missing.push(r.name ?? '');
    }
    if (missing.length) this.deps.event(pod, 'Warning', 'FailedToRetrieveImagePullSecret', `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`);
    return credentialsFromSecrets(found);
  }
}

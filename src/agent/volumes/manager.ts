import { mkdirSync, realpathSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod, Volume } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityValue } from '../../api/quantity.js';
import type { RestClient } from '../../client/rest.js';
import { writePayload, type Payload } from './atomicwriter.js';
import { VolumeError, errorText, setUpFailed } from './errors.js';
import { checkHostPath } from './hostpath.js';
import { isMountPoint, mountTmpfs, mountsUnder, unmount } from './mounts.js';
import { resolveClaim } from './pvc.js';
import { ApiSourceReader } from './reader.js';
import { SourceError, configMapPayload, downwardAPIPayload, projectedPayload, secretPayload, type SourceReader } from './sources.js';

// The node agent's volume manager: makes every volume of a pod exist on this node before its containers
// start, keeps the projected ones current, and removes them when the pod is gone. State lives on disk in
// the kubelet's layout, <dataDir>/pods/<uid>/volumes/<plugin>/<name>, so a restarted agent can find it.

export { VolumeError } from './errors.js';

export interface VolumeMount {
  hostPath: string;
  readOnly: boolean;
}

export interface VolumeManager {
  /** Prepares every volume of the pod before any container starts; throws VolumeError (reason 'FailedMount', message kubelet-style). */
  setUp(pod: Pod): Promise<Map<string, VolumeMount>>;
  /** Re-projects configMap/secret/downwardAPI/projected volumes when their sources changed (atomic swap). */
  refresh(pod: Pod): Promise<void>;
  /** Unmounts and removes everything of a pod (idempotent, works after an agent restart). */
  tearDown(podUid: string): Promise<void>;
  /** Pod UIDs that have volume state on disk (for orphan clean-up after a restart). */
  podsOnDisk(): Promise<string[]>;
}

export interface VolumeManagerOptions {
  dataDir: string;
  client: RestClient;
  nodeName: string;
  log(m: string): void;
}

/** The kubelet's plugin directory names. */
const PLUGIN = {
  secret: 'kubernetes.io~secret',
  configMap: 'kubernetes.io~configmap',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
  emptyDir: 'kubernetes.io~empty-dir',
} as const;

type ProjectedKind = 'secret' | 'configMap' | 'downwardAPI' | 'projected';

const SUPPORTED = ['configMap', 'secret', 'downwardAPI', 'projected', 'emptyDir', 'hostPath', 'persistentVolumeClaim'];

function projectedKind(v: Volume): ProjectedKind | undefined {
  if (v.secret) return 'secret';
  if (v.configMap) return 'configMap';
  if (v.downwardAPI) return 'downwardAPI';
  if (v.projected) return 'projected';
  return undefined;
}

/** The volume source field that is set ("nfs", "csi", …), for messages about unsupported types. */
function volumeType(v: Volume): string {
  return Object.keys(v).find((k) => k !== 'name') ?? 'none';
}

function safeName(what: string, s: string | undefined): string {
  if (!s || s.includes('/') || s === '.' || s === '..') throw new VolumeError(`invalid ${what} "${s ?? ''}"`);
  return s;
}

class Manager implements VolumeManager {
  private readonly podsDir: string;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly reader: ApiSourceReader;

  constructor(private readonly opts: VolumeManagerOptions) {
    mkdirSync(join(opts.dataDir, 'pods'), { recursive: true });
    // mountinfo lists canonical paths: compare against the same.
    this.podsDir = join(realpathSync(opts.dataDir), 'pods');
    this.reader = new ApiSourceReader(opts.client, opts.nodeName, opts.log);
  }

  /** One operation per pod at a time: setUp, refresh and tearDown of one pod never interleave. */
  private serialize<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(uid, settled);
    void settled.then(() => {
      if (this.locks.get(uid) === settled) this.locks.delete(uid);
    });
    return next;
  }

  private volumesDir(uid: string): string {
    return join(this.podsDir, safeName('pod uid', uid), 'volumes');
  }

  private dirOf(uid: string, kind: keyof typeof PLUGIN, name: string): string {
    return join(this.volumesDir(uid), PLUGIN[kind], safeName('volume name', name));
  }

  setUp(pod: Pod): Promise<Map<string, VolumeMount>> {
    const uid = pod.metadata?.uid ?? '';
    return this.serialize(uid, async () => {
      await mkdir(this.volumesDir(uid), { recursive: true, mode: 0o750 });
      const out = new Map<string, VolumeMount>();
      for (const v of pod.spec?.volumes ?? []) out.set(v.name, await this.setUpVolume(pod, v));
      return out;
    });
  }

  private async setUpVolume(pod: Pod, v: Volume): Promise<VolumeMount> {
    const uid = pod.metadata?.uid ?? '';
    const kind = projectedKind(v);
    if (kind) {
      const dir = this.dirOf(uid, kind, v.name);
      await this.project(pod, v, kind, dir, true);
      return { hostPath: dir, readOnly: true };
    }
    if (v.emptyDir) {
      const dir = this.dirOf(uid, 'emptyDir', v.name);
      await this.emptyDir(dir, v.name, v.emptyDir.medium ?? '', v.emptyDir.sizeLimit);
      return { hostPath: dir, readOnly: false };
    }
    if (v.hostPath) {
      try {
        return { hostPath: await checkHostPath(v.hostPath.path, v.hostPath.type), readOnly: false };
      } catch (e) {
        throw setUpFailed(v.name, errorText(e));
      }
    }
    if (v.persistentVolumeClaim) {
      const ns = pod.metadata?.namespace ?? 'default';
      return resolveClaim(this.opts.client, ns, v.name, v.persistentVolumeClaim.claimName, v.persistentVolumeClaim.readOnly === true);
    }
    throw setUpFailed(v.name, `volume type "${volumeType(v)}" is not supported by kite (supported: ${SUPPORTED.join(', ')})`);
  }

  private async emptyDir(dir: string, volume: string, medium: string, sizeLimit: string | number | undefined): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    if (medium === 'Memory') {
      if (!(await isMountPoint(dir))) {
        let sizeBytes: bigint | undefined;
        try {
          sizeBytes = sizeLimit === undefined ? undefined : quantityValue(parseQuantity(sizeLimit));
        } catch (e) {
          throw setUpFailed(volume, `invalid sizeLimit ${String(sizeLimit)}: ${errorText(e)}`);
        }
        try {
          await mountTmpfs(dir, { mode: 0o777, sizeBytes: sizeBytes && sizeBytes > 0n ? sizeBytes : undefined });
        } catch (e) {
          throw setUpFailed(volume, errorText(e));
        }
      }
    } else if (medium !== '') {
      throw setUpFailed(volume, `emptyDir medium "${medium}" is not supported by kite (use "" or "Memory")`);
    }
    // World-writable, as the kubelet makes it, so containers running as any user can use their scratch space.
    await chmod(dir, 0o777);
  }

  /** Computes the volume's payload and writes it onto its own tmpfs. `mount` false: only if already mounted. */
  private async project(pod: Pod, v: Volume, kind: ProjectedKind, dir: string, mount: boolean): Promise<boolean> {
    const mounted = await isMountPoint(dir);
    if (!mounted && !mount) return false;
    let payload: Payload;
    try {
      payload = await this.payloadOf(this.reader, pod, v, kind);
    } catch (e) {
      if (e instanceof SourceError) throw setUpFailed(v.name, e.message);
      throw setUpFailed(v.name, errorText(e));
    }
    if (!mounted) {
      await mkdir(dir, { recursive: true, mode: 0o750 });
      try {
        // Secrets and service-account tokens never touch the disk; configMaps share the path for simplicity.
        await mountTmpfs(dir, { mode: 0o755, noexec: kind === 'secret' || kind === 'projected' });
      } catch (e) {
        throw setUpFailed(v.name, errorText(e));
      }
    }
    try {
      const fsGroup = pod.spec?.securityContext?.fsGroup;
      return await writePayload(dir, payload, { fsGroup });
    } catch (e) {
      throw setUpFailed(v.name, errorText(e));
    }
  }

  private payloadOf(r: SourceReader, pod: Pod, v: Volume, kind: ProjectedKind): Promise<Payload> {
    switch (kind) {
      case 'secret':
        return secretPayload(r, pod, v.secret!);
      case 'configMap':
        return configMapPayload(r, pod, v.configMap!);
      case 'downwardAPI':
        return downwardAPIPayload(r, pod, v.downwardAPI!);
      case 'projected':
        return projectedPayload(r, pod, v.projected!);
    }
  }

  refresh(pod: Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    return this.serialize(uid, async () => {
      let first: unknown;
      for (const v of pod.spec?.volumes ?? []) {
        const kind = projectedKind(v);
        if (!kind) continue;
        try {
          // A volume not set up yet is setUp's business: refresh must never write onto the plain disk.
          if (await this.project(pod, v, kind, this.dirOf(uid, kind, v.name), false)) this.opts.log(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: volume ${v.name} updated`);
        } catch (e) {
          first ??= e;
        }
      }
      if (first) throw first;
    });
  }

  tearDown(podUid: string): Promise<void> {
    return this.serialize(podUid, async () => {
      const dir = this.volumesDir(podUid);
      for (const m of await mountsUnder(dir)) {
        try {
          await unmount(m);
        } catch (e) {
          throw new VolumeError(`UnmountVolume.TearDown failed for pod ${podUid}: ${errorText(e)}`, 'FailedUnmount');
        }
      }
      // Removing files under a mount point would delete what another filesystem holds: refuse instead.
      const left = await mountsUnder(dir);
      if (left.length) throw new VolumeError(`UnmountVolume.TearDown failed for pod ${podUid}: ${left[0]} is still mounted`, 'FailedUnmount');
      // Only emptyDir and atomic-writer directories live here; hostPath and PV directories are never linked
      // in, and rm does not follow symlinks, so user data elsewhere on the node is safe.
      await rm(dir, { recursive: true, force: true });
      await rmdir(join(this.podsDir, podUid)).catch(() => undefined);
      this.reader.forget(podUid);
    });
  }

  async podsOnDisk(): Promise<string[]> {
    const out: string[] = [];
    let entries: string[];
    try {
      entries = await readdir(this.podsDir);
    } catch {
      return out;
    }
    for (const uid of entries) {
      const st = await stat(join(this.podsDir, uid, 'volumes')).catch(() => undefined);
      if (st?.isDirectory()) out.push(uid);
    }
    return out.sort();
  }
}

export function createVolumeManager(opts: VolumeManagerOptions): VolumeManager {
  return new Manager(opts);
}

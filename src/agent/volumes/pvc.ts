import { chmod, mkdir, stat } from 'node:fs/promises';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resource, type RestClient } from '../../client/rest.js';
import { VolumeError } from './errors.js';
import { checkHostPath } from './hostpath.js';

// persistentVolumeClaim volumes: claim → bound PV → a directory on this node. kite mounts filesystem PVs
// that are node directories (hostPath, local); anything that needs an attach/mount driver is refused.

const PVCS = resource('', 'v1', 'persistentvolumeclaims');
const PVS = resource('', 'v1', 'persistentvolumes');
export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';

async function getOrUndefined(client: RestClient, info: typeof PVCS, ns: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(info, ns, name);
  } catch (e) {
    if (e instanceof StatusError && e.code === 404) return undefined;
    throw e;
  }
}

export interface ClaimMount {
  hostPath: string;
  readOnly: boolean;
}

export async function resolveClaim(client: RestClient, namespace: string, volume: string, claimName: string, readOnly: boolean): Promise<ClaimMount> {
  const pvc = (await getOrUndefined(client, PVCS, namespace, claimName)) as PersistentVolumeClaim | undefined;
  if (!pvc) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
  if (pvc.metadata?.deletionTimestamp) throw new VolumeError(`persistentvolumeclaim "${claimName}" is being deleted`);
  const pvName = pvc.spec?.volumeName;
  if (pvc.status?.phase !== 'Bound' || !pvName) throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound`);
  const pv = (await getOrUndefined(client, PVS, undefined, pvName)) as PersistentVolume | undefined;
  if (!pv) throw new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : persistentvolume "${pvName}" not found (bound to claim "${claimName}")`);
  const spec = pv.spec ?? {};
  const local = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === LOCAL_PATH_PROVISIONER;
  try {
    if (spec.hostPath) {
      const path = spec.hostPath.path;
      if (local && !(await exists(path))) await makeWorldWritable(path);
      return { hostPath: await checkHostPath(path, spec.hostPath.type), readOnly };
    }
    if (spec.local) {
      if (local && !(await exists(spec.local.path))) await makeWorldWritable(spec.local.path);
      return { hostPath: await checkHostPath(spec.local.path, 'Directory'), readOnly };
    }
  } catch (e) {
    throw new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : ${(e as Error).message}`);
  }
  const kind = Object.keys(spec).find((k) => !['accessModes', 'capacity', 'claimRef', 'persistentVolumeReclaimPolicy', 'storageClassName', 'mountOptions', 'volumeMode', 'nodeAffinity', 'volumeAttributesClassName'].includes(k)) ?? 'unknown';
  throw new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : persistentvolume "${pvName}" has a ${kind} source, which kite cannot mount (supported: hostPath, local)`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Provisioned volumes are created 0777 like local-path-provisioner's helper does, so non-root pods can write. */
async function makeWorldWritable(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o777 });
  await chmod(path, 0o777);
}

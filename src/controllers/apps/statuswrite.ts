import type { KubeObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import { StatusError } from '../../api/errors.js';
import type { RestClient } from '../../client/rest.js';

// Writing a status that is computed entirely from observed state (DaemonSet, StatefulSet counters): when
// the cached object is stale the status is still right, so it is re-applied to a fresh copy instead of
// failing the whole sync, as client-go's RetryOnConflict is used for these.

export async function writeComputedStatus(client: RestClient, info: ResourceInfo, obj: KubeObject, status: unknown): Promise<void> {
  let target: KubeObject = { ...obj, status };
  for (let attempt = 0; ; attempt++) {
    try {
      await client.updateStatus(info, target);
      return;
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return;
      if (!(e instanceof StatusError && e.code === 409) || attempt >= 3) throw e;
      const fresh = await client.get(info, obj.metadata.namespace, obj.metadata.name ?? '');
      if (fresh.metadata.uid !== obj.metadata.uid) return;
      target = { ...fresh, status };
    }
  }
}

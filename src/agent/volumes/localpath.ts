import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resource, type RestClient } from '../../client/rest.js';

// The node's half of the local-path provisioner: the controller deletes a released PV through the API, but
// only the node can delete its directory. rancher's provisioner runs a helper pod for that; kite's agent
// sweeps instead: a `pvc-<uid>_<ns>_<name>` directory under the base path whose PV no longer exists is
// removed. Caveat: a user who deletes a Retain PV object by hand loses its directory at the next sweep.

const PVS = resource('', 'v1', 'persistentvolumes');
const VOLUME_DIR = /^(pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[^/]+_[^/]+$/;

export async function sweepLocalPathVolumes(opts: { client: RestClient; basePath: string; log(m: string): void }): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(opts.basePath);
  } catch {
    return [];
  }
  const candidates = entries.map((e) => [e, VOLUME_DIR.exec(e)?.[1]] as const).filter((x): x is readonly [string, string] => x[1] !== undefined);
  if (!candidates.length) return [];
  // A fresh list, never a cache: deleting on stale information would delete live data.
  const live = new Set((await opts.client.list(PVS)).items.map((pv) => pv.metadata.name));
  const removed: string[] = [];
  for (const [dir, pv] of candidates) {
    if (live.has(pv)) continue;
    await rm(join(opts.basePath, dir), { recursive: true, force: true });
    opts.log(`removed ${join(opts.basePath, dir)}: persistentvolume ${pv} no longer exists`);
    removed.push(dir);
  }
  return removed;
}

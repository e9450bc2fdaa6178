import type { Controller } from '../runtime.js';
import { LocalPathProvisioner } from './localpath.js';

export { LocalPathProvisioner, LOCAL_PATH_CLASS, LOCAL_PATH_PROVISIONER, DEFAULT_LOCAL_PATH_BASE, volumeNameFor, volumePathFor, type LocalPathOptions } from './localpath.js';

// The storage controllers: k3s' local-path provisioner (switch it off with --disable-controllers
// local-path-provisioner).
export function storageControllers(): Controller[] {
  return [new LocalPathProvisioner()];
}

import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ImageService } from '../runtime/interface.js';

// Contracts of collaborators the agent is given (implemented in src/agent/volumes and src/runtime/images),
// restated structurally so that the agent compiles and is tested on its own.

export interface VolumeMount {
  hostPath: string;
  readOnly: boolean;
}

export interface VolumeManager {
  /** Prepares every volume of the pod; throws an error with `reason` ('FailedMount') and a kubelet-style message. */
  setUp(pod: Pod): Promise<Map<string, VolumeMount>>;
  /** Re-projects configMap/secret/downwardAPI/projected volumes whose sources changed. */
  refresh(pod: Pod): Promise<void>;
  /** Unmounts and removes everything of a pod (idempotent). */
  tearDown(podUid: string): Promise<void>;
  /** Pod UIDs that have volume state on disk. */
  podsOnDisk(): Promise<string[]>;
}

/** The image store adds garbage collection to the ImageService. */
export interface ImageGc {
  gc(opts: { highThresholdPercent: number; lowThresholdPercent: number; inUse: Set<string> }): Promise<unknown>;
}

export type AgentImageService = ImageService & Partial<ImageGc>;

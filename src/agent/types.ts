import type { ImageService } from '../runtime/interface.js';

// What the agent needs from its collaborators: the volume manager's own contract, and the image store's
// garbage collection on top of the ImageService.

export type { VolumeManager, VolumeMount } from './volumes/manager.js';

/** The image store adds garbage collection to the ImageService. */
export interface ImageGc {
  gc(opts: { highThresholdPercent: number; lowThresholdPercent: number; inUse: Set<string> }): Promise<unknown>;
}

export type AgentImageService = ImageService & Partial<ImageGc>;

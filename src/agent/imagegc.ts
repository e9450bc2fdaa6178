import type { RuntimeService } from '../runtime/interface.js';
import type { AgentImageService } from './types.js';

// Image garbage collection, as the kubelet's: when the image filesystem is fuller than the high threshold,
// remove unused images until it is below the low one. Images of any existing container are in use.

export interface ImageGcPolicy {
  highThresholdPercent: number;
  lowThresholdPercent: number;
}

export const DEFAULT_IMAGE_GC: ImageGcPolicy = { highThresholdPercent: 85, lowThresholdPercent: 80 };

export async function collectImages(images: AgentImageService, runtime: RuntimeService, policy: ImageGcPolicy, log: (m: string) => void): Promise<void> {
  const usage = await images.usage();
  if (usage.capacityBytes <= 0) return;
  const used = ((usage.capacityBytes - usage.availableBytes) * 100) / usage.capacityBytes;
  if (used < policy.highThresholdPercent) return;
  const inUse = new Set((await runtime.listContainers()).map((c) => c.imageId));
  if (images.gc) {
    await images.gc({ ...policy, inUse });
    return;
  }
  // Without a store-side collector: remove unused images, largest first, until below the low threshold.
  const target = (usage.capacityBytes * (100 - policy.lowThresholdPercent)) / 100;
  let available = usage.availableBytes;
  const candidates = (await images.listImages()).filter((i) => !inUse.has(i.id)).sort((a, b) => b.size - a.size);
  for (const img of candidates) {
    if (available >= target) break;
    try {
      await images.removeImage(img.id);
      available += img.size;
      log(`image GC: removed ${img.repoTags[0] ?? img.id} (${img.size} bytes)`);
    } catch (e) {
      log(`image GC: could not remove ${img.id}: ${(e as Error).message}`);
    }
  }
}

// The one error the volume manager throws: the agent turns it into a FailedMount event and retries, as the
// kubelet does, so its message must say what is wrong with the pod's volume in the kubelet's words.

export class VolumeError extends Error {
  constructor(
    message: string,
    readonly reason = 'FailedMount',
  ) {
    super(message);
    this.name = 'VolumeError';
  }
}

/** The kubelet's prefix for a volume plugin's SetUp failure. */
export function setUpFailed(volume: string, why: string): VolumeError {
  return new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : ${why}`);
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

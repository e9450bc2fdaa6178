import { mkdir, open, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';

// hostPath volumes: the node's own path, checked against the declared type with the kubelet's messages.
// Nothing here ever deletes: a hostPath belongs to the node, not to the pod.

async function statOf(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** Throws an Error whose message is the kubelet's reason; returns the path to mount. */
export async function checkHostPath(path: string, type: string | undefined): Promise<string> {
  const st = await statOf(path);
  const fail = (what: string) => {
    throw new Error(`hostPath type check failed: ${path} is not ${what}`);
  };
  switch (type ?? '') {
    case '':
      // No check, as the kubelet; the container runtime (containerd's CRI) creates a missing source as a
      // directory, and runc needs the source to exist, so do that here.
      if (!st) await mkdir(path, { recursive: true, mode: 0o755 });
      break;
    case 'DirectoryOrCreate':
      if (!st) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) fail('a directory');
      break;
    case 'Directory':
      if (!st?.isDirectory()) fail('a directory');
      break;
    case 'FileOrCreate':
      if (!st) await (await open(path, 'a', 0o644)).close();
      else if (!st.isFile()) fail('a file');
      break;
    case 'File':
      if (!st?.isFile()) fail('a file');
      break;
    case 'Socket':
      if (!st?.isSocket()) fail('a socket file');
      break;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('a character device');
      break;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('a block device');
      break;
    default:
      throw new Error(`${type} is an invalid volume type`);
  }
  return path;
}

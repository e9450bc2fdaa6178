import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';

// The user a container's process runs as: the pod's runAsUser/runAsGroup/supplementalGroups win; otherwise the
// image's USER ("1000", "1000:1000", "app", "app:staff") is looked up in the image's own /etc/passwd and
// /etc/group, the way a container runtime does, because runc only takes numeric ids.

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface UserRequest {
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  imageUser?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) out.push({ name: f[0]!, uid, gid });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (Number.isInteger(gid)) out.push({ name: f[0]!, gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

export function resolveUser(req: UserRequest, passwdText: string, groupText: string): ProcessUser {
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  let uid: number;
  let gid: number | undefined;
  let entry: PasswdEntry | undefined;

  if (req.runAsUser !== undefined) {
    uid = req.runAsUser;
    entry = passwd.find((p) => p.uid === uid);
  } else {
    const [userPart = '', groupPart] = (req.imageUser ?? '').split(':', 2);
    if (userPart === '') {
      uid = 0;
      entry = passwd.find((p) => p.uid === 0);
    } else if (isNumeric(userPart)) {
      uid = Number(userPart);
      entry = passwd.find((p) => p.uid === uid);
    } else {
      entry = passwd.find((p) => p.name === userPart);
      if (!entry) throw new Error(`the image's user "${userPart}" is not in its /etc/passwd; set securityContext.runAsUser to a numeric id`);
      uid = entry.uid;
    }
    if (groupPart !== undefined && groupPart !== '') {
      if (isNumeric(groupPart)) gid = Number(groupPart);
      else {
        const g = groups.find((x) => x.name === groupPart);
        if (!g) throw new Error(`the image's group "${groupPart}" is not in its /etc/group; set securityContext.runAsGroup to a numeric id`);
        gid = g.gid;
      }
    }
  }
  if (req.runAsGroup !== undefined) gid = req.runAsGroup;
  gid ??= entry?.gid ?? 0;

  // The primary group is listed too, as Docker and containerd do, so setgroups() does not drop it.
  const extra = new Set<number>([gid]);
  if (entry) for (const g of groups) if (g.members.includes(entry.name)) extra.add(g.gid);
  for (const g of req.supplementalGroups ?? []) extra.add(g);
  return { uid, gid, additionalGids: [...extra] };
}

/**
 * Reads a file of the container's rootfs without following symlinks out of it: a symlinked /etc or /etc/passwd
 * would otherwise point at the host's file. Such a file is treated as absent.
 */
export async function readRootfsFile(rootfs: string, rel: string): Promise<string> {
  let path = rootfs;
  for (const part of rel.split('/').filter(Boolean)) {
    path = join(path, part);
    const st = await lstat(path).catch(() => undefined);
    if (!st || st.isSymbolicLink()) return '';
  }
  return readFile(path, 'utf8').catch(() => '');
}

import { readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, hostname, networkInterfaces, release } from 'node:os';

// What the node reports about its machine: CPUs, memory, disk of the data directory, addresses, identity.

export interface MachineFacts {
  cpus: number;
  memoryBytes: number;
  memoryAvailableBytes: number;
  storageBytes: number;
  storageAvailableBytes: number;
  internalIP: string;
  hostname: string;
  kernelVersion: string;
  osImage: string;
  machineID: string;
  bootID: string;
  systemUUID: string;
  pidMax: number;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export function meminfo(text = read('/proc/meminfo')): { total: number; available: number } {
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total: get('MemTotal'), available: get('MemAvailable') };
}

export function osImage(text = read('/etc/os-release')): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
  return m?.[1] ?? 'Linux';
}

/**
 * The node's InternalIP when --node-ip is not given: the address of the default route's interface, as the
 * kubelet picks it, so that the pod bridge's own gateway address is never mistaken for the node's.
 */
export function firstIPv4(): string {
  const ifaces = networkInterfaces();
  const v4 = (name: string) => (ifaces[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const viaDefault = defaultRouteInterface();
  if (viaDefault && v4(viaDefault)) return v4(viaDefault)!;
  for (const name of Object.keys(ifaces)) if (v4(name)) return v4(name)!;
  return '127.0.0.1';
}

function defaultRouteInterface(): string | undefined {
  try {
    // Columns: Iface Destination Gateway Flags ...; a zero destination with the RTF_UP flag is the default route.
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [iface, dest, , flags] = line.trim().split(/\s+/);
      if (dest === '00000000' && (Number.parseInt(flags ?? '0', 16) & 1) === 1) return iface;
    }
  } catch {
    // Not Linux, or /proc is not mounted: fall back to the first address.
  }
  return undefined;
}

export function diskUsage(dir: string): { capacity: number; available: number } {
  try {
    const s = statfsSync(dir);
    return { capacity: s.blocks * s.bsize, available: s.bavail * s.bsize };
  } catch {
    return { capacity: 0, available: 0 };
  }
}

function asUuid(hex: string): string {
  const h = hex.replace(/-/g, '').padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function readMachine(dataDir: string, nodeIP?: string): MachineFacts {
  const mem = meminfo();
  const disk = diskUsage(dataDir);
  const machineID = read('/etc/machine-id') || read('/var/lib/dbus/machine-id');
  return {
    cpus: availableParallelism(),
    memoryBytes: mem.total,
    memoryAvailableBytes: mem.available,
    storageBytes: disk.capacity,
    storageAvailableBytes: disk.available,
    internalIP: nodeIP || firstIPv4(),
    hostname: hostname(),
    kernelVersion: release(),
    osImage: osImage(),
    machineID,
    bootID: read('/proc/sys/kernel/random/boot_id'),
    systemUUID: read('/sys/class/dmi/id/product_uuid').toLowerCase() || (machineID ? asUuid(machineID) : ''),
    pidMax: Number(read('/proc/sys/kernel/pid_max')) || 32768,
  };
}

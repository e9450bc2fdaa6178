import { readFileSync } from 'node:fs';

// How much of the machine the benchmark did NOT use: CPU time spent by other processes during the run,
// which makes every figure lower than on a quiet machine.

const TICK_S = 0.01; // USER_HZ is 100 on Linux

export interface CpuSnapshot {
  /** Busy CPU seconds of the whole machine since boot. */
  busy: number;
  /** CPU seconds of this process and of its children that have been waited for (kite, etcd, the floor). */
  mine: number;
  at: number;
}

export function cpuSnapshot(): CpuSnapshot {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0)) * TICK_S;
    const self = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime..cstime are 14..17.
    const f = self.slice(self.lastIndexOf(')') + 2).split(' ');
    const mine = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_S;
    return { busy, mine, at: performance.now() };
  } catch {
    return { busy: NaN, mine: NaN, at: performance.now() };
  }
}

/** CPU seconds used by other processes between two snapshots, and that as a share of the machine. */
export function othersCpu(a: CpuSnapshot, b: CpuSnapshot, cores: number): { seconds: number; share: number } {
  const seconds = Math.max(0, b.busy - a.busy - (b.mine - a.mine));
  const wall = (b.at - a.at) / 1000;
  return { seconds, share: wall > 0 ? seconds / (wall * cores) : NaN };
}

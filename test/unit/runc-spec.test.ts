import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerConfig } from '../../src/runtime/interface.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, INIT_PATH, buildSpec, capabilities, capabilitiesInMask, type SpecInput } from '../../src/runtime/runc/spec.js';

function config(extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    name: 'app',
    attempt: 0,
    image: { id: 'sha256:x', repoTags: [], repoDigests: [], size: 0, layers: [], config: { entrypoint: [], cmd: [], env: [], workingDir: '', user: '', exposedPorts: [], labels: {} } },
    argv: ['httpd', '-f'],
    env: [{ name: 'PATH', value: '/bin' }],
    workingDir: '',
    mounts: [],
    logPath: '/logs/app.log',
    stdin: false,
    stdinOnce: false,
    tty: false,
    resources: {},
    security: {},
    labels: {},
    annotations: {},
    ...extra,
  };
}

function input(c: ContainerConfig, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    config: c,
    user: { uid: 0, gid: 0, additionalGids: [] },
    cgroupsPath: '/kite/podU/ctr',
    namespaces: { network: '/d/netns/s-net', ipc: '/d/netns/s-ipc', uts: '/d/netns/s-uts' },
    pod: { hostsPath: '/d/s/hosts', resolvConfPath: '/d/s/resolv.conf', hostnamePath: '/d/s/hostname', shmPath: '/d/s/shm' },
    initBinary: '/usr/bin/catatonit',
    ...extra,
  };
}

test('capabilities: Docker defaults, ALL, add and drop without the CAP_ prefix', () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.deepEqual(capabilities(false, ['NET_BIND_SERVICE'], ['ALL']), ['CAP_NET_BIND_SERVICE']);
  assert.ok(capabilities(false, ['net_admin']).includes('CAP_NET_ADMIN'));
  assert.ok(!capabilities(false, [], ['NET_RAW']).includes('CAP_NET_RAW'));
  assert.equal(capabilities(false, ['ALL']).length, ALL_CAPABILITIES.length);
  assert.equal(capabilities(true).length, ALL_CAPABILITIES.length);
  // "All" is bounded by what the runtime holds.
  assert.deepEqual(capabilities(true, [], [], ['CAP_KILL']), ['CAP_KILL']);
  assert.equal(capabilitiesInMask('000001fffeffffff').length, 40);
  assert.ok(!capabilitiesInMask('000001fffeffffff').includes('CAP_SYS_RESOURCE'));
});

test('spec: catatonit as init, joined pod namespaces, pod files, masks, resources', () => {
  const s = buildSpec(input(config({ resources: { memoryLimitBytes: 33554432, cpuShares: 512, cpuQuotaUs: 50000, cpuPeriodUs: 100000, pidsLimit: 64 } })));
  assert.deepEqual(s.process.args, [INIT_PATH, '--', 'httpd', '-f']);
  assert.equal(s.process.cwd, '/');
  assert.deepEqual(s.process.env, ['PATH=/bin']);
  assert.equal(s.process.noNewPrivileges, false);
  assert.deepEqual(s.linux.namespaces, [
    { type: 'mount' },
    { type: 'pid' },
    { type: 'ipc', path: '/d/netns/s-ipc' },
    { type: 'network', path: '/d/netns/s-net' },
    { type: 'uts', path: '/d/netns/s-uts' },
  ]);
  assert.equal(s.linux.cgroupsPath, '/kite/podU/ctr');
  assert.deepEqual(s.linux.resources.memory, { limit: 33554432, swap: 33554432 });
  assert.deepEqual(s.linux.resources.cpu, { shares: 512, quota: 50000, period: 100000 });
  assert.deepEqual(s.linux.resources.pids, { limit: 64 });
  assert.ok(s.linux.maskedPaths?.includes('/proc/kcore'));
  assert.ok(s.linux.readonlyPaths?.includes('/proc/sys'));
  const dests = s.mounts.map((m) => m.destination);
  for (const d of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname', INIT_PATH]) assert.ok(dests.includes(d), d);
  assert.equal(s.mounts.find((m) => m.destination === '/dev/shm')?.source, '/d/s/shm');
  assert.ok(s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
  assert.equal((s as unknown as Record<string, unknown>).hostname, undefined); // the UTS namespace is joined, not created
});

test('spec: volumes, read-only rootfs, privileged, no_new_privs, tty, shared PID, host network', () => {
  const s = buildSpec(
    input(
      config({
        tty: true,
        mounts: [
          { hostPath: '/h/secret', containerPath: '/etc/secret', readOnly: true },
          { hostPath: '/h/data', containerPath: '/data', readOnly: false, propagation: 'rslave' },
          { hostPath: '/h/hosts', containerPath: '/etc/hosts', readOnly: true },
        ],
        security: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
      }),
      { namespaces: { ipc: '/i', pid: '/p' } },
    ),
  );
  assert.equal(s.root.readonly, true);
  assert.equal(s.process.noNewPrivileges, true);
  assert.equal(s.process.terminal, true);
  assert.ok(s.process.env.includes('TERM=xterm'));
  assert.deepEqual(s.mounts.find((m) => m.destination === '/etc/secret')?.options, ['rbind', 'rprivate', 'ro']);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/data')?.options, ['rbind', 'rslave']);
  assert.equal(s.linux.rootfsPropagation, 'rslave');
  // The pod's /etc/hosts gives way to a volume mounted there.
  assert.deepEqual(s.mounts.filter((m) => m.destination === '/etc/hosts').map((m) => m.source), ['/h/hosts']);
  assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['mount', 'pid', 'ipc']);
  assert.equal(s.linux.namespaces[1]!.path, '/p');

  const p = buildSpec(input(config({ security: { privileged: true } }), { hostDevices: [{ path: '/dev/vda', type: 'b', major: 254, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }] }));
  assert.equal(p.process.capabilities.bounding.length, ALL_CAPABILITIES.length);
  assert.equal(p.linux.maskedPaths, undefined);
  assert.deepEqual(p.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(p.linux.devices?.[0]?.path, '/dev/vda');
  assert.throws(() => buildSpec(input(config({ argv: [] }))), /no command/);
});

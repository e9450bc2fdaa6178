// PodSpec and PodTemplateSpec validation: containers, volumes, probes, scheduling fields. Shared by Pod,
// PodTemplate and every workload template.

import type { StatusCause } from '../errors.js';
import { FieldPath, forbidden, goStringMap, goStringSlice, GoLiteral, invalid, notFound, notSupported, required, tooLong } from './field.js';
import { arr, isObj, isSet, items, num, obj, str, strMap, type Obj } from './json.js';
import {
  nameIsDNSSubdomain,
  validateAnnotations,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateLabelName,
  validateLabels,
  validateLabelSelector,
  validateNonnegative,
  validateQualifiedName,
} from './meta.js';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isDNS1123Label,
  isHTTPHeaderName,
  isIP,
  isRelaxedEnvVarName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
} from './names.js';
import { quantityAt, validateResourceRequirements } from './resources.js';
import { quantitySign } from '../quantity.js';

export interface PodSpecOptions {
  /** The spec belongs to a Pod (not a template): stricter host-network and image checks apply. */
  isPod?: boolean;
  /** The pod's name, used to check generated ephemeral-volume claim names. */
  podName?: string;
}

const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

// Volume source fields in the order the reference validator checks them, with the path it reports when a
// second source is present (note the historical spellings).
const VOLUME_SOURCES: [string, string][] = [
  ['emptyDir', 'emptyDir'],
  ['hostPath', 'hostPath'],
  ['gitRepo', 'gitRepo'],
  ['gcePersistentDisk', 'gcePersistentDisk'],
  ['awsElasticBlockStore', 'awsElasticBlockStore'],
  ['secret', 'secret'],
  ['nfs', 'nfs'],
  ['iscsi', 'iscsi'],
  ['glusterfs', 'glusterfs'],
  ['flocker', 'flocker'],
  ['persistentVolumeClaim', 'persistentVolumeClaim'],
  ['rbd', 'rbd'],
  ['cinder', 'cinder'],
  ['cephfs', 'cephFS'],
  ['quobyte', 'quobyte'],
  ['downwardAPI', 'downwarAPI'],
  ['fc', 'fc'],
  ['flexVolume', 'flexVolume'],
  ['configMap', 'configMap'],
  ['azureFile', 'azureFile'],
  ['vsphereVolume', 'vsphereVolume'],
  ['photonPersistentDisk', 'photonPersistentDisk'],
  ['portworxVolume', 'portworxVolume'],
  ['azureDisk', 'azureDisk'],
  ['storageos', 'storageos'],
  ['projected', 'projected'],
  ['scaleIO', 'scaleIO'],
  ['csi', 'csi'],
  ['ephemeral', 'ephemeral'],
  ['image', 'image'],
];

function fileMode(v: unknown, p: FieldPath): StatusCause[] {
  const n = num(v);
  return n !== undefined && (n > 0o777 || n < 0) ? [invalid(p, n, FILE_MODE_ERROR)] : [];
}

function pathNoBacksteps(target: string, p: FieldPath): StatusCause[] {
  return target.replace(/\\/g, '/').split('/').includes('..') ? [invalid(p, target, "must not contain '..'")] : [];
}

function localDescendingPath(target: string, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (target.startsWith('/')) out.push(invalid(p, target, 'must be a relative path'));
  out.push(...pathNoBacksteps(target, p));
  return out;
}

function localNonReservedPath(target: string, p: FieldPath): StatusCause[] {
  const out = localDescendingPath(target, p);
  if (target.startsWith('..') && !target.startsWith('../')) out.push(invalid(p, target, "must not start with '..'"));
  return out;
}

function keyToPath(kp: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (!str(kp.key)) out.push(required(p.child('key')));
  if (!str(kp.path)) out.push(required(p.child('path')));
  out.push(...localNonReservedPath(str(kp.path), p.child('path')));
  out.push(...fileMode(kp.mode, p.child('mode')));
  return out;
}

const VOLUME_FIELD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
const ENV_FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs'];
const RESOURCE_FIELD_PATHS = ['limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory'];

function objectFieldSelector(fs: Obj, allowed: string[], p: FieldPath): StatusCause[] {
  if (!str(fs.apiVersion)) return [required(p.child('apiVersion'))];
  const fp = str(fs.fieldPath);
  if (!fp) return [required(p.child('fieldPath'))];
  const m = /^(metadata\.(?:annotations|labels))\['(.*)'\]$/.exec(fp);
  if (m) {
    const sub = m[1] === 'metadata.annotations' ? m[2]!.toLowerCase() : m[2]!;
    return validateQualifiedName(sub, p);
  }
  const sub = /^([^[]+)\[/.exec(fp);
  if (sub) return [invalid(p, sub[1]!, 'does not support subscript')];
  return allowed.includes(fp) ? [] : [notSupported(p.child('fieldPath'), fp, allowed)];
}

function resourceFieldSelector(fs: Obj, p: FieldPath, volume: boolean): StatusCause[] {
  if (volume && !str(fs.containerName)) return [required(p.child('containerName'))];
  const r = str(fs.resource);
  if (!r) return [required(p.child('resource'))];
  if (!RESOURCE_FIELD_PATHS.includes(r) && !r.startsWith('requests.hugepages-') && !r.startsWith('limits.hugepages-')) return [notSupported(p.child('resource'), r, RESOURCE_FIELD_PATHS)];
  return [];
}

function downwardAPIFile(f: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (!str(f.path)) out.push(required(p.child('path')));
  out.push(...localNonReservedPath(str(f.path), p.child('path')));
  if (isObj(f.fieldRef)) {
    out.push(...objectFieldSelector(f.fieldRef, VOLUME_FIELD_PATHS, p.child('fieldRef')));
    if (isObj(f.resourceFieldRef)) out.push(invalid(p, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
  } else if (isObj(f.resourceFieldRef)) {
    out.push(...resourceFieldSelector(f.resourceFieldRef, p.child('resourceFieldRef'), true));
  } else {
    out.push(required(p, 'one of fieldRef and resourceFieldRef is required'));
  }
  out.push(...fileMode(f.mode, p.child('mode')));
  return out;
}

function projectedSources(src: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const paths = new Set<string>();
  const track = (path: string, shown: string) => {
    if (!path) return;
    if (paths.has(path)) out.push(invalid(p, shown, 'conflicting duplicate paths'));
    else paths.add(path);
  };
  items(src.sources).forEach((s, i) => {
    const sp = p.child('sources').index(i);
    let n = 0;
    for (const kind of ['secret', 'configMap'] as const) {
      const ref = obj(s[kind]);
      if (!ref) continue;
      n++;
      if (!str(ref.name)) out.push(required(sp.child(kind, 'name')));
      items(ref.items).forEach((kp, j) => {
        out.push(...keyToPath(kp, sp.child(kind, 'items').index(j)));
        track(str(kp.path), str(ref.name));
      });
    }
    const dapi = obj(s.downwardAPI);
    if (dapi) {
      n++;
      for (const f of items(dapi.items)) {
        out.push(...downwardAPIFile(f, sp.child('downwardAPI')));
        track(str(f.path), str(f.path));
      }
    }
    const sat = obj(s.serviceAccountToken);
    if (sat) {
      n++;
      const exp = num(sat.expirationSeconds);
      if (exp !== undefined && exp < 600) out.push(invalid(sp.child('serviceAccountToken', 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
      if (exp !== undefined && exp > 2 ** 32) out.push(invalid(sp.child('serviceAccountToken', 'expirationSeconds'), exp, 'may not specify a duration larger than 2^32 seconds'));
      if (!str(sat.path)) out.push(required(p.child('path')));
      else out.push(...localNonReservedPath(str(sat.path), p.child('path')));
    }
    const ctb = obj(s.clusterTrustBundle);
    if (ctb) {
      n++;
      if (!str(ctb.path)) out.push(required(sp.child('clusterTrustBundle', 'path')));
      track(str(ctb.path), str(ctb.path));
    }
    if (n > 1) out.push(forbidden(sp, 'may not specify more than 1 volume type per source'));
  });
  return out;
}

function volumeSource(v: Obj, p: FieldPath, volName: string, opts: PodSpecOptions): StatusCause[] {
  const out: StatusCause[] = [];
  let count = 0;
  for (const [key, reportAs] of VOLUME_SOURCES) {
    if (!isSet(v[key])) continue;
    if (count > 0) {
      out.push(forbidden(p.child(reportAs), 'may not specify more than 1 volume type'));
      continue;
    }
    count++;
    const s = obj(v[key]) ?? {};
    const sp = p.child(key);
    switch (key) {
      case 'emptyDir': {
        if (isSet(s.sizeLimit)) {
          const errs: StatusCause[] = [];
          const q = quantityAt(s.sizeLimit, sp.child('sizeLimit'), errs);
          if (q && quantitySign(q) < 0) out.push(forbidden(sp.child('sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
          out.push(...errs);
        }
        break;
      }
      case 'hostPath': {
        const hp = str(s.path);
        if (!hp) {
          out.push(required(sp.child('path')));
          break;
        }
        out.push(...pathNoBacksteps(hp, sp.child('path')));
        const types = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
        if (isSet(s.type) && !types.includes(str(s.type))) out.push(notSupported(sp.child('type'), str(s.type), types));
        break;
      }
      case 'secret':
        if (!str(s.secretName)) out.push(required(sp.child('secretName')));
        out.push(...fileMode(s.defaultMode, sp.child('defaultMode')));
        items(s.items).forEach((kp, i) => out.push(...keyToPath(kp, sp.child('items').index(i))));
        break;
      case 'configMap':
        if (!str(s.name)) out.push(required(sp.child('name')));
        out.push(...fileMode(s.defaultMode, sp.child('defaultMode')));
        items(s.items).forEach((kp, i) => out.push(...keyToPath(kp, sp.child('items').index(i))));
        break;
      case 'persistentVolumeClaim':
        if (!str(s.claimName)) out.push(required(sp.child('claimName')));
        break;
      case 'downwardAPI':
        out.push(...fileMode(s.defaultMode, sp.child('defaultMode')));
        for (const f of items(s.items)) out.push(...downwardAPIFile(f, sp));
        break;
      case 'projected':
        out.push(...fileMode(s.defaultMode, sp.child('defaultMode')));
        out.push(...projectedSources(s, sp));
        break;
      case 'nfs':
        if (!str(s.server)) out.push(required(sp.child('server')));
        if (!str(s.path)) out.push(required(sp.child('path')));
        if (!str(s.path).startsWith('/')) out.push(invalid(sp.child('path'), str(s.path), 'must be an absolute path'));
        break;
      case 'gitRepo':
        if (!str(s.repository)) out.push(required(sp.child('repository')));
        out.push(...localDescendingPath(str(s.directory), sp.child('directory')));
        break;
      case 'csi': {
        const driver = str(s.driver);
        if (!driver) out.push(required(sp.child('driver')));
        if (driver.length > 63) out.push(tooLong(sp.child('driver'), 63));
        for (const m of validateDNS1123Subdomain(driver.toLowerCase(), sp.child('driver'))) out.push({ ...m, message: m.message?.replace(`"${driver.toLowerCase()}"`, `"${driver}"`) });
        break;
      }
      case 'ephemeral': {
        const tmpl = obj(s.volumeClaimTemplate);
        if (!tmpl) out.push(required(sp.child('volumeClaimTemplate')));
        else {
          const spec = obj(tmpl.spec) ?? {};
          if (arr(spec.accessModes).length === 0) out.push(required(sp.child('volumeClaimTemplate', 'spec', 'accessModes'), 'at least 1 access mode is required'));
        }
        if (opts.podName && volName) {
          const pvc = `${opts.podName}-${volName}`;
          for (const m of nameIsDNSSubdomain(pvc, false)) out.push(invalid(p.child('name'), volName, `PVC name "${pvc}": ${m}`));
        }
        break;
      }
      case 'image':
        if (opts.isPod && !str(s.reference)) out.push(required(sp.child('reference')));
        out.push(...pullPolicy(s.pullPolicy, sp.child('pullPolicy')));
        break;
      default:
        break;
    }
  }
  if (count === 0) out.push(required(p, 'must specify a volume type'));
  return out;
}

/** Validates spec.volumes and returns the names that resolved cleanly (for volumeMounts lookups). */
function validateVolumes(volumes: unknown, p: FieldPath, opts: PodSpecOptions, errs: StatusCause[]): Map<string, Obj> {
  const vols = new Map<string, Obj>();
  items(volumes).forEach((v, i) => {
    const ip = p.index(i);
    const name = str(v.name);
    const el = volumeSource(v, ip, name, opts);
    if (!name) el.push(required(ip.child('name')));
    else el.push(...validateDNS1123Label(name, ip.child('name')));
    if (vols.has(name)) el.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(name)}`, field: ip.child('name').toString() });
    if (el.length === 0) vols.set(name, v);
    else errs.push(...el);
  });
  return vols;
}

function pullPolicy(v: unknown, p: FieldPath): StatusCause[] {
  const s = str(v);
  if (s === 'Always' || s === 'IfNotPresent' || s === 'Never') return [];
  if (s === '') return [required(p)];
  return [notSupported(p, s, ['Always', 'IfNotPresent', 'Never'])];
}

function portNumOrName(v: unknown, p: FieldPath): StatusCause[] {
  if (typeof v === 'number') return isValidPortNum(v).map((m) => invalid(p, v, m));
  const s = str(v);
  return isValidPortName(s).map((m) => invalid(p, s, m));
}

function handler(h: Obj, p: FieldPath, gracePeriod: number | undefined, lifecycle: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  let n = 0;
  const kinds = lifecycle ? ['exec', 'httpGet', 'tcpSocket', 'sleep'] : ['exec', 'httpGet', 'tcpSocket', 'grpc'];
  for (const kind of kinds) {
    const a = obj(h[kind]);
    if (!a) continue;
    if (n > 0) {
      out.push(forbidden(p.child(kind), 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const ap = p.child(kind);
    if (kind === 'exec' && arr(a.command).length === 0) out.push(required(ap.child('command')));
    if (kind === 'httpGet') {
      if (!str(a.path)) out.push(required(ap.child('path')));
      out.push(...portNumOrName(a.port, ap.child('port')));
      const scheme = str(a.scheme);
      if (scheme !== 'HTTP' && scheme !== 'HTTPS') out.push(notSupported(ap.child('scheme'), scheme, ['HTTP', 'HTTPS']));
      for (const hdr of items(a.httpHeaders)) for (const m of isHTTPHeaderName(str(hdr.name))) out.push(invalid(ap.child('httpHeaders'), str(hdr.name), m));
    }
    if (kind === 'tcpSocket') out.push(...portNumOrName(a.port, ap.child('port')));
    if (kind === 'grpc') out.push(...portNumOrName(num(a.port) ?? 0, ap.child('port')));
    if (kind === 'sleep') {
      const secs = num(a.seconds) ?? 0;
      if (gracePeriod !== undefined && (secs < 0 || secs > gracePeriod))
        out.push(invalid(ap, secs, `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriod})`));
    }
  }
  if (n === 0) out.push(required(p, 'must specify a handler type'));
  return out;
}

function probe(pr: unknown, p: FieldPath, gracePeriod: number | undefined, kind: 'liveness' | 'readiness' | 'startup'): StatusCause[] {
  const o = obj(pr);
  if (!o) return [];
  const out = handler(o, p, gracePeriod, false);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) out.push(...validateNonnegative(o[f], p.child(f)));
  const tgp = num(o.terminationGracePeriodSeconds);
  if (tgp !== undefined && tgp <= 0) out.push(invalid(p.child('terminationGracePeriodSeconds'), tgp, 'must be greater than 0'));
  if (kind !== 'readiness') {
    const st = num(o.successThreshold) ?? 0;
    if (st !== 1) out.push(invalid(p.child('successThreshold'), st, 'must be 1'));
  } else if (isSet(o.terminationGracePeriodSeconds)) {
    out.push(invalid(p.child('terminationGracePeriodSeconds'), num(o.terminationGracePeriodSeconds) ?? null, 'must not be set for readinessProbes'));
  }
  return out;
}

function lifecycle(lc: unknown, p: FieldPath, gracePeriod: number | undefined): StatusCause[] {
  const o = obj(lc);
  if (!o) return [];
  const out: StatusCause[] = [];
  for (const h of ['postStart', 'preStop']) if (isObj(o[h])) out.push(...handler(o[h], p.child(h), gracePeriod, true));
  return out;
}

function containerPorts(ports: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const names = new Set<string>();
  items(ports).forEach((port, i) => {
    const ip = p.index(i);
    const name = str(port.name);
    if (name) {
      const msgs = isValidPortName(name);
      if (msgs.length) out.push(...msgs.map((m) => invalid(ip.child('name'), name, m)));
      else if (names.has(name)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(name)}`, field: ip.child('name').toString() });
      else names.add(name);
    }
    const cp = num(port.containerPort) ?? 0;
    if (cp === 0) out.push(required(ip.child('containerPort')));
    else out.push(...isValidPortNum(cp).map((m) => invalid(ip.child('containerPort'), cp, m)));
    const hp = num(port.hostPort) ?? 0;
    if (hp !== 0) out.push(...isValidPortNum(hp).map((m) => invalid(ip.child('hostPort'), hp, m)));
    const proto = str(port.protocol);
    if (!proto) out.push(required(ip.child('protocol')));
    else if (!PROTOCOLS.includes(proto)) out.push(notSupported(ip.child('protocol'), proto, PROTOCOLS));
  });
  return out;
}

function keySelector(s: Obj, p: FieldPath): StatusCause[] {
  const out = nameIsDNSSubdomain(str(s.name), false).map((m) => invalid(p.child('name'), str(s.name), m));
  const key = str(s.key);
  if (!key) out.push(required(p.child('key')));
  else out.push(...isConfigMapKey(key).map((m) => invalid(p.child('key'), key, m)));
  return out;
}

function env(vars: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  items(vars).forEach((ev, i) => {
    const ip = p.index(i);
    const name = str(ev.name);
    if (!name) out.push(required(ip.child('name')));
    else out.push(...isRelaxedEnvVarName(name).map((m) => invalid(ip.child('name'), name, m)));
    const vf = obj(ev.valueFrom);
    if (!vf) return;
    const vp = ip.child('valueFrom');
    let n = 0;
    if (isObj(vf.fieldRef)) {
      n++;
      out.push(...objectFieldSelector(vf.fieldRef, ENV_FIELD_PATHS, vp.child('fieldRef')));
    }
    if (isObj(vf.resourceFieldRef)) {
      n++;
      out.push(...resourceFieldSelector(vf.resourceFieldRef, vp.child('resourceFieldRef'), false));
    }
    if (isObj(vf.configMapKeyRef)) {
      n++;
      out.push(...keySelector(vf.configMapKeyRef, vp.child('configMapKeyRef')));
    }
    if (isObj(vf.secretKeyRef)) {
      n++;
      out.push(...keySelector(vf.secretKeyRef, vp.child('secretKeyRef')));
    }
    if (n === 0) out.push(invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (str(ev.value)) out.push(invalid(vp, '', 'may not be specified when `value` is not empty'));
    else if (n > 1) out.push(invalid(vp, '', 'may not have more than one field specified at a time'));
  });
  return out;
}

function envFrom(list: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  items(list).forEach((ev, i) => {
    const ip = p.index(i);
    const prefix = str(ev.prefix);
    if (prefix) out.push(...isRelaxedEnvVarName(prefix).map((m) => invalid(ip.child('prefix'), prefix, m)));
    let n = 0;
    for (const k of ['configMapRef', 'secretRef']) {
      const ref = obj(ev[k]);
      if (!ref) continue;
      n++;
      const name = str(ref.name);
      if (!name) out.push(required(ip.child(k, 'name')));
      else out.push(...nameIsDNSSubdomain(name, true).map((m) => invalid(ip.child(k, 'name'), name, m)));
    }
    if (n === 0) out.push(invalid(p, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) out.push(invalid(p, '', 'may not have more than one field specified at a time'));
  });
  return out;
}

function volumeMounts(mounts: unknown, devices: unknown, vols: Map<string, Obj>, ctr: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  const devNames = new Set(items(devices).map((d) => str(d.name)));
  const devPaths = new Set(items(devices).map((d) => str(d.devicePath)));
  items(mounts).forEach((m, i) => {
    const ip = p.index(i);
    const name = str(m.name);
    const mp = str(m.mountPath);
    if (!name) out.push(required(ip.child('name')));
    if (!vols.has(name)) out.push(notFound(ip.child('name'), name));
    if (!mp) out.push(required(ip.child('mountPath')));
    if (seen.has(mp)) out.push(invalid(ip.child('mountPath'), mp, 'must be unique'));
    seen.add(mp);
    if (devNames.has(name)) out.push(invalid(ip.child('name'), name, 'must not already exist in volumeDevices'));
    if (devPaths.has(mp)) out.push(invalid(ip.child('mountPath'), mp, 'must not already exist as a path in volumeDevices'));
    const subPath = str(m.subPath);
    const subPathExpr = str(m.subPathExpr);
    if (subPath) out.push(...localDescendingPath(subPath, p.child('subPath')));
    if (subPathExpr) {
      if (subPath) out.push(invalid(ip.child('subPathExpr'), subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      out.push(...localDescendingPath(subPathExpr, p.child('subPathExpr')));
    }
    if (isSet(m.mountPropagation)) {
      const mpv = str(m.mountPropagation);
      const supported = ['Bidirectional', 'HostToContainer', 'None'];
      if (!supported.includes(mpv)) out.push(notSupported(p.child('mountPropagation'), mpv, supported));
      const privileged = obj(ctr.securityContext)?.privileged === true;
      if (mpv === 'Bidirectional' && !privileged) out.push(forbidden(p.child('mountPropagation'), 'Bidirectional mount propagation is available only to privileged containers'));
    }
    if (isSet(m.recursiveReadOnly)) {
      const rro = str(m.recursiveReadOnly);
      if (rro === 'Enabled' || rro === 'IfPossible') {
        if (m.readOnly !== true) out.push(forbidden(p.child('recursiveReadOnly'), 'may only be specified when readOnly is true'));
      } else if (rro !== 'Disabled') out.push(notSupported(p.child('recursiveReadOnly'), rro, ['Disabled', 'Enabled', 'IfPossible']));
    }
  });
  return out;
}

function securityContext(sc: unknown, p: FieldPath): StatusCause[] {
  const s = obj(sc);
  if (!s) return [];
  const out: StatusCause[] = [];
  for (const f of ['runAsUser', 'runAsGroup']) {
    const v = num(s[f]);
    if (v !== undefined && (v < 0 || v > 4294967295)) out.push(invalid(p.child(f), v, inclusiveRangeError(0, 4294967295)));
  }
  if (isSet(s.procMount)) {
    const pm = str(s.procMount);
    if (pm !== 'Default' && pm !== 'Unmasked') out.push(notSupported(p.child('procMount'), pm, ['Default', 'Unmasked']));
    else if (pm === 'Unmasked') out.push(invalid(p.child('procMount'), pm, '`hostUsers` must be false to use `Unmasked`'));
  }
  out.push(...seccompProfile(s.seccompProfile, p.child('seccompProfile')));
  if (s.allowPrivilegeEscalation === false && s.privileged === true)
    out.push(invalid(p, new GoLiteral('&core.SecurityContext{...}'), 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
  return out;
}

function seccompProfile(v: unknown, p: FieldPath): StatusCause[] {
  const s = obj(v);
  if (!s) return [];
  const t = str(s.type);
  const out: StatusCause[] = [];
  if (!t) out.push(required(p.child('type'), 'type is required when seccompProfile is set'));
  else if (!['Localhost', 'RuntimeDefault', 'Unconfined'].includes(t)) out.push(notSupported(p.child('type'), t, ['Localhost', 'RuntimeDefault', 'Unconfined']));
  if (t === 'Localhost') {
    if (!isSet(s.localhostProfile)) out.push(required(p.child('localhostProfile'), 'must be set when seccomp type is Localhost'));
    else out.push(...localDescendingPath(str(s.localhostProfile), p.child('localhostProfile')));
  } else if (isSet(s.localhostProfile)) {
    out.push(invalid(p.child('localhostProfile'), new GoLiteral('core.SeccompProfile{...}'), 'can only be set when seccomp type is Localhost'));
  }
  return out;
}

function containerCommon(c: Obj, vols: Map<string, Obj>, p: FieldPath, claimNames: Set<string>): StatusCause[] {
  const out: StatusCause[] = [];
  const name = str(c.name);
  if (!name) out.push(required(p.child('name')));
  else out.push(...validateDNS1123Label(name, p.child('name')));
  if (!str(c.image)) out.push(required(p.child('image')));
  const tmp = str(c.terminationMessagePolicy);
  if (!tmp) out.push(required(p.child('terminationMessagePolicy')));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') out.push(notSupported(p.child('terminationMessagePolicy'), tmp, ['File', 'FallbackToLogsOnError']));
  out.push(...containerPorts(c.ports, p.child('ports')));
  out.push(...env(c.env, p.child('env')));
  out.push(...envFrom(c.envFrom, p.child('envFrom')));
  out.push(...volumeMounts(c.volumeMounts, c.volumeDevices, vols, c, p.child('volumeMounts')));
  items(c.volumeDevices).forEach((d, i) => {
    const dp = p.child('volumeDevices').index(i);
    const dn = str(d.name);
    if (!dn) out.push(required(dp.child('name')));
    const src = vols.get(dn);
    if (!src) out.push(notFound(dp.child('name'), dn));
    else if (!isSet(src.persistentVolumeClaim) && !isSet(src.ephemeral))
      out.push(invalid(dp.child('name'), dn, 'can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode'));
    if (!str(d.devicePath)) out.push(required(dp.child('devicePath')));
  });
  out.push(...pullPolicy(c.imagePullPolicy, p.child('imagePullPolicy')));
  out.push(...validateResourceRequirements(c.resources, p.child('resources'), claimNames));
  out.push(...securityContext(c.securityContext, p.child('securityContext')));
  return out;
}

function hostPortConflicts(containers: Obj[], p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    items(c.ports).forEach((port, pi) => {
      const hp = num(port.hostPort) ?? 0;
      if (hp === 0) return;
      const key = `${str(port.protocol)}/${str(port.hostIP)}/${hp}`;
      if (seen.has(key)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(key)}`, field: p.index(ci).child('ports').index(pi).child('hostPort').toString() });
      else seen.add(key);
    });
  });
  return out;
}

function tolerations(list: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  items(list).forEach((t, i) => {
    const ip = p.index(i);
    const key = str(t.key);
    const op = str(t.operator);
    const effect = str(t.effect);
    if (key) out.push(...validateLabelName(key, ip.child('key')));
    if (!key && op !== 'Exists') out.push(invalid(ip.child('operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (isSet(t.tolerationSeconds) && effect !== 'NoExecute') out.push(invalid(ip.child('effect'), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    if (op === 'Equal' || op === '') {
      const errs = isValidLabelValue(str(t.value));
      if (errs.length) out.push(invalid(ip.child('operator'), str(t.value), errs.join(';')));
    } else if (op === 'Exists') {
      if (str(t.value)) out.push(invalid(ip.child('operator'), str(t.value), "value must be empty when `operator` is 'Exists'"));
    } else {
      out.push(notSupported(ip.child('operator'), op, ['Equal', 'Exists']));
    }
    if (effect && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(effect)) out.push(notSupported(ip.child('effect'), effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
  });
  return out;
}

export { tolerations as validateTolerations };

function nodeSelectorTerm(term: Obj, p: FieldPath, checkValues: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  items(term.matchExpressions).forEach((rq, j) => {
    const rp = p.child('matchExpressions').index(j);
    const op = str(rq.operator);
    const values = arr(rq.values).map(str);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) out.push(required(rp.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) out.push(forbidden(rp.child('values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else if (op === 'Gt' || op === 'Lt') {
      if (values.length !== 1) out.push(required(rp.child('values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
    } else out.push(invalid(rp.child('operator'), op, 'not a valid selector operator'));
    out.push(...validateLabelName(str(rq.key), rp.child('key')));
    if (checkValues) values.forEach((v, k) => out.push(...isValidLabelValue(v).map((m) => invalid(rp.child('values').index(k), v, m))));
  });
  items(term.matchFields).forEach((rq, j) => {
    const rp = p.child('matchFields').index(j);
    const op = str(rq.operator);
    if (op === 'In' || op === 'NotIn') {
      if (arr(rq.values).length !== 1) out.push(required(rp.child('values'), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    } else out.push(invalid(rp.child('operator'), op, 'not a valid selector operator'));
    if (str(rq.key) !== 'metadata.name') out.push(invalid(rp.child('key'), str(rq.key), 'not a valid field selector key'));
  });
  return out;
}

export function validateNodeSelector(ns: Obj, p: FieldPath): StatusCause[] {
  const terms = items(ns.nodeSelectorTerms);
  if (terms.length === 0) return [required(p.child('nodeSelectorTerms'), 'must have at least one node selector term')];
  return terms.flatMap((t, i) => nodeSelectorTerm(t, p.child('nodeSelectorTerms').index(i), true));
}

function podAffinityTerm(t: Obj, p: FieldPath): StatusCause[] {
  const out = [...validateLabelSelector(t.labelSelector, p.child('labelSelector')), ...validateLabelSelector(t.namespaceSelector, p.child('namespaceSelector'))];
  for (const ns of arr(t.namespaces).map(str)) out.push(...isDNS1123Label(ns).map((m) => invalid(p.child('namespace'), ns, m)));
  const tk = str(t.topologyKey);
  if (!tk) out.push(required(p.child('topologyKey'), 'can not be empty'));
  out.push(...validateLabelName(tk, p.child('topologyKey')));
  return out;
}

function affinity(a: unknown, p: FieldPath): StatusCause[] {
  const o = obj(a);
  if (!o) return [];
  const out: StatusCause[] = [];
  const na = obj(o.nodeAffinity);
  if (na) {
    const np = p.child('nodeAffinity');
    const req = obj(na.requiredDuringSchedulingIgnoredDuringExecution);
    if (req) out.push(...validateNodeSelector(req, np.child('requiredDuringSchedulingIgnoredDuringExecution')));
    items(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((t, i) => {
      const tp = np.child('preferredDuringSchedulingIgnoredDuringExecution').index(i);
      const w = num(t.weight) ?? 0;
      if (w <= 0 || w > 100) out.push(invalid(tp.child('weight'), w, 'must be in the range 1-100'));
      out.push(...nodeSelectorTerm(obj(t.preference) ?? {}, tp.child('preference'), false));
    });
  }
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const pa = obj(o[kind]);
    if (!pa) continue;
    const pp = p.child(kind);
    items(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) => out.push(...podAffinityTerm(t, pp.child('requiredDuringSchedulingIgnoredDuringExecution').index(i))));
    items(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((t, i) => {
      const tp = pp.child('preferredDuringSchedulingIgnoredDuringExecution').index(i);
      const w = num(t.weight) ?? 0;
      if (w <= 0 || w > 100) out.push(invalid(tp.child('weight'), w, 'must be in the range 1-100'));
      out.push(...podAffinityTerm(obj(t.podAffinityTerm) ?? {}, tp.child('podAffinityTerm')));
    });
  }
  return out;
}

function podSecurityContext(sc: unknown, p: FieldPath): StatusCause[] {
  const s = obj(sc);
  if (!s) return [];
  const out: StatusCause[] = [];
  for (const f of ['fsGroup', 'runAsUser', 'runAsGroup']) {
    const v = num(s[f]);
    if (v !== undefined && (v < 0 || v > 4294967295)) out.push(invalid(p.child(f), v, inclusiveRangeError(0, 4294967295)));
  }
  arr(s.supplementalGroups).forEach((g, i) => {
    const v = num(g);
    if (v !== undefined && (v < 0 || v > 4294967295)) out.push(invalid(p.child('supplementalGroups').index(i), v, inclusiveRangeError(0, 4294967295)));
  });
  if (s.shareProcessNamespace === true && s.hostPID === true) out.push(invalid(p.child('shareProcessNamespace'), true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  const names = new Set<string>();
  items(s.sysctls).forEach((sy, i) => {
    const np = p.child('sysctls').index(i).child('name');
    const n = str(sy.name);
    if (!n) out.push(required(np));
    else if (n.length > 253 || !/^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$/.test(n))
      out.push(invalid(np, n, 'must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$'));
    else if (names.has(n)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(n)}`, field: np.toString() });
    names.add(n);
  });
  if (isSet(s.fsGroupChangePolicy) && !['Always', 'OnRootMismatch'].includes(str(s.fsGroupChangePolicy)))
    out.push(notSupported(p.child('fsGroupChangePolicy'), str(s.fsGroupChangePolicy), ['Always', 'OnRootMismatch']));
  out.push(...seccompProfile(s.seccompProfile, p.child('seccompProfile')));
  return out;
}

function topologySpread(list: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const cs = items(list);
  cs.forEach((c, i) => {
    const cp = p.index(i);
    const skew = num(c.maxSkew) ?? 0;
    if (skew <= 0) out.push(invalid(cp.child('maxSkew'), skew, 'must be greater than zero'));
    const tk = str(c.topologyKey);
    if (!tk) out.push(required(cp.child('topologyKey'), 'can not be empty'));
    const wu = str(c.whenUnsatisfiable);
    if (wu !== 'DoNotSchedule' && wu !== 'ScheduleAnyway') out.push(notSupported(cp.child('whenUnsatisfiable'), wu, ['DoNotSchedule', 'ScheduleAnyway']));
    if (cs.slice(i + 1).some((o) => str(o.topologyKey) === tk && str(o.whenUnsatisfiable) === wu))
      out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(`{${tk}, ${wu}}`)}`, field: cp.child('{topologyKey, whenUnsatisfiable}').toString() });
    const md = num(c.minDomains);
    if (md !== undefined) {
      if (md <= 0) out.push(invalid(cp.child('minDomains'), md, 'must be greater than zero'));
      if (wu !== 'DoNotSchedule') out.push(invalid(cp.child('minDomains'), md, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${wu}`));
    }
    for (const f of ['nodeAffinityPolicy', 'nodeTaintsPolicy'])
      if (isSet(c[f]) && !['Honor', 'Ignore'].includes(str(c[f]))) out.push(notSupported(cp.child(f), str(c[f]), ['Honor', 'Ignore']));
    out.push(...validateLabelSelector(c.labelSelector, cp.child('labelSelector')));
  });
  return out;
}

function dnsConfig(cfg: unknown, dnsPolicy: string, p: FieldPath): StatusCause[] {
  const c = obj(cfg);
  if (dnsPolicy === 'None') {
    if (!c) return [required(p, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if (arr(c.nameservers).length === 0) return [required(p.child('nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None')];
  }
  if (!c) return [];
  const out: StatusCause[] = [];
  const ns = arr(c.nameservers).map(str);
  if (ns.length > 3) out.push(invalid(p.child('nameservers'), goStringSlice(ns), 'must not have more than 3 nameservers'));
  ns.forEach((n, i) => {
    if (!isIP(n)) out.push(invalid(p.child('nameservers').index(i), n, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  const searches = arr(c.searches).map(str);
  if (searches.length > 32) out.push(invalid(p.child('searches'), goStringSlice(searches), 'must not have more than 32 search paths'));
  if (searches.join(' ').length > 2048) out.push(invalid(p.child('searches'), goStringSlice(searches), 'must not have more than 2048 characters (including spaces) in the search list'));
  searches.forEach((s, i) => {
    if (s === '.') return;
    const t = s.endsWith('.') ? s.slice(0, -1) : s;
    const re = /^_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*$/;
    if (t.length > 253) out.push(invalid(p.child('searches').index(i), t, 'must be no more than 253 characters'));
    if (!re.test(t))
      out.push(
        invalid(
          p.child('searches').index(i),
          t,
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')",
        ),
      );
  });
  items(c.options).forEach((o, i) => {
    if (!str(o.name)) out.push(required(p.child('options').index(i), 'must not be empty'));
  });
  return out;
}

/** spec.restartPolicy / dnsPolicy and friends: the enum checks shared by pods and templates. */
function enumOrRequired(v: unknown, p: FieldPath, allowed: string[]): StatusCause[] {
  const s = str(v);
  if (s === '') return [required(p)];
  return allowed.includes(s) ? [] : [notSupported(p, s, allowed)];
}

export function validatePodSpec(specValue: unknown, p: FieldPath, opts: PodSpecOptions = {}): StatusCause[] {
  const spec = obj(specValue) ?? {};
  const out: StatusCause[] = [];
  if (!isSet(spec.terminationGracePeriodSeconds)) out.push(required(p.child('terminationGracePeriodSeconds')));
  const grace = num(spec.terminationGracePeriodSeconds);
  const vols = validateVolumes(spec.volumes, p.child('volumes'), opts, out);

  const claimNames = new Set(items(spec.resourceClaims).map((c) => str(c.name)).filter(Boolean));
  const seenClaims = new Set<string>();
  items(spec.resourceClaims).forEach((c, i) => {
    const cp = p.child('resourceClaims').index(i);
    const n = str(c.name);
    if (!n) out.push(required(cp.child('name')));
    else if (seenClaims.has(n)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(n)}`, field: cp.child('name').toString() });
    else {
      seenClaims.add(n);
      out.push(...validateDNS1123Label(n, cp.child('name')));
    }
  });

  const containers = items(spec.containers);
  const cpath = p.child('containers');
  if (containers.length === 0) out.push(required(cpath));
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const ip = cpath.index(i);
    out.push(...containerCommon(c, vols, ip, claimNames));
    const n = str(c.name);
    if (names.has(n)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(n)}`, field: ip.child('name').toString() });
    else names.add(n);
    out.push(...lifecycle(c.lifecycle, ip.child('lifecycle'), grace));
    out.push(...probe(c.livenessProbe, ip.child('livenessProbe'), grace, 'liveness'));
    out.push(...probe(c.readinessProbe, ip.child('readinessProbe'), grace, 'readiness'));
    out.push(...probe(c.startupProbe, ip.child('startupProbe'), grace, 'startup'));
    if (isSet(c.restartPolicy)) out.push(forbidden(ip.child('restartPolicy'), 'may not be set for non-init containers'));
  });
  out.push(...hostPortConflicts(containers, cpath));

  const ipath = p.child('initContainers');
  items(spec.initContainers).forEach((c, i) => {
    const ip = ipath.index(i);
    out.push(...containerCommon(c, vols, ip, claimNames));
    const always = str(c.restartPolicy) === 'Always';
    if (isSet(c.restartPolicy) && !always) out.push(notSupported(ip.child('restartPolicy'), str(c.restartPolicy), ['Always']));
    const n = str(c.name);
    if (names.has(n)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(n)}`, field: ip.child('name').toString() });
    else if (n) names.add(n);
    out.push(...hostPortConflicts([c], ipath));
    if (always) {
      out.push(...lifecycle(c.lifecycle, ip.child('lifecycle'), grace));
      out.push(...probe(c.livenessProbe, ip.child('livenessProbe'), grace, 'liveness'));
      out.push(...probe(c.readinessProbe, ip.child('readinessProbe'), grace, 'readiness'));
      out.push(...probe(c.startupProbe, ip.child('startupProbe'), grace, 'startup'));
    } else {
      for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'])
        if (isSet(c[f])) out.push(forbidden(ip.child(f), 'may not be set for init containers without restartPolicy=Always'));
    }
  });

  items(spec.ephemeralContainers).forEach((c, i) => {
    const ip = p.child('ephemeralContainers').index(i);
    out.push(...containerCommon(c, vols, ip, claimNames));
    const n = str(c.name);
    if (names.has(n)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(n)}`, field: ip.child('name').toString() });
    else names.add(n);
    for (const f of ['ports', 'resources', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'])
      if (isSet(c[f]) && !(f === 'resources' && Object.keys(obj(c[f]) ?? {}).length === 0) && !(f === 'ports' && arr(c[f]).length === 0))
        out.push(forbidden(ip.child(f), 'cannot be set for an Ephemeral Container'));
  });

  if (spec.hostNetwork === true) {
    containers.forEach((c, i) => {
      items(c.ports).forEach((port, j) => {
        const hp = num(port.hostPort) ?? 0;
        const cp = num(port.containerPort) ?? 0;
        if ((opts.isPod || hp !== 0) && hp !== cp)
          out.push(invalid(cpath.index(i).child('ports').index(j).child('hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
      });
    });
  }

  out.push(...enumOrRequired(spec.restartPolicy, p.child('restartPolicy'), ['Always', 'OnFailure', 'Never']));
  out.push(...enumOrRequired(spec.dnsPolicy, p.child('dnsPolicy'), ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']));
  out.push(...validateLabels(spec.nodeSelector, p.child('nodeSelector')));
  out.push(...podSecurityContext(spec.securityContext, p.child('securityContext')));
  items(spec.imagePullSecrets).forEach((s, i) => {
    if (Object.keys(s).some((k) => k !== 'name')) out.push(invalid(p.child('imagePullSecrets').index(i), new GoLiteral(`core.LocalObjectReference{Name:${JSON.stringify(str(s.name))}}`), 'only name may be set'));
  });
  out.push(...affinity(spec.affinity, p.child('affinity')));
  out.push(...dnsConfig(spec.dnsConfig, str(spec.dnsPolicy), p.child('dnsConfig')));
  items(spec.readinessGates).forEach((g, i) => out.push(...validateQualifiedName(str(g.conditionType), p.child('readinessGates').index(i).child('conditionType'))));
  const gates = new Set<string>();
  items(spec.schedulingGates).forEach((g, i) => {
    const gp = p.child('schedulingGates').index(i);
    out.push(...validateQualifiedName(str(g.name), gp));
    if (gates.has(str(g.name))) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(str(g.name))}`, field: gp.toString() });
    gates.add(str(g.name));
  });
  out.push(...topologySpread(spec.topologySpreadConstraints, p.child('topologySpreadConstraints')));
  const sa = str(spec.serviceAccountName);
  if (sa) out.push(...nameIsDNSSubdomain(sa, false).map((m) => invalid(p.child('serviceAccountName'), sa, m)));
  const node = str(spec.nodeName);
  if (node) out.push(...nameIsDNSSubdomain(node, false).map((m) => invalid(p.child('nodeName'), node, m)));
  const ads = num(spec.activeDeadlineSeconds);
  if (ads !== undefined && (ads < 1 || ads > 2147483647)) out.push(invalid(p.child('activeDeadlineSeconds'), ads, inclusiveRangeError(1, 2147483647)));
  if (str(spec.hostname)) out.push(...validateDNS1123Label(str(spec.hostname), p.child('hostname')));
  if (str(spec.subdomain)) out.push(...validateDNS1123Label(str(spec.subdomain), p.child('subdomain')));
  out.push(...tolerations(spec.tolerations, p.child('tolerations')));
  items(spec.hostAliases).forEach((h, i) => {
    const hp = p.child('hostAliases').index(i);
    if (!isIP(str(h.ip))) out.push(invalid(hp.child('ip'), str(h.ip), 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    arr(h.hostnames).forEach((n, j) => out.push(...validateDNS1123Subdomain(str(n), hp.child('hostnames').index(j))));
  });
  const pcn = str(spec.priorityClassName);
  if (pcn) out.push(...nameIsDNSSubdomain(pcn, false).map((m) => invalid(p.child('priorityClassName'), pcn, m)));
  if (isSet(spec.runtimeClassName)) out.push(...nameIsDNSSubdomain(str(spec.runtimeClassName), false).map((m) => invalid(p.child('runtimeClassName'), str(spec.runtimeClassName), m)));
  if (isSet(spec.preemptionPolicy)) out.push(...enumOrRequired(spec.preemptionPolicy, p.child('preemptionPolicy'), ['PreemptLowerPriority', 'Never']));
  if (isSet(spec.overhead)) out.push(...validateResourceRequirements({ limits: spec.overhead }, p.child('overhead')));
  const os = obj(spec.os);
  if (os) {
    const n = str(os.name);
    if (!n) out.push(required(p.child('os', 'name'), 'cannot be empty'));
    else if (n !== 'linux' && n !== 'windows') out.push(notSupported(p.child('os'), n, ['linux', 'windows']));
  }
  return out;
}

/** A PodTemplateSpec: template labels/annotations plus the pod spec. */
export function validatePodTemplateSpec(tmplValue: unknown, p: FieldPath): StatusCause[] {
  const t = obj(tmplValue) ?? {};
  const meta = obj(t.metadata) ?? {};
  const out = [...validateLabels(meta.labels, p.child('labels')), ...validateAnnotations(meta.annotations, p.child('annotations'))];
  out.push(...validatePodSpec(t.spec, p.child('spec')));
  if (arr(obj(t.spec)?.ephemeralContainers).length > 0) out.push(forbidden(p.child('spec', 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  return out;
}

/** Pod-only extras on top of validatePodSpec (no stray whitespace in images, token projections need an SA). */
export function validatePodOnly(spec: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (!str(spec.serviceAccountName))
    items(spec.volumes).forEach((v, vi) => {
      items(obj(v.projected)?.sources).forEach((s, si) => {
        if (isSet(s.serviceAccountToken))
          out.push(forbidden(p.child('volumes').index(vi).child('projected', 'sources').index(si).child('serviceAccountToken'), 'must not be specified when serviceAccountName is not set'));
      });
    });
  for (const list of ['containers', 'initContainers'])
    items(spec[list]).forEach((c, i) => {
      const img = str(c.image);
      if (img.length !== img.trim().length) out.push(invalid(p.child(list).index(i).child('image'), img, 'must not have leading or trailing whitespace'));
    });
  return out;
}

const UPDATABLE_POD_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function goFieldName(k: string): string {
  return k.charAt(0).toUpperCase() + k.slice(1);
}

/** A short cmp.Diff-like rendering of the PodSpec fields that differ. */
function podSpecDiff(oldSpec: Obj, newSpec: Obj): string {
  const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])];
  const lines = ['  core.PodSpec{'];
  for (const k of keys) {
    if (JSON.stringify(oldSpec[k]) === JSON.stringify(newSpec[k])) continue;
    if (isSet(oldSpec[k])) lines.push(`- \t${goFieldName(k)}: ${JSON.stringify(oldSpec[k])},`);
    if (isSet(newSpec[k])) lines.push(`+ \t${goFieldName(k)}: ${JSON.stringify(newSpec[k])},`);
  }
  lines.push('  }');
  return lines.join('\n') + '\n';
}

/** The pod-update rules: only images, activeDeadlineSeconds (downwards), added tolerations and removed
 *  scheduling gates may change. */
export function validatePodSpecUpdate(newSpecValue: unknown, oldSpecValue: unknown): StatusCause[] {
  const ns = obj(newSpecValue) ?? {};
  const os = obj(oldSpecValue) ?? {};
  const sp = FieldPath.root('spec');
  const out: StatusCause[] = [];
  for (const list of ['containers', 'initContainers']) {
    const nc = items(ns[list]);
    const oc = items(os[list]);
    if (nc.length !== oc.length) {
      out.push(forbidden(sp.child(list), 'pod updates may not add or remove containers'));
      return out;
    }
    nc.forEach((c, i) => {
      const img = str(c.image);
      if (!img) out.push(required(sp.child(list).index(i).child('image')));
      if (img.trim().length !== img.length) out.push(invalid(sp.child(list).index(i).child('image'), img, 'must not have leading or trailing whitespace'));
    });
  }
  const nAds = num(ns.activeDeadlineSeconds);
  const oAds = num(os.activeDeadlineSeconds);
  if (nAds !== undefined) {
    if (nAds < 0 || nAds > 2147483647) return [...out, invalid(sp.child('activeDeadlineSeconds'), nAds, inclusiveRangeError(0, 2147483647))];
    if (oAds !== undefined && oAds < nAds) return [...out, invalid(sp.child('activeDeadlineSeconds'), nAds, 'must be less than or equal to previous value')];
  } else if (oAds !== undefined) {
    out.push(invalid(sp.child('activeDeadlineSeconds'), null, 'must not update from a positive integer to nil value'));
  }
  // Existing tolerations may only change their tolerationSeconds.
  const nt = items(ns.tolerations);
  for (const ot of items(os.tolerations)) {
    const found = nt.some((t) => sameToleration(ot, t));
    if (!found) {
      out.push(forbidden(sp.child('tolerations'), 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  out.push(...tolerations(ns.tolerations, sp.child('tolerations')));
  const oldGates = new Set(items(os.schedulingGates).map((g) => str(g.name)));
  items(ns.schedulingGates).forEach((g, i) => {
    if (!oldGates.has(str(g.name))) out.push(forbidden(sp.child('schedulingGates').index(i).child('name'), `only deletion is allowed, but found new scheduling gate '${str(g.name)}'`));
  });

  const munged: Obj = structuredClone(ns);
  for (const list of ['containers', 'initContainers']) {
    const oc = items(os[list]);
    if (Array.isArray(munged[list])) munged[list] = items(munged[list]).map((c, i) => ({ ...c, image: oc[i]?.image }));
  }
  munged.activeDeadlineSeconds = os.activeDeadlineSeconds;
  munged.schedulingGates = os.schedulingGates;
  munged.tolerations = os.tolerations;
  const otgp = num(os.terminationGracePeriodSeconds);
  if (otgp !== undefined && otgp < 0 && num(munged.terminationGracePeriodSeconds) === 1) munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds;
  if (items(os.schedulingGates).length > 0) {
    // Gated pods may gain node selectors and node affinity terms.
    const onsel = strMap(os.nodeSelector) ?? {};
    const nnsel = strMap(munged.nodeSelector) ?? {};
    if (Object.entries(onsel).some(([k, v]) => nnsel[k] !== v))
      out.push(invalid(sp.child('nodeSelector'), goStringMap(nnsel), 'only additions to spec.nodeSelector are allowed (no mutations or deletions)'));
    munged.nodeSelector = os.nodeSelector;
    const maff = obj(munged.affinity);
    if (maff) munged.affinity = { ...maff, nodeAffinity: obj(os.affinity)?.nodeAffinity };
  }
  if (!canonicalEqual(munged, os)) out.push(forbidden(sp, `pod updates may not change fields other than ${UPDATABLE_POD_FIELDS.join(',')}\n${podSpecDiff(os, munged)}`));
  return out;
}

function sameToleration(a: Obj, b: Obj): boolean {
  const strip = (t: Obj) => ({ key: str(t.key), operator: str(t.operator), value: str(t.value), effect: str(t.effect) });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function canonicalEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortDeep(a)) === JSON.stringify(sortDeep(b));
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined && v[k] !== null) out[k] = sortDeep(v[k]);
    return out;
  }
  return v;
}


import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IngressModel } from './model.js';
import { NginxMaster } from './nginx.js';
import { renderNginxConf, type RenderOptions } from './render.js';
import { ensureDefaultCertificate } from './tls.js';

// The nginx data plane in kite's data dir:
//   <dataDir>/nginx/nginx.conf        the configuration nginx runs (nginx.conf.next while it is checked)
//   <dataDir>/nginx/certs/<id>.pem    one file per TLS Secret version (content-addressed, mode 0600)
//   <dataDir>/nginx/default-cert.pem  the self-signed default certificate
//   <dataDir>/nginx/tmp/              nginx's temp paths;  <dataDir>/nginx/nginx.pid
// A model is applied by writing its certificates, checking the whole configuration with `nginx -t`, and
// only then replacing nginx.conf and reloading. Certificate files are never rewritten in place, so a
// configuration that fails its check leaves the running one (and the files it names) intact.

export interface DataPlaneOptions {
  dataDir: string;
  httpPort: number;
  httpsPort: number;
  bindAddress: string;
  nginxBinary?: string;
  log(m: string): void;
}

export type ApplyResult = 'unchanged' | 'started' | 'reloaded' | 'invalid';

function workerUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined; // nginx cannot switch users anyway
  return 'nobody nogroup';
}

export class DataPlane {
  readonly prefix: string;
  readonly conf: string;
  private readonly certDir: string;
  private readonly defaultCert: string;
  private readonly nginx: NginxMaster;
  private applied: string | undefined;
  private readonly renderOpts: RenderOptions;

  constructor(private readonly o: DataPlaneOptions) {
    this.prefix = join(o.dataDir, 'nginx');
    this.conf = join(this.prefix, 'nginx.conf');
    this.certDir = join(this.prefix, 'certs');
    this.defaultCert = join(this.prefix, 'default-cert.pem');
    this.nginx = new NginxMaster({ prefix: this.prefix, conf: this.conf, binary: o.nginxBinary, log: o.log });
    this.renderOpts = {
      prefix: this.prefix,
      certDir: this.certDir,
      defaultCertificate: this.defaultCert,
      httpPort: o.httpPort,
      httpsPort: o.httpsPort,
      bindAddress: o.bindAddress,
      user: workerUser(),
    };
  }

  set onUnexpectedExit(fn: (reason: string) => void) {
    this.nginx.onUnexpectedExit = (reason) => {
      this.applied = undefined; // the next apply starts nginx again
      fn(reason);
    };
  }

  async prepare(): Promise<void> {
    mkdirSync(this.certDir, { recursive: true, mode: 0o700 });
    chmodSync(this.certDir, 0o700);
    mkdirSync(join(this.prefix, 'tmp'), { recursive: true });
    await ensureDefaultCertificate(this.defaultCert);
    await this.nginx.stopLeftover();
  }

  render(model: IngressModel): string {
    return renderNginxConf(model, this.renderOpts);
  }

  async apply(model: IngressModel): Promise<ApplyResult> {
    const text = this.render(model);
    if (text === this.applied && this.nginx.running()) return 'unchanged';
    for (const c of model.certificates) {
      const file = join(this.certDir, `${c.id}.pem`);
      if (existsSync(file)) continue;
      writeFileSync(`${file}.tmp`, c.pem, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    }
    const next = `${this.conf}.next`;
    writeFileSync(next, text, { mode: 0o600 });
    const problem = await this.nginx.test(next);
    if (problem) {
      rmSync(next, { force: true });
      this.o.log(`generated nginx configuration is invalid, keeping the running one: ${problem}`);
      return 'invalid';
    }
    renameSync(next, this.conf);
    let result: ApplyResult;
    if (this.nginx.running()) {
      this.nginx.reload();
      result = 'reloaded';
    } else {
      await this.nginx.start();
      result = 'started';
    }
    this.applied = text;
    this.pruneCertificates(model);
    return result;
  }

  /** Remove certificate files the running configuration no longer names (Secrets deleted or rotated). */
  private pruneCertificates(model: IngressModel): void {
    const keep = new Set(model.certificates.map((c) => `${c.id}.pem`));
    for (const f of readdirSync(this.certDir)) if (!keep.has(f)) rmSync(join(this.certDir, f), { force: true });
  }

  /** Stop nginx and remove the private keys it was given; the next start writes them again. */
  async stop(): Promise<void> {
    await this.nginx.stop();
    this.applied = undefined;
    rmSync(this.certDir, { recursive: true, force: true });
    rmSync(`${this.conf}.next`, { force: true });
  }
}

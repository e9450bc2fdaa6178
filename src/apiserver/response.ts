import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { StatusError, internalError } from '../api/errors.js';

// Writing responses: JSON bodies (gzip when asked and worth it) and Status errors.

export function sendJson(req: IncomingMessage, res: ServerResponse, code: number, body: unknown, contentType = 'application/json', extraHeaders: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  let payload: Buffer = Buffer.from(text);
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', ...extraHeaders };
  if (payload.length > 128 * 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    payload = gzipSync(payload, { level: 1 });
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = payload.length;
  res.writeHead(code, headers);
  res.end(req.method === 'HEAD' ? undefined : payload);
}

export function toStatusError(e: unknown): StatusError {
  if (e instanceof StatusError) return e;
  const err = e as Error;
  return internalError(err?.message ?? String(e));
}

export function sendError(req: IncomingMessage, res: ServerResponse, e: unknown): void {
  const se = toStatusError(e);
  if (se.code >= 500) console.error(`kite: ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // After an oversized body the connection's state is not worth keeping.
  sendJson(req, res, se.code, se.toStatus(), 'application/json', se.code === 413 ? { Connection: 'close' } : {});
}

/** Warnings kubectl prints ("Warning: unknown field ..."), in the RFC 7234 form kube-apiserver uses. */
export function warningHeader(warnings: string[]): Record<string, string> {
  if (!warnings.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

import { StatusError } from '../errors.js';

// Patch failures carry the HTTP code kube-apiserver answers with, so a handler can send them as they are.
// kube-apiserver replaces the text of some 422s with a fixed sentence (it builds them with
// NewGenericServerResponse); `detail` keeps the real reason for logs and tests.

const GENERIC_422 = 'the server rejected our request due to an error in our request';

export class PatchError extends StatusError {
  readonly detail: string;

  constructor(code: number, reason: string, message: string, detail = message) {
    super(code, reason, message);
    this.detail = detail;
  }
}

/** A malformed patch document: 400 with the reason as message. */
export function patchBadRequest(detail: string): PatchError {
  return new PatchError(400, 'BadRequest', detail);
}

/** A patch that could not be applied to this object: 422 with kube-apiserver's fixed message. */
export function patchUnprocessable(detail: string): PatchError {
  return new PatchError(422, 'Invalid', GENERIC_422, detail);
}

/** Errors kube-apiserver does not classify reach the client as a 500 carrying the raw text. */
export function patchInternal(detail: string): PatchError {
  return new PatchError(500, 'InternalError', detail);
}

export function patchTooLarge(detail: string): PatchError {
  return new PatchError(413, 'RequestEntityTooLarge', detail);
}

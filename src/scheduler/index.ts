import type { Controller } from '../controllers/runtime.js';

// kube-scheduler's role: binds pods that name this scheduler to the best node.
export function scheduler(): Controller | undefined {
  return undefined;
}

import type { StatusCause } from '../errors.js';
import type { Obj } from './json.js';
import type { NameFn } from './meta.js';

/** How one kind is validated. Create = ObjectMeta + spec + createOnly; update = ObjectMeta update rules +
 *  spec + update. */
export interface KindRules {
  nameFn: NameFn;
  /** Everything except ObjectMeta; runs on create and update. */
  spec?(o: Obj): StatusCause[];
  createOnly?(o: Obj): StatusCause[];
  update?(n: Obj, o: Obj): StatusCause[];
  /** Replaces spec() on update when the rules depend on the stored object. */
  specOnUpdate?(n: Obj, o: Obj): StatusCause[];
  /** Kinds whose create path does not validate ObjectMeta (core/v1 Events). */
  skipMetaOnCreate?: boolean;
}

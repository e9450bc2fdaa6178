// The registry's deep copy of stored objects: the patch modules' fast JSON copy.

export { copyJson } from '../../api/patch/json.js';

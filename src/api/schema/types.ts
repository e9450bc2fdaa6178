// The schema registry's data model: an OpenAPI v3 schema subset plus Kubernetes' x-kubernetes-* extensions
// and kite's protobuf field numbers. gen/schema.json (built by scripts/gen-schema.mjs) holds one Schema per
// definition; validation, defaulting, pruning, patch metadata, protobuf decoding and the OpenAPI documents
// all read it.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** One protobuf field of a message: its number and the JSON property it maps to. `inline` marks an embedded
 *  Go struct (proto nests it, JSON flattens it into the parent). */
export interface ProtoField {
  name: string;
  inline?: boolean;
  /** Scalar proto type (int32, int64, bool, string, bytes, ...) or `message:<definition name>`; absent for maps. */
  type?: string;
  repeated?: boolean;
  /** [key type, value type] of a proto map. */
  map?: [string, string];
  /** The Go field is a pointer: a zero value on the wire was set on purpose. */
  ptr?: boolean;
  /** The Go JSON tag lacks omitempty: a zero value is still printed. */
  always?: boolean;
  /** A wrapper message around a Go slice type (Verbs, ExtraValue): its JSON is this one field. */
  unwrap?: boolean;
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  /** int32, int64, double, byte, date-time, int-or-string, quantity, ... */
  format?: string;
  description?: string;
  /** Name of another definition (bare, e.g. "io.k8s.api.core.v1.PodSpec"). */
  $ref?: string;
  items?: Schema;
  additionalProperties?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: string[];
  default?: unknown;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'map' | 'set';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  /** Protobuf field number → field, for message definitions. */
  'x-kite-proto'?: Record<string, ProtoField>;
  /** Go pointer / omitempty facts needed to tell "unset" from a zero value in protobuf bodies. */
  'x-kite-nullable'?: boolean;
}

export interface SchemaDocument {
  definitions: Record<string, Schema>;
  /** "group/version/Kind" (group empty for core: "/v1/Pod") → definition name. */
  kinds: Record<string, string>;
}

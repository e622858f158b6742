// Route schemas compiled when a route first needs them, not while the node starts (issue
// 14: a new node's start took about 1.3 s of CPU on a 2-core machine, and the founding
// nodes' clients felt it; compiling the routes' validators (Ajv) and response serializers
// (fast-json-stringify) was about a sixth of it, for routes many of which a node never
// serves, such as most error answers). Fastify's own compilers do the work, with the same
// options; only the moment changes. A schema's first use costs its compile, a few milliseconds,
// once per process: response schemas are first rewritten without the `anyOf`s that made
// fast-json-stringify compile Ajv validators of the whole answer (withTypeLists below). A
// first GET /node-info took 80-100 ms, a first GET /cluster/nodes 130-220 ms, and a ring
// change's polling (the dashboard, `ringkv jobs --watch`) made those first calls on every
// node at once; with the rewrite they take 7-11 ms.
//
// Fastify treats a validator factory given this way as custom, and then passes a headers
// schema as written instead of lower-casing its names first: a headers schema must name
// its headers in lower case, as Node gives them, which `lazyCompilers` checks as each
// route is added.
import AjvCompiler from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * A compiled validator as Fastify calls it: with the request as the data's parent when the
 * validator has Ajv's `schemaEnv` (so Ajv may coerce a root value), then `errors` read off
 * the function.
 */
interface Validate {
  (data: unknown, parent?: unknown): unknown;
  errors?: unknown;
  readonly schema?: unknown;
  readonly schemaEnv?: unknown;
}

/**
 * A validator that compiles on its first use and then behaves exactly as the compiled one:
 * its result and `errors`, and Ajv's `schema` and `schemaEnv`, read off the compiled
 * validator (Fastify reads `schemaEnv` just before its first call, which compiles it).
 */
export function lazyValidator(compile: () => Validate): Validate {
  let compiled: Validate | undefined;
  const compiledNow = () => (compiled ??= compile());
  const validate = ((data: unknown, parent?: unknown) => {
    const inner = compiledNow();
    const result = inner(data, parent);
    validate.errors = inner.errors;
    return result;
  }) as Validate;
  for (const name of ['schema', 'schemaEnv'] as const) Object.defineProperty(validate, name, { get: () => compiledNow()[name], enumerable: true });
  return validate;
}

/** A serializer that compiles on its first call. */
export function lazySerializer(compile: () => (doc: unknown) => string): (doc: unknown) => string {
  let compiled: ((doc: unknown) => string) | undefined;
  return (doc) => (compiled ??= compile())(doc);
}

/** Throws for a headers schema that names a header with an upper-case letter (see above). */
export function assertLowerCaseHeaders(schema: unknown, route: string): void {
  if (typeof schema !== 'object' || schema === null) return;
  const properties = (schema as { properties?: unknown }).properties;
  if (typeof properties !== 'object' || properties === null) return;
  const named = Object.keys(properties).find((name) => name !== name.toLowerCase());
  if (named !== undefined) throw new Error(`${route}: the headers schema names "${named}"; name headers in lower case`);
}

/** Fastify's default compilers (with the options it is given), each compiling on first use. */
export function lazyCompilers(): Required<CompilersFactory> {
  const validators = AjvCompiler();
  const serializers = SerializerSelector();
  type Route = { schema: unknown; method: string; url: string; httpPart?: string };
  const buildValidator = (externalSchemas: Parameters<typeof validators>[0], options: Parameters<typeof validators>[1]) => {
    const compiler = validators(externalSchemas, options) as unknown as (route: Route) => Validate;
    return (route: Route) => {
      if (route.httpPart === 'headers') assertLowerCaseHeaders(route.schema, `${route.method} ${route.url}`);
      return lazyValidator(() => compiler(route));
    };
  };
  const buildSerializer: Required<CompilersFactory>['buildSerializer'] = (externalSchemas, options) => {
    const compiler = serializers(externalSchemas, options);
    return (route) => lazySerializer(() => compiler({ ...route, schema: withTypeLists(route.schema) }));
  };
  return { buildValidator: buildValidator as unknown as Required<CompilersFactory>['buildValidator'], buildSerializer };
}

/**
 * The schema with each `anyOf` of plain values written as a list of their types: a
 * nullable field (`{type: 'number'} | {type: 'null'}`, as TypeBox writes one) becomes
 * `type: ['number', 'null']`, and a union of literals (`{type: 'string', const: 'up'} | …`)
 * `type: ['string']`, a nullable date-time keeps its format, and a nullable object is the
 * object's schema with `type: ['object', 'null']`. Each serializes the same: fast-json-stringify checks no value, but
 * picks an `anyOf` branch by running an Ajv validator per branch, compiled with the
 * serializer (most of a route's first answer: 100-200 ms for GET /node-info, whose first
 * call a ring change's polling may make), while a list of types it tells apart by `typeof`.
 * Other schemas are kept as they are.
 */
export function withTypeLists(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withTypeLists);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(schema)) out[key] = withTypeLists((schema as Record<string | symbol, unknown>)[key]);
  const branches = out.anyOf;
  if (out.type !== undefined || !Array.isArray(branches) || branches.length < 2) return out;
  const nullable = nullableOf(branches);
  if (nullable !== undefined) {
    // An object or array, or null: the branch's own schema with null added to its type.
    const { anyOf: _anyOf, ...own } = out;
    return { ...nullable, ...own, type: [nullable.type, 'null'] };
  }
  if (!branches.every(isPlainValue)) return out;
  // A format (a nullable date-time) is kept when it belongs to the one type that is not null.
  const formatted = branches.filter((branch) => branch.format !== undefined);
  const format = formatted[0]?.format;
  if (formatted.length > 1 || (format !== undefined && branches.some((branch) => branch.format === undefined && branch.type !== 'null'))) return out;
  delete out.anyOf;
  out.type = [...new Set(branches.map((branch) => branch.type))];
  if (format !== undefined) out.format = format;
  return out;
}

const plainTypes = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** Of two branches, the one that is an object or an array when the other is null. */
function nullableOf(branches: readonly unknown[]): { type: string } | undefined {
  if (branches.length !== 2 || !branches.some((branch) => isPlainValue(branch) && branch.type === 'null' && Object.keys(branch).every((key) => key === 'type' || key.startsWith('~')))) return undefined;
  const other = branches.find((branch) => !(isPlainValue(branch) && branch.type === 'null')) as { type?: unknown; anyOf?: unknown } | undefined;
  return other !== undefined && (other.type === 'object' || other.type === 'array') && other.anyOf === undefined ? (other as { type: string }) : undefined;
}

/** A schema of one plain type, saying nothing more than its type and perhaps a constant or a format (besides TypeBox's own `~` marks). */
function isPlainValue(schema: unknown): schema is { type: string; format?: unknown } {
  if (typeof schema !== 'object' || schema === null) return false;
  const { type } = schema as { type?: unknown };
  return typeof type === 'string' && plainTypes.has(type) && Object.keys(schema).every((key) => key === 'type' || key === 'const' || key === 'format' || key.startsWith('~'));
}

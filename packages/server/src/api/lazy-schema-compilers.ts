// Route schemas compiled when a route first needs them, not while the node starts (issue
// 14: a new node's start took about 1.3 s of CPU on a 2-core machine, and the founding
// nodes' clients felt it; compiling the routes' validators (Ajv) and response serializers
// (fast-json-stringify) was about a sixth of it, for routes many of which a node never
// serves, such as most error answers). Fastify's own compilers do the work, with the same
// options; only the moment changes. A schema's first use costs its compile, a few milliseconds,
// once per process.
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
    return (route) => lazySerializer(() => compiler(route));
  };
  return { buildValidator: buildValidator as unknown as Required<CompilersFactory>['buildValidator'], buildSerializer };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import Fastify from 'fastify';
import { Type } from 'typebox';
import { NodeInfoSchema, RingStatusSchema } from '@ringkv/client/schemas';
import { assertLowerCaseHeaders, lazyCompilers, lazySerializer, lazyValidator, withTypeLists } from './lazy-schema-compilers.js';

describe('lazyValidator', () => {
  it('compiles on first use only, then answers as the compiled validator does, errors and all', () => {
    let compiles = 0;
    const validate = lazyValidator(() => {
      compiles++;
      const inner = Object.assign((data: unknown, parent?: unknown) => {
        inner.errors = data === 1 ? null : [{ message: `not 1${parent === undefined ? '' : ' (with a parent)'}` }];
        return data === 1;
      }, { errors: null as unknown, schemaEnv: { root: true } });
      return inner;
    });
    assert.equal(compiles, 0, 'nothing compiled before use');
    assert.deepEqual(validate.schemaEnv, { root: true }, "Ajv's schemaEnv, read off the compiled validator");
    assert.equal(compiles, 1);
    assert.equal(validate(1), true);
    assert.equal(validate.errors, null);
    assert.equal(validate(2, { parentData: {}, parentDataProperty: 'body' }), false);
    assert.deepEqual(validate.errors, [{ message: 'not 1 (with a parent)' }]);
    assert.equal(compiles, 1, 'compiled once');
  });
});

describe('lazySerializer', () => {
  it('compiles on first use only', () => {
    let compiles = 0;
    const serialize = lazySerializer(() => {
      compiles++;
      return (doc) => JSON.stringify(doc);
    });
    assert.equal(compiles, 0);
    assert.equal(serialize({ a: 1 }), '{"a":1}');
    assert.equal(serialize([2]), '[2]');
    assert.equal(compiles, 1);
  });
});

describe('withTypeLists', () => {
  const serializerOf = (schema: unknown) => SerializerSelector()({}, {})({ schema, method: 'GET', url: '/', httpStatus: '200' } as never) as (doc: unknown) => string;
  const cases: Array<{ name: string; schema: unknown; docs: unknown[]; listed: boolean }> = [
    { name: 'a nullable number', schema: Type.Object({ n: Type.Union([Type.Number(), Type.Null()]) }), docs: [{ n: 3.5 }, { n: null }], listed: true },
    { name: 'a union of literals', schema: Type.Object({ ring: RingStatusSchema }), docs: [{ ring: 'standby' }, { ring: 'left' }], listed: true },
    {
      name: 'a nullable date-time',
      schema: Type.Object({ at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) }),
      docs: [{ at: '2026-11-30T10:00:00.000Z' }, { at: null }],
      listed: true,
    },
    {
      name: 'a nullable object',
      schema: Type.Object({ info: Type.Union([Type.Object({ id: Type.String(), count: Type.Union([Type.Integer(), Type.Null()]) }), Type.Null()]) }),
      docs: [{ info: { id: 'n1', count: 2 } }, { info: { id: 'n1', count: null } }, { info: null }],
      listed: true,
    },
    {
      name: 'a union of two objects (kept)',
      schema: Type.Object({ either: Type.Union([Type.Object({ a: Type.String() }), Type.Object({ b: Type.Number() })]) }),
      docs: [{ either: { a: 'x' } }, { either: { b: 1 } }],
      listed: false,
    },
  ];
  for (const { name, schema, docs, listed } of cases) {
    it(`serializes ${name} as the schema as written does${listed ? ', with no anyOf left' : ''}`, () => {
      const rewritten = withTypeLists(schema);
      assert.equal(JSON.stringify(rewritten).includes('anyOf'), !listed);
      const [written, lists] = [serializerOf(schema), serializerOf(rewritten)];
      for (const doc of docs) {
        assert.equal(lists(doc), written(doc));
        assert.deepEqual(JSON.parse(lists(doc)), doc);
      }
    });
  }

  it('leaves no anyOf in the node-info answer, and keeps the schema it was given as it was', () => {
    const before = JSON.stringify(NodeInfoSchema);
    assert.equal(JSON.stringify(withTypeLists(NodeInfoSchema)).includes('anyOf'), false);
    assert.equal(JSON.stringify(NodeInfoSchema), before);
  });
});

describe('assertLowerCaseHeaders', () => {
  it('refuses a headers schema that names a header with an upper-case letter', () => {
    assert.throws(() => assertLowerCaseHeaders({ type: 'object', properties: { 'Last-Event-ID': { type: 'string' } } }, 'GET /watch'), /GET \/watch: the headers schema names "Last-Event-ID"/);
    assertLowerCaseHeaders({ type: 'object', properties: { 'last-event-id': { type: 'string' } } }, 'GET /watch');
    assertLowerCaseHeaders(true, 'GET /any');
  });
});

describe('lazyCompilers in Fastify', () => {
  it('validates, coerces and serializes as the default compilers do', async () => {
    const app = Fastify({
      ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
      schemaController: { compilersFactory: lazyCompilers() },
    });
    try {
      app.post(
        '/echo',
        {
          schema: {
            querystring: { type: 'object', properties: { n: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } } },
            headers: { type: 'object', properties: { 'x-mode': { type: 'string', enum: ['a', 'b'] } } },
            body: { type: 'object', required: ['value'], properties: { value: { type: 'string' } }, additionalProperties: false },
            response: { 200: { type: 'object', properties: { n: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } }, value: { type: 'string' } } } },
          },
        },
        async (request) => {
          const query = request.query as { n?: number; tags?: string[] };
          // `secret` is not in the response schema: the serializer leaves it out.
          return { n: query.n, tags: query.tags, value: (request.body as { value: string }).value, secret: 'x' };
        },
      );
      const ok = await app.inject({ method: 'POST', url: '/echo?n=7&tags=one', headers: { 'x-mode': 'a' }, payload: { value: 'v' } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json(), { n: 7, tags: ['one'], value: 'v' }, 'the query coerced (a number, a lone value to an array), the reply serialized by its schema');
      const badQuery = await app.inject({ method: 'POST', url: '/echo?n=seven', payload: { value: 'v' } });
      assert.equal(badQuery.statusCode, 400);
      assert.match(badQuery.json().message, /querystring\/n must be integer/);
      const badHeader = await app.inject({ method: 'POST', url: '/echo', headers: { 'x-mode': 'c' }, payload: { value: 'v' } });
      assert.equal(badHeader.statusCode, 400);
      assert.match(badHeader.json().message, /headers\/x-mode must be equal to one of the allowed values/);
      const badBody = await app.inject({ method: 'POST', url: '/echo', payload: { value: 'v', extra: 1 } });
      assert.equal(badBody.statusCode, 400);
      assert.match(badBody.json().message, /body must NOT have additional properties/);
    } finally {
      await app.close();
    }
  });

  it('refuses a route whose headers schema names a header in upper case, as it is added', async () => {
    const app = Fastify({ schemaController: { compilersFactory: lazyCompilers() } });
    try {
      app.get('/h', { schema: { headers: { type: 'object', properties: { 'X-Mode': { type: 'string' } } } } }, async () => ({}));
      await assert.rejects(async () => {
        await app.ready();
      }, /the headers schema names "X-Mode"/);
    } finally {
      await app.close().catch(() => undefined);
    }
  });
});

// The package's main entry: the client and the API's types. The schemas the types come from
// are the `@ringkv/client/schemas` entry, so that importing the client does not load typebox.
export type * from './types.js';
export * from './client.js';
export * from './progress-bar.js';

// The version users see in /node-info and the OpenAPI document: the server package's own.
import { createRequire } from 'node:module';

const manifest = createRequire(import.meta.url)('../package.json') as { version: string };

export const ringkvVersion: string = manifest.version;

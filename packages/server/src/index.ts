export * from './config.js';
export * from './node.js';
export * from './api/app.js';
export * from './storage/lmdb-engine.js';
export * from './transport/tcp-transport.js';

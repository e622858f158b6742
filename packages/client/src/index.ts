export * from './types.js';
export * from './client.js';
export * from './progress-bar.js';

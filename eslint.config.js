// Lint rules that keep ringkv's layers honest (docs/style.md, "Tools enforce style"): the core is pure
// (no node:* imports, no timers, no wall clock, no Math.random), and imports point only
// downwards (core imports no other ringkv package).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impureGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'process', 'Buffer', 'fetch'].map(
  (name) => ({ name, message: 'The core is pure: take time, I/O and randomness as injected parameters (docs/design.md, "Pure core, injected world").' }),
);

export default tseslint.config(
  { ignores: ['**/dist/**', '**/dist-*/**', '**/node_modules/**', 'data/**', 'packages/dashboard/vite.config.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "ImportDeclaration[source.value=/utils|helpers|manager/]", message: 'Name modules for what they hold (docs/style.md, "Names explain themselves").' },
      ],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'net', 'http', 'os', 'path', 'crypto', 'child_process'], message: 'The core imports nothing from node:* (docs/design.md, "Pure core, injected world").' },
            { group: ['@ringkv/*'], message: 'Imports point downwards: the core depends on no other ringkv package.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', ...impureGlobals],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the injected Clock.' },
        { object: 'Math', property: 'random', message: 'Use the injected Rng.' },
        { object: 'crypto', property: 'getRandomValues', message: 'Use the injected Rng.' },
        { object: 'crypto', property: 'randomUUID', message: 'Use the injected Rng.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'Use the injected Clock.' }],
    },
  },
  {
    // The simulator replays from its seed only if nothing in it reads real time or randomness.
    files: ['sim/**/*.ts'],
    ignores: ['sim/cli.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the virtual clock: a run must replay from its seed.' },
        { object: 'Math', property: 'random', message: 'Use the seeded Rng: a run must replay from its seed.' },
      ],
    },
  },
  {
    files: ['packages/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@ringkv/server', '@ringkv/core', 'node:*'], message: 'The client runs in browsers too: it depends only on fetch and typebox (its schemas).' }] }],
    },
  },
);

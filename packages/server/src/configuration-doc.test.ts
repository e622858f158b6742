// Checks that docs/configuration.md lists every flag of `ringkv node` with its key, env
// variable and default, by comparing its table with the one generated from the definitions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configurationDocPath, configurationTable, withGeneratedTable } from './configuration-doc.js';
import { nodeOptions } from './node-options.js';

describe('docs/configuration.md', () => {
  it('holds the settings table generated from the flag definitions', () => {
    const document = readFileSync(configurationDocPath, 'utf8');
    assert.equal(document, withGeneratedTable(document), 'stale: run `node packages/server/dist/configuration-doc.js --write` from the repository root');
  });

  it('has a row for every flag, naming its environment variable', () => {
    const table = configurationTable();
    for (const option of nodeOptions()) {
      assert.ok(table.includes(`\`${option.long ?? ''}\``), `${option.long ?? ''} missing`);
      if (option.envVar !== undefined) assert.ok(table.includes(`\`${option.envVar}\``), `${option.envVar} missing`);
    }
  });
});

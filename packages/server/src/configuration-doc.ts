// The settings table of docs/configuration.md, generated from the flag definitions
// (node-options.ts) so it cannot drift from them: configuration-doc.test.ts fails when
// the file differs, and `node packages/server/dist/configuration-doc.js --write`
// (from the repository root) rewrites the table.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Option } from 'commander';
import { fileKeyOf } from './config-file.js';
import { nodeOptions } from './node-options.js';

export const tableStartMarker = '<!-- settings table: generated from packages/server/src/node-options.ts, do not edit by hand -->';
export const tableEndMarker = '<!-- end of settings table -->';

/** Defaults that depend on other settings, said in words. */
const derivedDefaults: Record<string, string> = {
  'data-dir': '`./data/<id>`',
  'cluster-secret-file': '`<data-dir>/cluster-secret`, generated',
  advertise: 'the `host` setting',
};

function defaultOf(option: Option): string {
  const key = fileKeyOf(option);
  if (derivedDefaults[key] !== undefined) return derivedDefaults[key];
  const value: unknown = option.defaultValue;
  if (option.isBoolean() && value === undefined) return 'off';
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none';
  if (value === false) return 'off';
  return `\`${String(value)}\``;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** One row per setting: file key, flag, environment variable, default, meaning. */
export function configurationTable(): string {
  const rows = nodeOptions().map((option) => {
    const key = fileKeyOf(option);
    const flag = option.flags.replace(/ <.*>$/, '');
    const meaning = option.argChoices ? `${option.description} (${option.argChoices.join(', ')})` : option.description;
    const fileKey = key === 'config' || key === 'print-config' ? '(flag only)' : `\`${key}\``;
    return `| ${fileKey} | \`${flag}\` | ${option.envVar ? `\`${option.envVar}\`` : '—'} | ${cell(defaultOf(option))} | ${cell(meaning)} |`;
  });
  return ['| Key in the file | Flag | Environment | Default | Meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** The document with its table replaced by the generated one. */
export function withGeneratedTable(document: string): string {
  const start = document.indexOf(tableStartMarker);
  const end = document.indexOf(tableEndMarker);
  if (start < 0 || end < start) throw new Error(`docs/configuration.md lacks the markers ${tableStartMarker} and ${tableEndMarker}`);
  return `${document.slice(0, start + tableStartMarker.length)}\n${configurationTable()}\n${document.slice(end)}`;
}

export const configurationDocPath = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(configurationDocPath, withGeneratedTable(readFileSync(configurationDocPath, 'utf8')));
  process.stdout.write(`rewrote the settings table of ${configurationDocPath}\n`);
}

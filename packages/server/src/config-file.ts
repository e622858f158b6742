// `ringkv node --config FILE`: settings from a YAML file whose keys are the flag names
// (`write-timeout-ms: 5000`). A value counts only where neither a flag nor an environment
// variable gave one: flag > environment > file > default. Commander records where each
// option's value came from (cli, env, config, default), so the file's values are set with
// the source `config` and `--print-config` can say, for each setting, where it came from.
//
// YAML (the `yaml` package) rather than TOML: Kubernetes ConfigMaps, compose files and the
// deploy/ manifests are YAML already, so operators write one language; `yaml` is maintained,
// has no dependencies, types of its own, and reports errors with line and column.
import { readFileSync } from 'node:fs';
import { CommanderError, type Command, type Option } from 'commander';
import { parseDocument, stringify } from 'yaml';

/** Keys a config file may not set: they say how to read the configuration itself. */
const keysNotInFile = new Set(['config', 'print-config']);

/** Option names whose values are secrets: `--print-config` shows only whether they are set. */
const secretKeyPattern = /(^|-)(secret|token|password)$/;

/** The key an option has in a config file: its long flag without the dashes. */
export function fileKeyOf(option: Option): string {
  return (option.long ?? '').replace(/^--/, '');
}

/** Reads and parses the file: a mapping of keys to values. Throws a message naming the file and what to fix. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the config file ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path given to --config`);
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new Error(`the config file ${path} is not valid YAML: ${document.errors[0]?.message.split('\n')[0] ?? ''}`);
  }
  const content: unknown = document.toJS();
  if (content === null || content === undefined) return {};
  if (typeof content !== 'object' || Array.isArray(content)) {
    throw new Error(`the config file ${path} must be a mapping of settings (key: value, one a line), such as "port: 8000"`);
  }
  return content as Record<string, unknown>;
}

/**
 * Sets every setting of `entries` on `command` that no flag or environment variable set.
 * Returns one sentence per problem (unknown key, bad value), each naming the key.
 */
export function applyConfigEntries(command: Command, entries: Record<string, unknown>, path: string): string[] {
  const problems: string[] = [];
  const byKey = new Map(command.options.map((option) => [fileKeyOf(option), option]));
  for (const [key, raw] of Object.entries(entries)) {
    const option = byKey.get(key);
    if (option === undefined || keysNotInFile.has(key)) {
      problems.push(unknownKeyProblem(key, path, [...byKey.keys()].filter((name) => !keysNotInFile.has(name))));
      continue;
    }
    const parsed = parseFileValue(option, raw);
    if ('problem' in parsed) {
      problems.push(`config file ${path}, key "${key}": ${parsed.problem}`);
      continue;
    }
    const name = option.attributeName();
    const source = command.getOptionValueSource(name);
    // Flags and environment variables win over the file.
    if (source === 'cli' || source === 'env') continue;
    command.setOptionValueWithSource(name, parsed.value, 'config');
  }
  return problems;
}

function unknownKeyProblem(key: string, path: string, known: string[]): string {
  // camelCase and snake_case spellings of a flag are refused but named, so the fix is obvious.
  const kebab = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`).replaceAll('_', '-').replace(/^-+/, '');
  const hint = known.includes(kebab) ? `did you mean "${kebab}"? Keys are the flag names in kebab-case` : '`ringkv node --help` lists the flags; keys are their names without "--"';
  return `config file ${path}: unknown key "${key}"; ${hint}`;
}

/** A file value as the option's own parser reads it, so a file accepts exactly what the flag does. */
function parseFileValue(option: Option, raw: unknown): { value: unknown } | { problem: string } {
  if (option.isBoolean()) {
    if (typeof raw === 'boolean') return { value: raw };
    return { problem: `expected true or false, not ${JSON.stringify(raw)}` };
  }
  let text: string;
  if (Array.isArray(raw) && raw.every((item) => typeof item === 'string' || typeof item === 'number')) text = raw.join(',');
  else if (typeof raw === 'string' || typeof raw === 'number') text = String(raw);
  else return { problem: `expected a ${option.argChoices ? `one of ${option.argChoices.join(', ')}` : 'single value'}, not ${JSON.stringify(raw)}` };
  if (option.argChoices !== undefined && !option.argChoices.includes(text)) {
    return { problem: `"${text}" is not one of ${option.argChoices.join(', ')}` };
  }
  if (option.parseArg === undefined) return { value: text };
  try {
    return { value: option.parseArg(text, option.defaultValue as unknown) };
  } catch (error) {
    if (error instanceof CommanderError) return { problem: `${JSON.stringify(raw)}: ${error.message}` };
    throw error;
  }
}

/** Where a setting came from, in the words `--print-config` and error messages use. */
export function sourceOf(command: Command, option: Option, configPath: string | undefined): string {
  const source = command.getOptionValueSource(option.attributeName());
  if (source === 'cli') return `flag ${option.long ?? ''}`;
  if (source === 'env') return `env ${option.envVar ?? ''}`;
  if (source === 'config') return `file ${configPath ?? ''}`;
  return 'default';
}

/**
 * The effective settings as YAML, each with where it came from as a comment: the output
 * is itself a valid config file. Secrets show only "(set)".
 */
export function describeSettings(command: Command, configPath: string | undefined, derived: Record<string, unknown>): string {
  const lines: string[] = [`# ringkv node settings${configPath === undefined ? '' : `, with the config file ${configPath}`}`, '# precedence: flag > environment > file > default'];
  for (const option of command.options) {
    const key = fileKeyOf(option);
    if (keysNotInFile.has(key)) continue;
    const name = option.attributeName();
    const source = sourceOf(command, option, configPath);
    const value = command.getOptionValue(name) ?? derived[name];
    if (value === undefined) {
      lines.push(`# ${key}: (not set)`);
      continue;
    }
    if (secretKeyPattern.test(key)) {
      lines.push(`# ${key}: (set)  # ${source}`);
      continue;
    }
    const shown = stringify(value, { collectionStyle: 'flow' }).trimEnd();
    const origin = command.getOptionValue(name) === undefined ? 'derived' : source;
    lines.push(`${key}: ${shown}  # ${origin}`);
  }
  return `${lines.join('\n')}\n`;
}

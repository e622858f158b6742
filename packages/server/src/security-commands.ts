// `ringkv token create|revoke|list` and `ringkv certs create` (docs/security.md): the
// files a secure node is started with. Each command exits 0 on success and 1 with one
// line on stderr saying what was wrong and what to do; commander itself refuses unknown
// or missing flags and bad choices (also exit 1).
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Role } from './api/route-access.js';
import { createToken, listTokens, parseDuration, revokeToken, tokenNamePattern } from './security/auth-tokens.js';
import { createCertificates, nodeCertificateDaysDefault } from './security/certs.js';

function durationMs(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function tokenName(value: string): string {
  if (!tokenNamePattern.test(value)) throw new InvalidArgumentError("use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit");
  return value;
}

function nonEmpty(value: string): string {
  if (value.length === 0) throw new InvalidArgumentError('must not be empty');
  return value;
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('expected a whole number');
  return parsed;
}

function authFileOption(): Option {
  return new Option('--auth-file <file>', 'the token file nodes are started with').env('RINGKV_AUTH_FILE').makeOptionMandatory();
}

/** Runs a command body; an Error becomes `ringkv <command>: <message>` on stderr and exit code 2 (bad input, exit-codes.ts). */
function reportFailures(command: string, work: () => void): void {
  try {
    work();
  } catch (error) {
    process.stderr.write(`ringkv ${command}: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}

export function addSecurityCommands(program: Command): void {
  addTokenCommands(program);
  addCertsCommands(program);
}

function addTokenCommands(program: Command): void {
  const token = program.command('token').description('create, revoke and list API tokens in a token file (--auth-file)');

  token
    .command('create')
    .description('add a token to the file (only its hash is stored) and print it as the last line')
    .addOption(authFileOption())
    .addOption(new Option('--role <role>', 'what the token may do').choices(['read', 'write', 'admin']).makeOptionMandatory())
    .addOption(new Option('--name <name>', 'a name to list and revoke it by (default: <role>-<n>)').argParser(tokenName))
    .addOption(new Option('--prefix <prefix>', 'the token reaches only keys that start with this').argParser(nonEmpty))
    .addOption(new Option('--expires <duration>', 'lifetime, e.g. 30d, 12h, 15m, 3600s (default: never)').argParser(durationMs))
    .action((flags: { authFile: string; role: Role; name?: string; prefix?: string; expires?: number }) => {
      reportFailures('token create', () => {
        const created = createToken(flags.authFile, { role: flags.role, name: flags.name, prefix: flags.prefix, expiresInMs: flags.expires }, Date.now());
        const entry = created.entry;
        const reach = entry.prefix === undefined ? 'every key' : `keys starting with ${JSON.stringify(entry.prefix)}`;
        const lines = [
          `Created token "${entry.name}" in ${flags.authFile}: role ${entry.role}, ${reach}, ${entry.expiresAt === undefined ? 'never expires' : `expires ${entry.expiresAt}`}.`,
          'Only its hash is kept: copy it now, it cannot be shown again. Nodes with this --auth-file accept it within a second.',
          'Send it as: Authorization: Bearer <token>',
          created.token,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });

  token
    .command('revoke')
    .description('remove a token from the file (nodes refuse it within a second)')
    .addOption(authFileOption())
    .addOption(new Option('--name <name>', 'the token to remove, as shown by `ringkv token list`').makeOptionMandatory())
    .action((flags: { authFile: string; name: string }) => {
      reportFailures('token revoke', () => {
        if (!revokeToken(flags.authFile, flags.name)) throw new Error(`${flags.authFile} has no token named "${flags.name}" (see \`ringkv token list --auth-file ${flags.authFile}\`)`);
        process.stdout.write(`Revoked token "${flags.name}" in ${flags.authFile}.\n`);
      });
    });

  token
    .command('list')
    .description('show the tokens in the file: names, roles, prefixes, expiry (never the tokens or hashes)')
    .addOption(authFileOption())
    .action((flags: { authFile: string }) => {
      reportFailures('token list', () => {
        const entries = listTokens(flags.authFile);
        const nowMs = Date.now();
        const rows = [
          ['NAME', 'ROLE', 'PREFIX', 'EXPIRES', 'CREATED'],
          ...entries.map((entry) => [
            entry.name,
            entry.role,
            entry.prefix === undefined ? '(all keys)' : JSON.stringify(entry.prefix),
            entry.expiresAt === undefined ? 'never' : `${entry.expiresAt}${Date.parse(entry.expiresAt) <= nowMs ? ' (expired)' : ''}`,
            entry.createdAt,
          ]),
        ];
        const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
        const text = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
        process.stdout.write(`${text}\n${entries.length} token${entries.length === 1 ? '' : 's'} in ${flags.authFile}\n`);
      });
    });
}

function addCertsCommands(program: Command): void {
  const certs = program.command('certs').description('make TLS certificates for a cluster (tests and small deployments)');
  certs
    .command('create')
    .description('write a CA (or reuse the one in --out) and a certificate and key per node, using the system openssl')
    .addOption(new Option('--out <dir>', 'folder for ca.pem, ca-key.pem, <id>.pem, <id>-key.pem').env('RINGKV_CERTS_OUT').makeOptionMandatory())
    .addOption(new Option('--nodes <ids>', 'node ids, comma-separated, e.g. n1,n2,n3').env('RINGKV_CERTS_NODES').argParser(list).makeOptionMandatory())
    .addOption(new Option('--hosts <hosts>', 'IP addresses and DNS names clients reach the nodes by, comma-separated').env('RINGKV_CERTS_HOSTS').argParser(list).default(['127.0.0.1', 'localhost']))
    .addOption(new Option('--days <n>', 'validity of the node certificates').env('RINGKV_CERTS_DAYS').argParser(wholeNumber).default(nodeCertificateDaysDefault))
    .action((flags: { out: string; nodes: string[]; hosts: string[]; days: number }) => {
      reportFailures('certs create', () => {
        const set = createCertificates({ outDir: flags.out, nodeIds: flags.nodes, hosts: flags.hosts, days: flags.days });
        const lines = [
          set.caCreated ? `Created a CA: ${set.caCertFile} (keep ${set.caKeyFile} private; it signs new nodes)` : `Reused the CA in ${set.caCertFile}`,
          ...set.nodes.map((node) => `  ${node.nodeId}: ${node.certFile}  ${node.keyFile}`),
          `Node certificates valid ${flags.days} days for ${flags.hosts.join(', ')}.`,
          ...set.warnings.map((warning) => `Warning: ${warning}`),
          'Start each node with:',
          `  --tls-cert ${resolve(flags.out)}/<id>.pem --tls-key ${resolve(flags.out)}/<id>-key.pem --tls-ca ${resolve(set.caCertFile)}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}

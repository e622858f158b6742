// Remembers the members a node has learned in <data-dir>/members.json, so a restarted
// node knows its whole ring even when some seeds are down. Written atomically (temp file
// and rename) so a crash never leaves half a file.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeIdPattern, type MemberAddress } from '@ringkv/core';

const fileName = 'members.json';

export function loadMembers(dataDir: string): MemberAddress[] {
  let text: string;
  try {
    text = readFileSync(join(dataDir, fileName), 'utf8');
  } catch {
    return [];
  }
  try {
    const parsed = JSON.parse(text) as { members?: unknown };
    if (!Array.isArray(parsed.members)) return [];
    return parsed.members.filter(
      (item): item is MemberAddress =>
        typeof item === 'object' && item !== null && typeof item.nodeId === 'string' && nodeIdPattern.test(item.nodeId) && typeof item.address === 'string',
    );
  } catch {
    return [];
  }
}

export function saveMembers(dataDir: string, members: readonly MemberAddress[]): void {
  const path = join(dataDir, fileName);
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ members }, null, 2)}\n`);
  renameSync(temporary, path);
}

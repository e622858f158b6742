// Remembers the members a node has learned in <data-dir>/members.json, with each one's
// ring status and life, so a restarted node knows its whole ring (and whether it had
// joined or left) even when some seeds are down. Written atomically (temp file and rename) so a
// crash never leaves half a file.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { nodeIdPattern, type KnownMember } from '@ringkv/core';

const fileName = 'members.json';

const ringStatuses = new Set(['standby', 'joining', 'normal', 'leaving', 'left']);

export function loadMembers(dataDir: string): KnownMember[] {
  let text: string;
  try {
    text = readFileSync(join(dataDir, fileName), 'utf8');
  } catch {
    return [];
  }
  try {
    const parsed = JSON.parse(text) as { members?: unknown };
    if (!Array.isArray(parsed.members)) return [];
    return parsed.members
      .filter(
        (item): item is KnownMember =>
          typeof item === 'object' && item !== null && typeof item.nodeId === 'string' && nodeIdPattern.test(item.nodeId) && typeof item.address === 'string',
      )
      .map((item) => ({
        nodeId: item.nodeId,
        address: item.address,
        ...(typeof item.ring === 'string' && ringStatuses.has(item.ring) ? { ring: item.ring } : {}),
        ...(Number.isSafeInteger(item.life) && (item.life as number) >= 0 ? { life: item.life } : {}),
      }));
  } catch {
    return [];
  }
}

/**
 * Whether this node had left the ring when it stopped (by the members it remembered):
 * started again, it joins as a new member (membership/membership.ts in @ringkv/core,
 * "Lives"), so its old data must go.
 */
export function hadLeft(known: readonly KnownMember[], nodeId: string): boolean {
  return known.some((member) => member.nodeId === nodeId && member.ring === 'left');
}

export function saveMembers(dataDir: string, members: readonly KnownMember[]): void {
  const path = join(dataDir, fileName);
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ members }, null, 2)}\n`);
  renameSync(temporary, path);
}

/**
 * Saves members.json without ever throwing into the membership code that reports the
 * change: a full or failing disk is logged once until a save works again, and the next
 * change of members saves the whole list anew.
 */
export function membersSaver(dataDir: string, log: Pick<Logger, 'warn' | 'info'>): (members: readonly KnownMember[]) => void {
  let failing = false;
  return (members) => {
    try {
      saveMembers(dataDir, members);
      if (failing) log.info('members.json saved again');
      failing = false;
    } catch (error) {
      if (!failing) log.warn({ error: (error as Error).message }, 'could not save members.json (a full or failing disk?); a restart would rely on the seeds');
      failing = true;
    }
  };
}

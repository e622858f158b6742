// Watch cursors (docs/design.md, "Watch"). A watch delivers changes in the order of their
// change time, then key, then version's node, then kind, so a position in that order is a
// cursor every node understands:
// - `w1.<time>`: every change at or before `time` was delivered (ready and progress events);
// - `w1.<time>.<kind>.<node>.<key>`: every change up to and including this one was delivered
//   (a put or delete event's id).
// Times are base-36 HLCs; node and key are base64url of their UTF-8, so cursors are plain
// ASCII that survive an HTTP header.
import { watchCursorLengthMax } from '../limits.js';
import { compareUtf8 } from '../keys.js';

export type ChangeKind = 'put' | 'delete' | 'expire';

/** A change's place in the delivery order. */
export interface ChangePosition {
  at: number;
  key: string;
  nodeId: string;
  kind: ChangeKind;
}

/** A point in the delivery order: after a given change, or after every change up to a time. */
export type WatchCursor = { at: number; change?: ChangePosition };

const kindCodes: Record<ChangeKind, string> = { put: 'p', delete: 'd', expire: 'x' };
const kindsByCode = new Map(Object.entries(kindCodes).map(([kind, code]) => [code, kind as ChangeKind]));

/** Negative when `a` comes before `b` in the delivery order. */
export function comparePositions(a: ChangePosition, b: ChangePosition): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  const byKey = compareUtf8(a.key, b.key);
  if (byKey !== 0) return byKey;
  if (a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
  return a.kind === b.kind ? 0 : kindCodes[a.kind] < kindCodes[b.kind] ? -1 : 1;
}

/** True when the change at `position` comes after `cursor` (is not yet delivered to its holder). */
export function isAfterCursor(position: ChangePosition, cursor: WatchCursor): boolean {
  if (cursor.change === undefined) return position.at > cursor.at;
  return comparePositions(position, cursor.change) > 0;
}

export function formatCursor(cursor: WatchCursor): string {
  if (cursor.change === undefined) return `w1.${cursor.at.toString(36)}`;
  const { at, kind, nodeId, key } = cursor.change;
  return `w1.${at.toString(36)}.${kindCodes[kind]}.${base64url(nodeId)}.${base64url(key)}`;
}

/** The cursor `text` names, or undefined when it is not one. */
export function parseCursor(text: string): WatchCursor | undefined {
  if (text.length === 0 || text.length > watchCursorLengthMax || !/^[A-Za-z0-9._-]+$/.test(text)) return undefined;
  const parts = text.split('.');
  if (parts[0] !== 'w1' || (parts.length !== 2 && parts.length !== 5)) return undefined;
  const at = parseBase36(parts[1] as string);
  if (at === undefined) return undefined;
  if (parts.length === 2) return { at };
  const kind = kindsByCode.get(parts[2] as string);
  const nodeId = fromBase64url(parts[3] as string);
  const key = fromBase64url(parts[4] as string);
  if (kind === undefined || nodeId === undefined || key === undefined || nodeId.length === 0 || key.length === 0) return undefined;
  return { at, change: { at, kind, nodeId, key } };
}

function parseBase36(text: string): number | undefined {
  if (!/^[0-9a-z]{1,11}$/.test(text)) return undefined;
  const value = parseInt(text, 36);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function base64url(text: string): string {
  let binary = '';
  for (const byte of utf8Encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return undefined;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  let decoded: string;
  try {
    decoded = utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
  // A round trip catches non-canonical encodings.
  return base64url(decoded) === text ? decoded : undefined;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

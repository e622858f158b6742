// Cursor bookkeeping for browsing /keys page by page. The server's cursors are opaque
// and only go forward, so the trail remembers the cursor that opened each page seen.

export interface PageTrail {
  /** cursors[i] opened page i; page 0 opens with no cursor. */
  readonly cursors: readonly (string | null)[];
}

export const firstPageTrail: PageTrail = { cursors: [null] };

export function currentCursor(trail: PageTrail): string | null {
  return trail.cursors.at(-1) ?? null;
}

/** 1-based number of the page the trail ends on. */
export function pageNumber(trail: PageTrail): number {
  return trail.cursors.length;
}

export function nextPage(trail: PageTrail, nextCursor: string): PageTrail {
  return { cursors: [...trail.cursors, nextCursor] };
}

export function previousPage(trail: PageTrail): PageTrail {
  return trail.cursors.length > 1 ? { cursors: trail.cursors.slice(0, -1) } : trail;
}

// Invariant checks (docs/style.md, "Assert invariants, type expected failures"). A failed
// invariant is a bug: it throws at once and is never caught to carry on.

export class InvariantError extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantError';
  }
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

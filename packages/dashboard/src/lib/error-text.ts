// Turns whatever a client call threw into one sentence for the operator. API errors
// carry a problem+json body (RingkvError.problem); its detail is the useful part.

/** An API error: its status and its problem+json body. */
export interface ProblemCarrier {
  status: number;
  problem: { title?: unknown; detail?: unknown };
}

export function carriesProblem(error: unknown): error is ProblemCarrier {
  return typeof error === 'object' && error !== null && 'problem' in error && 'status' in error;
}

export function describeError(error: unknown): string {
  if (carriesProblem(error)) {
    const { title, detail } = error.problem;
    const text = typeof detail === 'string' && detail !== '' ? detail : typeof title === 'string' ? title : '';
    return text === '' ? `The node answered ${error.status}.` : `${text} (HTTP ${error.status})`;
  }
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'The node did not answer in time.';
    if (error.name === 'TypeError') return `Could not reach the node: ${error.message}`;
    return error.message;
  }
  return String(error);
}

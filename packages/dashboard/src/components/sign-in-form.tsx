// The sign-in form shown when the node requires an API token. The token goes only into
// this tab's sessionStorage and the Authorization header: the form has no action and its
// field no name, so even a submit without scripts could not put it in the URL.
import { useState, type FormEvent } from 'react';
import type { SignInReason } from '../lib/access';
import { parseTokenInput } from '../lib/session-token';
import { ErrorMessage } from './state-message';

interface SignInFormProps {
  /** Why the previous session ended, shown above the form; null on a first visit. */
  reason: SignInReason | null;
  /** Resolves to why the node refused the token, or null once signed in. */
  onSignIn: (token: string) => Promise<string | null>;
}

export function SignInForm({ reason, onSignIn }: SignInFormProps) {
  const [tokenText, setTokenText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseTokenInput(tokenText);
    if (!parsed.ok) return setProblem(parsed.message);
    setBusy(true);
    setProblem(null);
    const refusal = await onSignIn(parsed.token);
    // On success this form is gone; only a refusal needs the state back.
    if (refusal !== null) {
      setProblem(refusal);
      setBusy(false);
    }
  };

  return (
    <main className="gate">
      <h1>
        ringkv <span className="page-subtitle">operator console</span>
      </h1>
      <form className="panel sign-in" method="post" onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-heading" data-testid="sign-in-form" noValidate>
        <h2 id="sign-in-heading">Sign in with an API token</h2>
        {reason !== null && (
          <div className="message message-warning" role="alert" data-testid="sign-in-reason">
            <p>{reason.summary}</p>
            {reason.detail !== null && <p className="reason-detail">The node answered: {reason.detail}</p>}
          </div>
        )}
        <p className="panel-description">
          This node requires a token. An operator creates one on a node's machine, choosing what it may do (<code>read</code>,{' '}
          <code>write</code> or <code>admin</code>, optionally only keys under a prefix); the token is the last line printed:
        </p>
        <pre className="command">npx ringkv token create --auth-file FILE --role read</pre>
        <div className="field">
          <label htmlFor="sign-in-token">Token</label>
          <input
            id="sign-in-token"
            data-testid="sign-in-token"
            type="password"
            value={tokenText}
            onChange={(event) => setTokenText(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            autoFocus
            aria-invalid={problem !== null}
            aria-describedby="sign-in-note"
          />
          <span id="sign-in-note" className="field-hint">
            Kept in this browser tab only (sessionStorage) until you sign out or close it, and sent to the node in the
            Authorization header.
          </span>
        </div>
        {problem !== null && <ErrorMessage testId="sign-in-error">{problem}</ErrorMessage>}
        <div className="button-row">
          <button type="submit" data-testid="sign-in-submit" disabled={busy}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </div>
      </form>
    </main>
  );
}

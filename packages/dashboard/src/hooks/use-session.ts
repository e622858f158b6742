// Who the page acts as. On load it asks the serving node GET /auth/me with the token kept
// in this tab (if any): a node without an auth file answers at once and the page opens;
// one that wants a token answers 401 and the sign-in form shows. A 401 on any later
// request (token revoked, expired, or the auth file changed) ends the session the same
// way, with the node's reason. See docs/security.md, "Roles".
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AuthIdentity } from '@ringkv/client';
import { createApi, type DashboardApi } from '../cluster-client';
import { problemText, sessionEndedReason, statusOf, tokenRefusedText, type SignInReason } from '../lib/access';
import { describeError } from '../lib/error-text';
import { forgetToken, readStoredToken, storeToken } from '../lib/session-token';

export type SessionState =
  | { kind: 'checking' }
  /** The node could not be asked at all (down, timed out): nothing to sign in to yet. */
  | { kind: 'unreachable'; message: string }
  /** `reason` says why an earlier session ended; null on a first visit or after signing out. */
  | { kind: 'signed-out'; reason: SignInReason | null }
  | { kind: 'signed-in'; identity: AuthIdentity; api: DashboardApi };

export interface Session {
  state: SessionState;
  /** Checks `token` with the node and opens the page; resolves to why it was refused, or null. */
  signIn(token: string): Promise<string | null>;
  signOut(): void;
  /** Asks the node again (after it was unreachable). */
  recheck(): void;
}

const ignoreUnauthorized = () => {};

export function useSession(): Session {
  const [state, setState] = useState<SessionState>({ kind: 'checking' });
  // Bumped by every transition, so a late answer or 401 from an earlier session changes nothing.
  const generation = useRef(0);

  const enter = useCallback((token: string | null, identity: AuthIdentity) => {
    const entered = ++generation.current;
    const api = createApi(token, (detail) => {
      if (generation.current !== entered) return;
      generation.current++;
      forgetToken(sessionStorage);
      setState({ kind: 'signed-out', reason: sessionEndedReason(detail) });
    });
    setState({ kind: 'signed-in', identity, api });
  }, []);

  const check = useCallback(async () => {
    const checking = ++generation.current;
    setState({ kind: 'checking' });
    const stored = readStoredToken(sessionStorage);
    try {
      const identity = await createApi(stored, ignoreUnauthorized).client.me();
      if (generation.current !== checking) return;
      if (identity.authRequired && stored === null) setState({ kind: 'signed-out', reason: null });
      else enter(stored, identity);
    } catch (error) {
      if (generation.current !== checking) return;
      if (statusOf(error) !== 401) return setState({ kind: 'unreachable', message: describeError(error) });
      forgetToken(sessionStorage);
      setState({ kind: 'signed-out', reason: stored === null ? null : sessionEndedReason(problemText(error)) });
    }
  }, [enter]);

  useEffect(() => {
    void check();
  }, [check]);

  const signIn = useCallback(
    async (token: string): Promise<string | null> => {
      try {
        const identity = await createApi(token, ignoreUnauthorized).client.me();
        storeToken(sessionStorage, token);
        enter(token, identity);
        return null;
      } catch (error) {
        return statusOf(error) === 401 ? tokenRefusedText : describeError(error);
      }
    },
    [enter],
  );

  const signOut = useCallback(() => {
    generation.current++;
    forgetToken(sessionStorage);
    setState({ kind: 'signed-out', reason: null });
  }, []);

  const recheck = useCallback(() => void check(), [check]);
  return { state, signIn, signOut, recheck };
}

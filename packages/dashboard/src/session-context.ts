// The signed-in session as the page's components see it: the clients to call and what
// the token may do. Provided by App once /auth/me has answered.
import { createContext, useContext } from 'react';
import type { AuthIdentity } from '@ringkv/client';
import type { DashboardApi } from './cluster-client';
import type { Permissions } from './lib/access';

export interface DashboardSession {
  api: DashboardApi;
  identity: AuthIdentity;
  permissions: Permissions;
  signOut(): void;
}

export const SessionContext = createContext<DashboardSession | null>(null);

export function useDashboardSession(): DashboardSession {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useDashboardSession is used outside a signed-in page');
  return session;
}

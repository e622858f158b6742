// Who the page acts as, in the header: the token's role, name and key prefix, and a
// sign-out control. A node without an auth file treats every caller as admin; that is
// said too, so nobody mistakes an open node for a protected one.
import { describeExpiry, describePrefix } from '../lib/access';
import { useDashboardSession } from '../session-context';

export function IdentityBadge() {
  const { identity, signOut } = useDashboardSession();
  if (!identity.authRequired) {
    return (
      <p className="identity" data-testid="identity">
        <span className={`role-badge role-${identity.role}`} data-testid="identity-role">
          {identity.role}
        </span>
        <span className="muted" data-testid="identity-open">
          no token needed: this node has no auth file
        </span>
      </p>
    );
  }
  const prefix = describePrefix(identity.prefix);
  const expiry = describeExpiry(identity.expiresAt, Date.now());
  return (
    <p className="identity" data-testid="identity">
      <span className={`role-badge role-${identity.role}`} data-testid="identity-role" title={`Signed in with a ${identity.role} token`}>
        {identity.role}
      </span>
      {identity.name !== null && (
        <span>
          token <strong data-testid="identity-name">{identity.name}</strong>
        </span>
      )}
      {prefix !== null && <span data-testid="identity-prefix">{prefix}</span>}
      {expiry !== null && <span className="muted">{expiry}</span>}
      <button type="button" className="secondary compact" data-testid="sign-out" onClick={signOut}>
        Sign out
      </button>
    </p>
  );
}

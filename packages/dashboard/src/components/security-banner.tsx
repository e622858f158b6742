// The protected-mode banner (docs/security.md): what any member reports as weak in its
// security posture, e.g. that it was started with --insecure, above everything else.
import type { ClusterNodes } from '@ringkv/client';
import { collectSecurityWarnings, describeReporters } from '../lib/security-warnings';

export function SecurityBanner({ view }: { view: ClusterNodes }) {
  const warnings = collectSecurityWarnings(view);
  if (warnings.length === 0) return null;
  return (
    <section className="security-banner" role="alert" aria-labelledby="security-banner-heading" data-testid="security-warnings">
      <h2 id="security-banner-heading">Security warning</h2>
      <ul>
        {warnings.map((warning) => (
          <li key={warning.text} data-testid="security-warning">
            <span className="security-warning-text">{warning.text}</span>{' '}
            <span className="security-warning-nodes">({describeReporters(warning, view.nodes.length)})</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

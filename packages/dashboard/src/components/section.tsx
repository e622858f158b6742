// A titled panel of the dashboard; the heading labels the region for screen readers.
import type { ReactNode } from 'react';

interface SectionProps {
  id: string;
  title: string;
  description?: ReactNode;
  aside?: ReactNode;
  children: ReactNode;
}

export function Section({ id, title, description, aside, children }: SectionProps) {
  const headingId = `${id}-heading`;
  return (
    <section id={id} className="panel" aria-labelledby={headingId} data-testid={`section-${id}`}>
      <header className="panel-header">
        <div>
          <h2 id={headingId}>{title}</h2>
          {description !== undefined && <p className="panel-description">{description}</p>}
        </div>
        {aside}
      </header>
      {children}
    </section>
  );
}

// Section 6: look up, write and delete single keys, and browse the cluster's keys by prefix.
import { useState } from 'react';
import { useKeyLookup, type KeyLookup } from '../hooks/use-key-lookup';
import type { LoadedVersion } from '../lib/write-condition';
import type { NamedLevel } from './consistency-select';
import { KeyBrowser } from './key-browser';
import { KeyForm } from './key-form';
import { KeyResult } from './key-result';
import { Section } from './section';

interface KeyExplorerProps {
  colors: ReadonlyMap<string, string>;
  servingNode: string | null;
}

export function KeyExplorer({ colors, servingNode }: KeyExplorerProps) {
  const [key, setKey] = useState('');
  const [level, setLevel] = useState<NamedLevel>('quorum');
  const { lookup, run } = useKeyLookup();

  const openKey = (chosen: string) => {
    setKey(chosen);
    void run(chosen, level);
  };

  return (
    <Section id="explorer" title="Key explorer" description="Requests go through the node serving this page, which coordinates them like any client's. The consistency level is the r of look-ups and the w of puts and deletes; a write made only if unchanged is decided by a majority of the key's replicas instead.">
      <div className="explorer-layout">
        <div className="explorer-main">
          <KeyForm keyText={key} onKeyChange={setKey} level={level} onLevelChange={setLevel} onLookup={run} loaded={loadedVersion(lookup, key)} />
          <KeyResult lookup={lookup} colors={colors} />
        </div>
        <KeyBrowser servingNode={servingNode} onOpenKey={openKey} />
      </div>
    </Section>
  );
}

/** The version the last look-up read for the key in the form (null: absent), or null when there is no such read. */
function loadedVersion(lookup: KeyLookup, key: string): LoadedVersion | null {
  if (lookup.kind !== 'done' || lookup.key !== key || lookup.readError !== null || lookup.refusal !== null || lookup.stored === undefined) return null;
  return { key, version: lookup.stored?.version ?? null };
}

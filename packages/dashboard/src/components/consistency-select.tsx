// Choice of consistency level for the explorer's reads (r) and writes (w).
import type { ConsistencyLevel } from '@ringkv/client';

export type NamedLevel = Extract<ConsistencyLevel, string>;

const levels: ReadonlyArray<[NamedLevel, string]> = [
  ['one', 'one: first replica to answer'],
  ['quorum', 'quorum: a majority of replicas'],
  ['all', 'all: every replica'],
];

interface ConsistencySelectProps {
  id: string;
  value: NamedLevel;
  onChange: (level: NamedLevel) => void;
}

export function ConsistencySelect({ id, value, onChange }: ConsistencySelectProps) {
  return (
    <div className="field">
      <label htmlFor={id}>Consistency</label>
      <select
        id={id}
        value={value}
        data-testid="explorer-consistency"
        onChange={(event) => onChange(event.target.value as NamedLevel)}
      >
        {levels.map(([level, label]) => (
          <option key={level} value={level}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}

// A node's colour chip followed by its id, the way nodes are named throughout.
import { colorOf } from '../lib/node-colors';

export function NodeName({ nodeId, colors }: { nodeId: string; colors: ReadonlyMap<string, string> }) {
  return (
    <span className="node-name">
      <span className="swatch" style={{ background: colorOf(colors, nodeId) }} aria-hidden="true" />
      {nodeId}
    </span>
  );
}

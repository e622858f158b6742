// The protected-mode banner (docs/security.md): every warning a member reports in its
// node info's security posture (e.g. started with --insecure), each sentence once with
// the members that report it, so a cluster started insecure shows one line, not three.
import type { ClusterNodes } from '@ringkv/client';

export interface SecurityWarning {
  text: string;
  /** Members reporting this warning, in the view's order. */
  nodeIds: string[];
}

export function collectSecurityWarnings(view: Pick<ClusterNodes, 'nodes'>): SecurityWarning[] {
  const byText = new Map<string, SecurityWarning>();
  for (const node of view.nodes) {
    // A member running an older version reports no posture: nothing to warn about from it.
    for (const text of node.info?.security?.warnings ?? []) {
      const warning = byText.get(text);
      if (warning === undefined) byText.set(text, { text, nodeIds: [node.nodeId] });
      else if (!warning.nodeIds.includes(node.nodeId)) warning.nodeIds.push(node.nodeId);
    }
  }
  return [...byText.values()];
}

/** `n1, n2 and n3` or `every member` when all of them report it. */
export function describeReporters(warning: SecurityWarning, memberCount: number): string {
  const ids = warning.nodeIds;
  if (ids.length > 1 && ids.length === memberCount) return 'every member';
  if (ids.length <= 1) return ids[0] ?? 'a member';
  return `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;
}

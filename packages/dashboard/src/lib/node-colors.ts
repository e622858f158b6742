// One colour per node, the same in every chart, table and the ring picture. Colours
// follow the node ids in natural order (node-2 before node-10), so a node keeps its
// colour while others join after it.

/** Distinct on white and for the common colour-vision deficiencies (Okabe–Ito based). */
export const nodePalette: readonly string[] = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#d55e00',
  '#56b4e9',
  '#7a5195',
  '#8c6d31',
];

const goldenAngleDegrees = 137.508;

/** Colour for the node at `index` in natural order; past the palette, hues spread by the golden angle. */
export function colorAt(index: number): string {
  const fixed = nodePalette[index];
  if (fixed !== undefined) return fixed;
  const hue = Math.round((index * goldenAngleDegrees) % 360);
  return `hsl(${hue} 60% 42%)`;
}

const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Sorts node ids so that embedded numbers compare as numbers. */
export function sortNodeIds(nodeIds: Iterable<string>): string[] {
  return [...new Set(nodeIds)].sort((a, b) => naturalOrder.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Maps each distinct node id to its colour. */
export function assignNodeColors(nodeIds: Iterable<string>): Map<string, string> {
  const colors = new Map<string, string>();
  sortNodeIds(nodeIds).forEach((nodeId, index) => colors.set(nodeId, colorAt(index)));
  return colors;
}

/** The colour of a node, grey for one the map has not seen (it joined since the last poll). */
export function colorOf(colors: ReadonlyMap<string, string>, nodeId: string): string {
  return colors.get(nodeId) ?? '#8a8f98';
}

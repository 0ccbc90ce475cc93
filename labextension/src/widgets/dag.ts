/** The run's DAG as an SVG: a simple layered layout, nodes coloured by status, reuse badges. */
import type { GraphEdge, GraphNode } from '../types';
import { s } from './dom';

export const NODE_WIDTH = 150;
export const NODE_HEIGHT = 30;
const GAP_X = 16;
const GAP_Y = 34;
const PAD = 8;

export interface ILayout {
  positions: Map<string, { x: number; y: number; layer: number }>;
  width: number;
  height: number;
}

/** Layer = longest path from a source; nodes of a layer side by side, layers top to bottom. */
export function layout(nodes: GraphNode[], edges: GraphEdge[]): ILayout {
  const names = nodes.map(n => n.name);
  const known = new Set(names);
  const parents = new Map<string, string[]>(names.map(n => [n, []]));
  for (const edge of edges) {
    if (
      known.has(edge.source) &&
      known.has(edge.target) &&
      edge.source !== edge.target
    ) {
      parents.get(edge.target)!.push(edge.source);
    }
  }
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (name: string): number => {
    const cached = layer.get(name);
    if (cached !== undefined) {
      return cached;
    }
    if (visiting.has(name)) {
      return 0; // a cycle: should not happen in a pipeline; do not loop
    }
    visiting.add(name);
    const ps = parents.get(name) ?? [];
    const d = ps.length ? Math.max(...ps.map(depth)) + 1 : 0;
    visiting.delete(name);
    layer.set(name, d);
    return d;
  };
  names.forEach(depth);
  const rows: string[][] = [];
  for (const name of names) {
    const d = layer.get(name) ?? 0;
    (rows[d] ??= []).push(name);
  }
  // one barycentre pass so children sit under their parents
  const column = new Map<string, number>();
  rows.forEach((row, d) => {
    if (d > 0) {
      const centre = (n: string): number => {
        const ps = parents.get(n) ?? [];
        return ps.length
          ? ps.reduce((sum, p) => sum + (column.get(p) ?? 0), 0) / ps.length
          : 0;
      };
      row.sort((a, b) => centre(a) - centre(b));
    }
    row.forEach((n, i) => column.set(n, i));
  });
  const widest = Math.max(1, ...rows.map(r => (r ? r.length : 0)));
  const width = PAD * 2 + widest * NODE_WIDTH + (widest - 1) * GAP_X;
  const positions = new Map<string, { x: number; y: number; layer: number }>();
  rows.forEach((row, d) => {
    const rowWidth = row.length * NODE_WIDTH + (row.length - 1) * GAP_X;
    const left = (width - rowWidth) / 2;
    row.forEach((n, i) =>
      positions.set(n, {
        x: left + i * (NODE_WIDTH + GAP_X),
        y: PAD + d * (NODE_HEIGHT + GAP_Y),
        layer: d
      })
    );
  });
  const height =
    PAD * 2 + rows.length * NODE_HEIGHT + Math.max(0, rows.length - 1) * GAP_Y;
  return { positions, width, height };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function renderDag(
  nodes: GraphNode[],
  edges: GraphEdge[],
  selected: string | null,
  onSelect: (name: string) => void
): SVGElement {
  const { positions, width, height } = layout(nodes, edges);
  const svg = s('svg', {
    'data-testid': 'run-dag',
    class: 'amlpipe-dag',
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    style: `max-width: ${width}px`,
    role: 'group',
    'aria-label': 'Pipeline graph'
  });
  svg.append(
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: 'amlpipe-arrow',
          viewBox: '0 0 10 10',
          refX: '9',
          refY: '5',
          markerWidth: '6',
          markerHeight: '6',
          orient: 'auto-start-reverse'
        },
        s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'amlpipe-dag-arrow' })
      )
    )
  );
  for (const edge of edges) {
    const a = positions.get(edge.source);
    const b = positions.get(edge.target);
    if (!a || !b) {
      continue;
    }
    const x1 = a.x + NODE_WIDTH / 2;
    const y1 = a.y + NODE_HEIGHT;
    const x2 = b.x + NODE_WIDTH / 2;
    const y2 = b.y;
    const my = (y1 + y2) / 2;
    svg.append(
      s(
        'path',
        {
          class: 'amlpipe-dag-edge',
          d: `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`,
          'marker-end': 'url(#amlpipe-arrow)'
        },
        edge.label ? s('title', {}, edge.label) : null
      )
    );
  }
  for (const node of nodes) {
    const at = positions.get(node.name);
    if (!at) {
      continue;
    }
    const status = node.status ?? 'NotStarted';
    const reason = node.reason || (node.reasons ?? []).join('; ');
    const about = `${node.name}: ${status}${node.reused ? ' (reused)' : ''}${
      reason ? ` — ${reason}` : ''
    }`;
    const g = s(
      'g',
      {
        'data-testid': 'dag-node',
        'data-step': node.name,
        'data-status': status,
        class: `amlpipe-dag-node amlpipe-status-${status}${
          node.name === selected ? ' amlpipe-selected' : ''
        }`,
        transform: `translate(${at.x}, ${at.y})`,
        tabindex: '0',
        role: 'button',
        'aria-label': `Step ${about}`
      },
      s('title', {}, about),
      s('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 5, ry: 5 }),
      s('circle', {
        class: 'amlpipe-dag-dot',
        cx: 12,
        cy: NODE_HEIGHT / 2,
        r: 5
      }),
      s(
        'text',
        { x: 24, y: NODE_HEIGHT / 2 + 4 },
        truncate(node.name, node.reused ? 14 : 18)
      )
    );
    if (node.reused) {
      g.append(
        s(
          'g',
          { class: 'amlpipe-dag-reused', 'data-testid': 'reuse-badge' },
          s('rect', { x: NODE_WIDTH - 30, y: 6, width: 24, height: 18, rx: 4 }),
          s('text', { x: NODE_WIDTH - 18, y: 19, 'text-anchor': 'middle' }, '♻')
        )
      );
    }
    g.addEventListener('click', () => onSelect(node.name));
    g.addEventListener('keydown', event => {
      const key = (event as KeyboardEvent).key;
      if (key === 'Enter' || key === ' ') {
        event.preventDefault();
        onSelect(node.name);
      }
    });
    svg.append(g);
  }
  return svg;
}

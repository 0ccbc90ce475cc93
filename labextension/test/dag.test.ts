import { describe, expect, it } from 'vitest';

import { layout, NODE_HEIGHT } from '../src/widgets/dag';

describe('layout', () => {
  it('puts each step one layer below its deepest parent', () => {
    const nodes = ['load', 'clean', 'features', 'train'].map(name => ({
      name
    }));
    const edges = [
      { source: 'load', target: 'clean' },
      { source: 'load', target: 'features' },
      { source: 'clean', target: 'train' },
      { source: 'features', target: 'train' },
      { source: 'load', target: 'train' }
    ];
    const { positions, height } = layout(nodes, edges);
    const layers = Object.fromEntries(
      [...positions.entries()].map(([name, p]) => [name, p.layer])
    );
    expect(layers).toEqual({ load: 0, clean: 1, features: 1, train: 2 });
    expect(positions.get('clean')!.y).toBe(positions.get('features')!.y);
    expect(positions.get('clean')!.x).not.toBe(positions.get('features')!.x);
    expect(height).toBeGreaterThanOrEqual(3 * NODE_HEIGHT);
  });

  it('survives a cycle and edges to unknown steps', () => {
    const { positions } = layout(
      [{ name: 'a' }, { name: 'b' }],
      [
        { source: 'a', target: 'b' },
        { source: 'b', target: 'a' },
        { source: 'ghost', target: 'a' }
      ]
    );
    expect(positions.size).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';

import type { RunView } from '../src/types';
import { graphOf } from '../src/widgets/runDetail';

describe('graphOf', () => {
  it("gives each DAG node its step's status, reuse badge and reason", () => {
    const run: RunView = {
      id: 'r1',
      experiment: 'exp',
      status: 'Running',
      steps: [
        {
          name: 'prep',
          status: 'Finished',
          reused: true,
          reasons: ['same inputs and code as run r0']
        },
        { name: 'train', status: 'Running', reused: false, reason: null }
      ],
      graph: {
        nodes: [
          { name: 'prep', status: 'Queued' },
          { name: 'train', status: 'Queued' }
        ],
        edges: [{ source: 'prep', target: 'train' }]
      }
    };
    const { nodes, edges } = graphOf(run);
    expect(nodes).toEqual([
      {
        name: 'prep',
        status: 'Finished',
        reused: true,
        reason: 'same inputs and code as run r0'
      },
      { name: 'train', status: 'Running', reused: false, reason: null }
    ]);
    expect(edges).toEqual([{ source: 'prep', target: 'train' }]);
  });

  it('uses top-level nodes/edges, or the steps when there is no graph', () => {
    const steps = [{ name: 'only', status: 'Failed' }];
    const bare: RunView = { id: 'r', experiment: 'e', status: 'Failed', steps };
    expect(graphOf(bare).nodes.map(n => [n.name, n.status])).toEqual([
      ['only', 'Failed']
    ]);
    const flat: RunView = {
      ...bare,
      nodes: [{ name: 'only', reasons: ['code changed'] }],
      edges: []
    };
    expect(graphOf(flat).nodes[0].reason).toBe('code changed');
  });
});

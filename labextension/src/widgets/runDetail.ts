/** The run detail: header with actions, the DAG, the step list; the step detail below. */
import type { PanelModel } from '../model';
import {
  isTerminal,
  type GraphEdge,
  type GraphNode,
  type OutputRow,
  type RunView,
  type StepDetail,
  type StepRow
} from '../types';
import { renderDag } from './dag';
import {
  activatable,
  formatDuration,
  formatTime,
  h,
  keyValues,
  statusBadge
} from './dom';
import type { IPanelHost } from './host';

export function graphOf(run: RunView): {
  nodes: GraphNode[];
  edges: GraphEdge[];
} {
  const steps = new Map(run.steps.map(step => [step.name, step]));
  const nodes = (
    run.graph?.nodes ??
    run.nodes ??
    run.steps.map(step => ({
      name: step.name,
      status: step.status,
      reused: step.reused
    }))
  ).map(node => {
    // the step list may be newer or richer than the graph: its status, reuse and reasons win
    const step = steps.get(node.name);
    const reason = reasonOf({ ...node, ...(step ?? {}) });
    return step
      ? {
          ...node,
          status: step.status ?? node.status,
          reused: step.reused ?? node.reused,
          reason: reason || null
        }
      : { ...node, reason: reason || null };
  });
  const edges = run.graph?.edges ?? run.edges ?? [];
  return { nodes, edges };
}

export function reasonOf(item: {
  reason?: string | null;
  reasons?: string[];
}): string {
  if (item.reason) {
    return item.reason;
  }
  return (item.reasons ?? []).join('; ');
}

export function headerKey(model: PanelModel): string {
  const run = model.run;
  return JSON.stringify([
    model.runId,
    run && [
      run.status,
      run.started,
      run.ended,
      run.duration,
      run.progress,
      run.error,
      run.properties,
      run.parameters
    ],
    model.snapshot
  ]);
}

export function renderHeader(model: PanelModel, host: IPanelHost): HTMLElement {
  const run = model.run;
  const back = h(
    'button',
    {
      'data-testid': 'back',
      class: 'amlpipe-button',
      title: 'Back to the runs list',
      onclick: () => model.closeRun()
    },
    '← Runs'
  );
  if (!run) {
    return h(
      'div',
      { class: 'amlpipe-run-header' },
      back,
      h('div', { class: 'amlpipe-empty' }, `Loading run ${model.runId}…`)
    );
  }
  const actions: HTMLElement[] = [];
  if (!isTerminal(run.status)) {
    actions.push(
      h(
        'button',
        {
          'data-testid': 'cancel-run',
          class: 'amlpipe-button amlpipe-danger',
          onclick: () => void model.cancelRun()
        },
        'Cancel run'
      )
    );
  }
  if (run.status === 'Failed' || run.status === 'Canceled') {
    actions.push(
      h(
        'button',
        {
          'data-testid': 'resume-run',
          class: 'amlpipe-button',
          onclick: () => void model.resumeRun()
        },
        'Resume'
      )
    );
  }
  actions.push(
    h(
      'button',
      {
        'data-testid': 'open-snapshot',
        class: 'amlpipe-button',
        title:
          'Materialize the code snapshot of the selected step (or the first step)',
        onclick: async () => {
          const reply = await model.openSnapshot();
          if (reply?.path) {
            host.goToFolder(reply.path);
          }
        }
      },
      'Open snapshot'
    )
  );
  const p = run.progress ?? {};
  const props = { ...(run.properties ?? {}) };
  return h(
    'div',
    { class: 'amlpipe-run-header' },
    h('div', { class: 'amlpipe-run-line' }, back, statusBadge(run.status)),
    h('h3', { class: 'amlpipe-run-title', title: run.id }, run.name || run.id),
    h(
      'div',
      { class: 'amlpipe-run-meta' },
      h('span', {}, run.experiment),
      h('span', {}, formatTime(run.started)),
      h('span', {}, formatDuration(run.duration)),
      h(
        'span',
        {},
        `ran ${p.ran ?? p.finished ?? 0} · reused ${p.reused ?? 0} · failed ${p.failed ?? 0}`
      )
    ),
    run.error
      ? h('pre', { class: 'amlpipe-run-error' }, String(run.error))
      : null,
    h('div', { class: 'amlpipe-actions' }, actions),
    model.snapshot ? renderSnapshot(model, host) : null,
    Object.keys(props).length || run.parameters
      ? h(
          'details',
          { class: 'amlpipe-details' },
          h('summary', {}, 'Properties and parameters'),
          keyValues(props, { 'data-testid': 'run-properties' }),
          run.parameters
            ? keyValues(run.parameters, { 'data-testid': 'run-parameters' })
            : null
        )
      : null
  );
}

function renderSnapshot(model: PanelModel, host: IPanelHost): HTMLElement {
  const snap = model.snapshot!;
  return h(
    'div',
    { class: 'amlpipe-snapshot', 'data-testid': 'snapshot' },
    h('div', {}, 'Snapshot: ', h('code', {}, snap.path ?? snap.absolute)),
    h(
      'ul',
      {},
      snap.files.map(file =>
        h(
          'li',
          {},
          snap.path
            ? h(
                'button',
                {
                  class: 'amlpipe-link',
                  'data-path': file,
                  onclick: () => host.openPath(`${snap.path}/${file}`)
                },
                file
              )
            : h('code', {}, file)
        )
      )
    )
  );
}

export function graphKey(model: PanelModel): string {
  const run = model.run;
  return JSON.stringify([
    model.runId,
    model.stepName,
    run && graphOf(run),
    run?.steps
  ]);
}

export function renderGraph(model: PanelModel): HTMLElement {
  const run = model.run;
  if (!run) {
    return h('div', {});
  }
  const { nodes, edges } = graphOf(run);
  const select = (name: string): void => void model.selectStep(name);
  return h(
    'div',
    { class: 'amlpipe-graph' },
    h(
      'div',
      { class: 'amlpipe-dag-box' },
      renderDag(nodes, edges, model.stepName, select)
    ),
    h(
      'ul',
      { class: 'amlpipe-step-list', role: 'list', 'aria-label': 'Steps' },
      run.steps.map(step =>
        h('li', {}, renderStepRow(step, step.name === model.stepName, select))
      )
    )
  );
}

function renderStepRow(
  step: StepRow,
  selected: boolean,
  select: (name: string) => void
): HTMLElement {
  const reason = reasonOf(step);
  const row = h(
    'div',
    {
      class: `amlpipe-step-row${selected ? ' amlpipe-selected' : ''}`,
      'data-testid': 'step-row',
      'data-step': step.name,
      'data-status': step.status,
      'aria-pressed': selected ? 'true' : 'false'
    },
    statusBadge(step.status),
    h('span', { class: 'amlpipe-step-name' }, step.name),
    step.reused
      ? h('span', { class: 'amlpipe-reused', title: reason }, '♻ reused')
      : null,
    h('span', { class: 'amlpipe-step-duration' }, formatDuration(step.duration))
  );
  return activatable(row, () => select(step.name));
}

export function stepKey(model: PanelModel): string {
  return JSON.stringify([model.stepName, model.step]);
}

function outputsOf(step: StepDetail): OutputRow[] {
  const outputs = step.outputs as unknown;
  if (Array.isArray(outputs)) {
    return outputs as OutputRow[];
  }
  if (outputs && typeof outputs === 'object') {
    return Object.entries(outputs as Record<string, unknown>).map(
      ([name, path]) => ({ name, path: String(path) })
    );
  }
  return [];
}

export function renderStep(model: PanelModel, host: IPanelHost): HTMLElement {
  const step = model.step;
  if (!model.stepName) {
    return h(
      'div',
      { class: 'amlpipe-empty' },
      'Select a step to see its logs, metrics and outputs.'
    );
  }
  if (!step) {
    return h(
      'div',
      { class: 'amlpipe-empty' },
      `Loading step ${model.stepName}…`
    );
  }
  const reason = reasonOf(
    step as { reason?: string | null; reasons?: string[] }
  );
  const outputs = outputsOf(step);
  return h(
    'div',
    {
      class: 'amlpipe-step-detail',
      'data-testid': 'step-detail',
      'data-step': step.name,
      'data-status': step.status
    },
    h(
      'h4',
      {},
      'Step ',
      h('code', {}, step.name),
      ' ',
      statusBadge(step.status)
    ),
    step.notebook
      ? h(
          'button',
          {
            'data-testid': 'open-notebook',
            class: 'amlpipe-button',
            onclick: () => host.openPath(step.notebook!)
          },
          'Open executed notebook'
        )
      : null,
    h(
      'div',
      { class: 'amlpipe-reuse', 'data-testid': 'reuse-reason' },
      h('strong', {}, step.reused ? 'Reused: ' : 'Ran: '),
      reason ||
        (step.reused
          ? 'reused an earlier execution'
          : 'no earlier execution matched')
    ),
    h('h5', {}, 'stdout'),
    h(
      'pre',
      { class: 'amlpipe-log', 'data-testid': 'stdout', tabindex: '0' },
      step.stdout || ''
    ),
    h('h5', {}, 'stderr'),
    h(
      'pre',
      {
        class: 'amlpipe-log amlpipe-stderr',
        'data-testid': 'stderr',
        tabindex: '0'
      },
      step.stderr || ''
    ),
    h('h5', {}, 'Metrics'),
    keyValues(step.metrics ?? {}, { 'data-testid': 'metrics' }),
    h('h5', {}, 'Properties'),
    keyValues(step.properties ?? {}, { 'data-testid': 'properties' }),
    h('h5', {}, 'Outputs'),
    outputs.length
      ? h(
          'ul',
          { class: 'amlpipe-outputs', role: 'list' },
          outputs.map(out =>
            h(
              'li',
              {
                class: 'amlpipe-output-row',
                'data-testid': 'output-row',
                'data-name': out.name
              },
              h('span', { class: 'amlpipe-output-name' }, out.name),
              h(
                'code',
                { class: 'amlpipe-output-path', title: out.path },
                out.path
              ),
              h(
                'button',
                {
                  'data-testid': 'copy-path',
                  'data-path': out.path,
                  class: 'amlpipe-button',
                  'aria-label': `Copy the path of ${out.name}`,
                  onclick: () => {
                    host.copy(out.path);
                    model.setNotice(`Copied ${out.path}`);
                  }
                },
                'Copy path'
              )
            )
          )
        )
      : h('div', { class: 'amlpipe-empty' }, 'none')
  );
}

/** The runs list: filters, then one group per experiment, runs newest first. */
import type { PanelModel } from '../model';
import type { RunRow } from '../types';
import { activatable, formatDuration, formatTime, h, statusBadge } from './dom';

export const STATUS_FILTERS: [string, string][] = [
  ['', 'All statuses'],
  ['Running', 'Running'],
  ['Finished', 'Finished'],
  ['Failed', 'Failed'],
  ['Canceled', 'Canceled'],
  ['Queued', 'Queued']
];

/** A key that changes exactly when the list's rendering would. */
export function runsKey(model: PanelModel): string {
  return JSON.stringify([
    model.filters,
    model.experiments.map(e => e.name),
    model.runs
  ]);
}

export function renderRuns(model: PanelModel): HTMLElement {
  const { status, experiment } = model.filters;
  const statusSelect = h(
    'select',
    {
      'data-testid': 'status-filter',
      'aria-label': 'Filter runs by status',
      class: 'jp-mod-styled',
      onchange: (e: Event) =>
        void model.setFilters({ status: (e.target as HTMLSelectElement).value })
    },
    STATUS_FILTERS.map(([value, label]) =>
      h('option', { value, selected: value === status }, label)
    )
  );
  const names = model.experiments.map(e => e.name);
  if (experiment && !names.includes(experiment)) {
    names.push(experiment);
  }
  const experimentSelect = h(
    'select',
    {
      'data-testid': 'experiment-filter',
      'aria-label': 'Filter runs by experiment',
      class: 'jp-mod-styled',
      onchange: (e: Event) =>
        void model.setFilters({
          experiment: (e.target as HTMLSelectElement).value
        })
    },
    h('option', { value: '', selected: experiment === '' }, 'All experiments'),
    names.map(name =>
      h('option', { value: name, selected: name === experiment }, name)
    )
  );
  const refresh = h(
    'button',
    {
      'data-testid': 'refresh',
      class: 'amlpipe-button',
      title: 'Refresh the runs',
      onclick: () => void model.refresh()
    },
    '⟳ Refresh'
  );
  const filters = h(
    'div',
    { class: 'amlpipe-filters' },
    statusSelect,
    experimentSelect,
    refresh
  );

  const groups = new Map<string, RunRow[]>();
  for (const run of model.runs) {
    const list = groups.get(run.experiment) ?? [];
    list.push(run);
    groups.set(run.experiment, list);
  }
  const body = groups.size
    ? [...groups.entries()].map(([name, runs]) =>
        renderGroup(model, name, runs)
      )
    : [
        h(
          'div',
          { class: 'amlpipe-empty', 'data-testid': 'no-runs' },
          status || experiment
            ? 'No runs match the filters.'
            : 'No runs yet: submit a pipeline from a notebook or with `amlpipe run`.'
        )
      ];
  return h('div', { class: 'amlpipe-runs' }, filters, body);
}

function renderGroup(
  model: PanelModel,
  name: string,
  runs: RunRow[]
): HTMLElement {
  return h(
    'section',
    {
      class: 'amlpipe-group',
      'data-testid': 'experiment-group',
      'data-experiment': name
    },
    h(
      'h3',
      { class: 'amlpipe-group-title' },
      name,
      ' ',
      h('span', { class: 'amlpipe-count' }, `(${runs.length})`)
    ),
    h(
      'ul',
      { class: 'amlpipe-run-list', role: 'list' },
      runs.map(run => h('li', {}, renderRow(model, run)))
    )
  );
}

function count(value: number | undefined): number {
  return value ?? 0;
}

function renderRow(model: PanelModel, run: RunRow): HTMLElement {
  const p = run.progress ?? {};
  const ran = count(p.ran ?? p.finished);
  const counts = `ran ${ran} · reused ${count(p.reused)} · failed ${count(p.failed)}${
    p.total !== undefined ? ` / ${p.total}` : ''
  }`;
  const row = h(
    'div',
    {
      class: 'amlpipe-run-row',
      'data-testid': 'run-row',
      'data-run-id': run.id,
      'data-status': run.status,
      'aria-label': `Run ${run.display_name ?? run.id}: ${run.status}`
    },
    h(
      'div',
      { class: 'amlpipe-run-line' },
      statusBadge(run.status),
      h(
        'span',
        { class: 'amlpipe-run-name', title: run.id },
        run.display_name || run.id
      )
    ),
    h(
      'div',
      { class: 'amlpipe-run-meta' },
      h(
        'span',
        { class: 'amlpipe-run-start', title: 'Started' },
        formatTime(run.start_time)
      ),
      h(
        'span',
        { class: 'amlpipe-run-duration', title: 'Duration' },
        formatDuration(run.duration)
      ),
      h('span', { class: 'amlpipe-run-counts', title: 'Steps' }, counts),
      h(
        'span',
        { class: 'amlpipe-run-by', title: 'Started by' },
        `by ${run.started_by || '?'}`
      )
    )
  );
  return activatable(row, () => void model.openRun(run.id));
}

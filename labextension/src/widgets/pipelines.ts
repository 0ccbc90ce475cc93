/** Published pipelines: version, status toggle, endpoint (copy), and the Run form. */
import type { PanelModel } from '../model';
import type { DataPathAssignment, Pipeline, PipelineParameter } from '../types';
import { h } from './dom';
import type { IPanelHost } from './host';

export function pipelinesKey(model: PanelModel): string {
  return JSON.stringify([model.pipelines, model.formPipeline?.id ?? null]);
}

export function renderPipelines(
  model: PanelModel,
  host: IPanelHost
): HTMLElement {
  if (!model.pipelines.length) {
    return h(
      'div',
      { class: 'amlpipe-empty', 'data-testid': 'no-pipelines' },
      'No published pipelines: publish one with `pipeline.publish(...)` or `amlpipe publish`.'
    );
  }
  return h(
    'ul',
    { class: 'amlpipe-pipeline-list', role: 'list' },
    model.pipelines.map(p => h('li', {}, renderPipeline(model, host, p)))
  );
}

/** Enable/disable; when the server refuses, put the switch back to the pipeline's status. */
async function toggle(
  model: PanelModel,
  p: Pipeline,
  enabled: boolean
): Promise<void> {
  await model.setPipelineEnabled(p.id, enabled);
  const now = model.pipelines.find(q => q.id === p.id)?.status ?? p.status;
  document
    .querySelectorAll<HTMLInputElement>(
      `input[data-testid="pipeline-toggle"][data-pipeline-id="${CSS.escape(p.id)}"]`
    )
    .forEach(input => {
      input.checked = now === 'Active';
      input.setAttribute('aria-checked', input.checked ? 'true' : 'false');
    });
}

function renderPipeline(
  model: PanelModel,
  host: IPanelHost,
  p: Pipeline
): HTMLElement {
  const active = p.status === 'Active';
  const toggleId = `amlpipe-toggle-${p.id}`;
  return h(
    'div',
    {
      class: 'amlpipe-pipeline-row',
      'data-testid': 'pipeline-row',
      'data-pipeline-id': p.id,
      'data-status': p.status
    },
    h(
      'div',
      { class: 'amlpipe-run-line' },
      h('strong', { class: 'amlpipe-pipeline-name' }, p.name),
      p.version
        ? h('span', { class: 'amlpipe-pipeline-version' }, `v${p.version}`)
        : null,
      h(
        'span',
        { class: `amlpipe-pipeline-status amlpipe-status-${p.status}` },
        p.status
      )
    ),
    p.description
      ? h('div', { class: 'amlpipe-pipeline-description' }, p.description)
      : null,
    h(
      'div',
      { class: 'amlpipe-endpoint' },
      h('code', { title: p.endpoint }, p.endpoint),
      h(
        'button',
        {
          'data-testid': 'copy-endpoint',
          class: 'amlpipe-button',
          'aria-label': `Copy the endpoint of ${p.name}`,
          onclick: () => {
            host.copy(p.endpoint);
            model.setNotice(`Copied ${p.endpoint}`);
          }
        },
        'Copy endpoint'
      )
    ),
    h(
      'div',
      { class: 'amlpipe-actions' },
      h(
        'label',
        { class: 'amlpipe-switch', for: toggleId },
        h('input', {
          id: toggleId,
          type: 'checkbox',
          role: 'switch',
          'data-testid': 'pipeline-toggle',
          'data-pipeline-id': p.id,
          checked: active,
          'aria-checked': active ? 'true' : 'false',
          onchange: (e: Event) =>
            void toggle(model, p, (e.target as HTMLInputElement).checked),
          onkeydown: (e: Event) => {
            if ((e as KeyboardEvent).key === 'Enter') {
              e.preventDefault();
              void toggle(model, p, !active);
            }
          }
        }),
        active ? ' Enabled' : ' Disabled'
      ),
      h(
        'button',
        {
          'data-testid': 'pipeline-run',
          'data-pipeline-id': p.id,
          class: 'amlpipe-button',
          disabled: !active,
          title: active
            ? 'Start a run of this pipeline'
            : 'Enable the pipeline to run it',
          onclick: () => model.openRunForm(p.id)
        },
        '▶ Run…'
      )
    )
  );
}

/** The datastore and path of a DataPath parameter's default (`{"$datapath": [store, path, name]}` or `{datastore, path}`). */
export function dataPathOf(value: unknown): DataPathAssignment {
  const v = (value ?? {}) as Record<string, unknown>;
  if (Array.isArray(v.$datapath)) {
    const [store, path] = v.$datapath as unknown[];
    return {
      DataStoreName: String(store ?? ''),
      RelativePath: String(path ?? '')
    };
  }
  return {
    DataStoreName: String(v.datastore ?? v.datastore_name ?? ''),
    RelativePath: String(v.path_on_datastore ?? v.path ?? '')
  };
}

/** `store/path` as typed in the form → a DataPath assignment (the datastore name holds no "/"). */
export function parseDataPath(text: string): DataPathAssignment {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  return slash < 0
    ? { DataStoreName: trimmed, RelativePath: '' }
    : {
        DataStoreName: trimmed.slice(0, slash),
        RelativePath: trimmed.slice(slash + 1)
      };
}

function formatDataPath(value: unknown): string {
  const { DataStoreName, RelativePath } = dataPathOf(value);
  return RelativePath ? `${DataStoreName}/${RelativePath}` : DataStoreName;
}

function inputFor(param: PipelineParameter): HTMLInputElement {
  const common = {
    'data-testid': 'param-input',
    name: param.name,
    id: `amlpipe-param-${param.name}`,
    'data-type': param.type
  };
  if (param.type === 'bool') {
    return h('input', {
      ...common,
      type: 'checkbox',
      checked: Boolean(param.default)
    });
  }
  const value =
    param.default === null || param.default === undefined
      ? ''
      : String(param.default);
  if (param.type === 'datapath') {
    return h('input', {
      ...common,
      type: 'text',
      value: formatDataPath(param.default),
      placeholder: 'datastore/path',
      title: 'A datastore name, then the path on it: datastore/path',
      class: 'jp-mod-styled'
    });
  }
  if (param.type === 'int' || param.type === 'float') {
    return h('input', {
      ...common,
      type: 'number',
      step: param.type === 'int' ? '1' : 'any',
      value,
      class: 'jp-mod-styled'
    });
  }
  return h('input', { ...common, type: 'text', value, class: 'jp-mod-styled' });
}

/** The value typed into a parameter's input, converted to the parameter's type. */
export function parseParam(
  type: PipelineParameter['type'],
  input: { value: string; checked: boolean }
): unknown {
  switch (type) {
    case 'bool':
      return input.checked;
    case 'int':
      return input.value === '' ? null : parseInt(input.value, 10);
    case 'float':
      return input.value === '' ? null : parseFloat(input.value);
    case 'null':
      return input.value === '' ? null : input.value;
    default:
      return input.value;
  }
}

export function renderRunForm(model: PanelModel): HTMLElement | null {
  const p = model.formPipeline;
  if (!p) {
    return null;
  }
  const experiment = h('input', {
    name: 'ExperimentName',
    id: 'amlpipe-form-experiment',
    type: 'text',
    required: true,
    value: p.name,
    class: 'jp-mod-styled'
  });
  const inputs = p.parameters.map(param => ({ param, input: inputFor(param) }));
  const form = h(
    'form',
    {
      class: 'amlpipe-run-form',
      'data-testid': 'run-form',
      'data-pipeline-id': p.id
    },
    h('h4', {}, `Run ${p.name}`),
    h('label', { for: 'amlpipe-form-experiment' }, 'Experiment'),
    experiment,
    inputs.flatMap(({ param, input }) => [
      h('label', { for: input.id }, `${param.name} (${param.type})`),
      input
    ]),
    h(
      'div',
      { class: 'amlpipe-actions' },
      h(
        'button',
        {
          type: 'submit',
          'data-testid': 'run-submit',
          class: 'amlpipe-button amlpipe-primary'
        },
        'Submit'
      ),
      h(
        'button',
        {
          type: 'button',
          'data-testid': 'run-cancel',
          class: 'amlpipe-button',
          onclick: () => model.openRunForm(null)
        },
        'Close'
      )
    )
  );
  form.addEventListener('submit', event => {
    event.preventDefault();
    const values: Record<string, unknown> = {};
    const dataPaths: Record<string, DataPathAssignment> = {};
    for (const { param, input } of inputs) {
      if (param.type === 'datapath') {
        // unchanged: the published default; changed: v1's DataPathAssignments
        if (input.value.trim() !== formatDataPath(param.default)) {
          dataPaths[param.name] = parseDataPath(input.value);
        }
      } else {
        values[param.name] = parseParam(param.type, input);
      }
    }
    void model.submitRun(
      p.id,
      experiment.value.trim() || p.name,
      values,
      dataPaths
    );
  });
  return form;
}

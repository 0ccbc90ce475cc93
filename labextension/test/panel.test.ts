// @vitest-environment happy-dom
/** The panel widget in a DOM: what a user sees and where keyboard focus goes. */
import { Widget } from '@lumino/widgets';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { PanelModel } from '../src/model';
import type { IPanelHost } from '../src/widgets/host';
import { AmlpipePanel } from '../src/widgets/panel';
import { makeApi, pipeline, row, view } from './fixtures';

const panels: AmlpipePanel[] = [];

async function makePanel(api = makeApi().api): Promise<AmlpipePanel> {
  const model = new PanelModel({ api, retryDelay: 5, minPollInterval: 0 });
  const host: IPanelHost = {
    openPath: vi.fn(),
    goToFolder: vi.fn(),
    copy: vi.fn()
  };
  const panel = new AmlpipePanel(model, host);
  Widget.attach(panel, document.body);
  panels.push(panel);
  await model.openWorkspace('');
  return panel;
}

const q = <T extends Element = HTMLElement>(
  panel: AmlpipePanel,
  selector: string
): T | null => panel.node.querySelector<T>(selector);

afterEach(() => {
  for (const panel of panels.splice(0)) {
    panel.model.dispose();
    Widget.detach(panel);
    panel.dispose();
  }
});

describe('AmlpipePanel', () => {
  it('re-renders a pipeline row when its toggle is switched off and on', async () => {
    const panel = await makePanel();
    q<HTMLButtonElement>(panel, '[data-testid="tab-pipelines"]')!.click();
    await vi.waitFor(() =>
      expect(q(panel, '[data-testid="pipeline-row"]')).not.toBeNull()
    );
    const toggle = (): HTMLInputElement =>
      q<HTMLInputElement>(panel, '[data-testid="pipeline-toggle"]')!;
    expect(toggle().checked).toBe(true);
    toggle().click(); // unchecks it and fires `change`
    await vi.waitFor(() =>
      expect(
        q(panel, '[data-testid="pipeline-row"][data-status="Disabled"]')
      ).not.toBeNull()
    );
    expect(toggle().checked).toBe(false);
    expect(q(panel, '[data-testid="pipeline-row"]')!.textContent).toContain(
      'Disabled'
    );
    expect(
      q<HTMLButtonElement>(panel, '[data-testid="pipeline-run"]')!.disabled
    ).toBe(true);
    toggle().click();
    await vi.waitFor(() =>
      expect(
        q(panel, '[data-testid="pipeline-row"][data-status="Active"]')
      ).not.toBeNull()
    );
    expect(toggle().checked).toBe(true);
  });

  it('puts the switch back when the server refuses the toggle', async () => {
    const { api } = makeApi();
    api.setPipelineEnabled.mockRejectedValueOnce(
      new Error('Pipeline "train" cannot be disabled: it is running')
    );
    const panel = await makePanel(api);
    q<HTMLButtonElement>(panel, '[data-testid="tab-pipelines"]')!.click();
    await vi.waitFor(() =>
      expect(q(panel, '[data-testid="pipeline-toggle"]')).not.toBeNull()
    );
    q<HTMLInputElement>(panel, '[data-testid="pipeline-toggle"]')!.click();
    await vi.waitFor(() =>
      expect(q(panel, '[data-testid="panel-error"]')!.textContent).toContain(
        'cannot be disabled'
      )
    );
    expect(
      q<HTMLInputElement>(panel, '[data-testid="pipeline-toggle"]')!.checked
    ).toBe(true);
    expect(
      q(panel, '[data-testid="pipeline-row"]')!.getAttribute('data-status')
    ).toBe('Active');
  });

  it('shows the snapshot files after "Open snapshot"', async () => {
    const panel = await makePanel();
    await panel.model.openRun('r1');
    q<HTMLButtonElement>(panel, '[data-testid="open-snapshot"]')!.click();
    await vi.waitFor(() =>
      expect(q(panel, '[data-testid="snapshot"]')?.textContent).toContain(
        'train.py'
      )
    );
  });

  it('opens a run with Enter and goes back to its row with Enter on Back', async () => {
    const { api, state } = makeApi();
    state.runs = [row('r1', 'Finished'), row('r2', 'Failed')];
    const panel = await makePanel(api);
    const runRow = q(panel, '[data-testid="run-row"][data-run-id="r2"]')!;
    runRow.focus();
    runRow.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', bubbles: true })
    );
    await vi.waitFor(() =>
      expect(
        q(panel, '[data-testid="run-detail"][data-run-id="r2"]')
      ).not.toBeNull()
    );
    const back = q<HTMLButtonElement>(panel, '[data-testid="back"]')!;
    await vi.waitFor(() => expect(document.activeElement).toBe(back));
    back.click();
    // focus returns to the row of the run that was open, not to a filter
    await vi.waitFor(() =>
      expect(
        (document.activeElement as HTMLElement | null)?.dataset.runId
      ).toBe('r2')
    );
  });

  it('moves focus into the Run form when it opens', async () => {
    const panel = await makePanel();
    q<HTMLButtonElement>(panel, '[data-testid="tab-pipelines"]')!.click();
    await vi.waitFor(() =>
      expect(q(panel, '[data-testid="pipeline-run"]')).not.toBeNull()
    );
    const run = q<HTMLButtonElement>(panel, '[data-testid="pipeline-run"]')!;
    run.focus();
    run.click();
    await vi.waitFor(() =>
      expect((document.activeElement as HTMLInputElement | null)?.name).toBe(
        'ExperimentName'
      )
    );
  });

  it('keeps keyboard focus in the run header when "Cancel run" disappears', async () => {
    const { api } = makeApi();
    const panel = await makePanel(api);
    await panel.model.openRun('r1');
    const cancel = q<HTMLButtonElement>(panel, '[data-testid="cancel-run"]')!;
    cancel.focus();
    api.getRun.mockResolvedValue(view('r1', 'Canceled'));
    cancel.click();
    await vi.waitFor(() =>
      expect(
        q(panel, '[data-testid="run-detail"][data-status="Canceled"]')
      ).not.toBeNull()
    );
    expect(q(panel, '[data-testid="cancel-run"]')).toBeNull();
    expect(panel.node.contains(document.activeElement)).toBe(true);
    expect((document.activeElement as HTMLElement).dataset.testid).toBe('back');
  });

  it('submits a DataPath parameter as DataPathAssignments, and leaves an unchanged one to its default', async () => {
    const { api } = makeApi();
    api.listPipelines.mockResolvedValue({
      pipelines: [
        {
          ...pipeline,
          parameters: [
            { name: 'alpha', default: 0.5, type: 'float' },
            {
              name: 'input_data',
              default: {
                $datapath: ['workspaceblobstore', 'raw/in.csv', 'in']
              },
              type: 'datapath'
            }
          ]
        }
      ]
    });
    const panel = await makePanel(api);
    q<HTMLButtonElement>(panel, '[data-testid="tab-pipelines"]')!.click();
    await vi.waitFor(() =>
      expect(q(panel, '[data-testid="pipeline-run"]')).not.toBeNull()
    );
    q<HTMLButtonElement>(panel, '[data-testid="pipeline-run"]')!.click();
    const data = q<HTMLInputElement>(
      panel,
      '[data-testid="param-input"][name="input_data"]'
    )!;
    expect(data.value).toBe('workspaceblobstore/raw/in.csv');
    const submit = q<HTMLButtonElement>(panel, '[data-testid="run-submit"]')!;
    submit.click();
    await vi.waitFor(() => expect(api.submitPipeline).toHaveBeenCalledTimes(1));
    expect(api.submitPipeline).toHaveBeenNthCalledWith(1, '/root/ws', 'p1', {
      ExperimentName: 'train',
      ParameterAssignments: { alpha: 0.5 }
    });

    panel.model.setTab('pipelines');
    panel.model.openRunForm('p1');
    const again = q<HTMLInputElement>(
      panel,
      '[data-testid="param-input"][name="input_data"]'
    )!;
    again.value = 'otherstore/clean/part-1.csv';
    q<HTMLButtonElement>(panel, '[data-testid="run-submit"]')!.click();
    await vi.waitFor(() => expect(api.submitPipeline).toHaveBeenCalledTimes(2));
    expect(api.submitPipeline).toHaveBeenNthCalledWith(2, '/root/ws', 'p1', {
      ExperimentName: 'train',
      ParameterAssignments: { alpha: 0.5 },
      DataPathAssignments: {
        input_data: {
          DataStoreName: 'otherstore',
          RelativePath: 'clean/part-1.csv'
        }
      }
    });
  });
});

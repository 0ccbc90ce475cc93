/** The JupyterLab plugins of jupyter_amlpipe: the Pipelines sidebar panel and its commands. */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

import { pipelinesIcon } from './icon';
import { PanelModel } from './model';
import { serverApi } from './request';
import type { IPanelHost } from './widgets/host';
import { AmlpipePanel } from './widgets/panel';

namespace CommandIDs {
  export const openPanel = 'amlpipe:open-panel';
  export const openRun = 'amlpipe:open-run';
  export const refresh = 'amlpipe:refresh';
}

const CATEGORY = 'Pipelines';

const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-amlpipe:panel',
  description:
    'A sidebar panel for the pipeline runs and published pipelines of a jupyter_amlpipe workspace.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null
  ): void => {
    const model = new PanelModel({ api: serverApi });
    const host: IPanelHost = {
      openPath: path => void app.commands.execute('docmanager:open', { path }),
      goToFolder: path =>
        void app.commands.execute('filebrowser:go-to-path', { path }),
      copy: text => Clipboard.copyToSystem(text)
    };
    const panel = new AmlpipePanel(model, host);
    panel.title.icon = pipelinesIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'amlpipe-panel');

    const cwd = (): string => browser?.model.path ?? '';
    const tryWorkspace = (): void => {
      panel.setPathHint(cwd());
      if (!model.workspace) {
        void model.openWorkspace(cwd());
      }
    };
    void app.restored.then(tryWorkspace);
    // opening the sidebar tab tries again (the file browser may be in a workspace now)
    panel.onShown = () => {
      if (!model.workspace) {
        tryWorkspace();
      }
    };
    browser?.model.pathChanged.connect(() => {
      if (!model.workspace && panel.isVisible) {
        tryWorkspace();
      }
    });

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Pipelines: open panel',
      caption: 'Show the Pipelines sidebar panel',
      icon: pipelinesIcon,
      execute: () => {
        app.shell.activateById(panel.id);
        if (!model.workspace) {
          tryWorkspace();
        }
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Pipelines: refresh',
      caption: 'Refetch the runs and pipelines of the workspace',
      execute: () =>
        model.workspace ? model.refresh() : model.openWorkspace(cwd())
    });
    app.commands.addCommand(CommandIDs.openRun, {
      label: 'Pipelines: open run…',
      caption: 'Show a pipeline run by its id',
      execute: async args => {
        let runId = typeof args.runId === 'string' ? args.runId : '';
        if (!runId) {
          const answer = await InputDialog.getText({
            title: 'Open run',
            label: 'Run id',
            placeholder: 'e.g. the id shown by `amlpipe runs`'
          });
          runId = (answer.button.accept && answer.value?.trim()) || '';
        }
        if (!runId) {
          return;
        }
        app.shell.activateById(panel.id);
        if (!model.workspace) {
          await model.openWorkspace(cwd());
        }
        await model.openRun(runId);
      }
    });
    if (palette) {
      for (const command of [
        CommandIDs.openPanel,
        CommandIDs.openRun,
        CommandIDs.refresh
      ]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }
  }
};

export default [panelPlugin];

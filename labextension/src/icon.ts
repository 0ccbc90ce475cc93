import { LabIcon } from '@jupyterlab/ui-components';

/** The sidebar tab's icon: three connected steps. */
export const pipelinesIcon = new LabIcon({
  name: 'jupyter-amlpipe:pipelines',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<rect x="2" y="3" width="8" height="5" rx="1"/>' +
    '<rect x="14" y="9.5" width="8" height="5" rx="1"/>' +
    '<rect x="2" y="16" width="8" height="5" rx="1"/>' +
    '<path d="M10 5h2.5v6H14v2h-1.5v6H10v-2h1V7h-1z"/>' +
    '</g></svg>'
});

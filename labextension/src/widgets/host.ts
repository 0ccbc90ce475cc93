/** What the views need from JupyterLab beyond the model (index.ts provides it). */
export interface IPanelHost {
  /** Open a file (relative to the server root) in Lab. */
  openPath(path: string): void;
  /** Show a folder (relative to the server root) in the file browser. */
  goToFolder(path: string): void;
  /** Copy text to the clipboard. */
  copy(text: string): void;
}

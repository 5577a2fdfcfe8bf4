// The page's "ready" mark: set once its data is on screen. Tests wait for it and the
// benchmark measures the time to it (performance.getEntriesByName('watcher-ready')).
export function markReady(page: string): void {
  document.body.dataset.ready = page;
  performance.mark('watcher-ready', { detail: page });
}

export function clearReady(): void {
  delete document.body.dataset.ready;
  performance.clearMarks('watcher-ready');
}

/**
 * The files the app serves as they are — the playground page, the API reference and its script — which stay out of
 * the Worker's code: each runtime entry reads them from its own store (Workers static assets, a directory on Node
 * and Bun) and hands the app this interface.
 */
export interface StaticAssets {
  /** The file at `path` ("/index.html", "/assets/playground.js") with its Content-Type, or null when there is none. */
  get(path: string): Promise<Response | null>
}

// TODO(skeleton): routes of this module are being written.
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';

export function catalogRoutes(_app: Api, _deps: ServerDeps): void {}

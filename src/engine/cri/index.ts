// The engine's implementation of the Container Runtime Interface (see docs/cri.md).
export { EngineCri, CRI_RUNTIME_NAME, type CriOptions } from './service.js';
export type { CriImageBackend } from './images.js';

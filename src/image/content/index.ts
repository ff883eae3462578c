export type { ContentInfo, ContentStore, ContentWriter, IngestStatus } from './types.js';
export { createContentStore, FsContentStore } from './store.js';

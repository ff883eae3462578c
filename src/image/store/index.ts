export { ImageStore, canonicalName, type ImageRecord } from './image-store.js';
export {
  Images,
  openImages,
  chainIds,
  GC_SNAPSHOT_LABEL,
  UNCOMPRESSED_LABEL,
  type ResolvedImage,
  type ImportOptions,
} from './images.js';
export { applyChanges } from './changes.js';

export { saveDockerArchive, saveOciArchive, type SaveOptions } from './save.js';
export { loadArchive, type LoadOptions, type LoadedImage } from './load.js';
export { preloadImages, preloadCandidates, PRELOAD_SUFFIXES, type PreloadOutcome } from './preload.js';
